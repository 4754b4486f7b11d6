// Suppressions: numbers never texted again (GET /suppressions), added one at a time
// (PUT /suppressions/{number}) and removed (DELETE /suppressions/{number}).
import { del, get, put, query } from "../api.js";
import { el, field, heading, pager, runAction, table, text, time } from "../dom.js";

export async function suppressionsPage() {
  const list = el("div", {}, await suppressionRows(null));
  return el("section", {}, heading("Suppressions"), addForm(list), el("h2", {}, "Suppressed numbers"), list);
}

async function refresh(list) {
  list.replaceChildren(await suppressionRows(null));
}

function addForm(list) {
  const number = el("input", { type: "tel", name: "number", required: true, autocomplete: "off", placeholder: "+254712345678" });
  const reason = el("input", { name: "reason", maxlength: "200" });
  const output = el("div", { class: "action-output" });
  const button = el("button", { type: "submit" }, "Add suppression");
  return el(
    "form",
    {
      class: "card filters",
      "aria-label": "Add a suppression",
      onsubmit: (event) => {
        event.preventDefault();
        runAction(button, output, async () => {
          const added = await put(`/suppressions/${encodeURIComponent(number.value.trim())}`, {
            reason: reason.value.trim() || null,
          });
          number.value = "";
          reason.value = "";
          await refresh(list);
          return `${added.number} is suppressed.`;
        });
      },
    },
    field("Number", number, "In international format, e.g. +254712345678."),
    field("Reason (optional)", reason),
    el("div", { class: "actions" }, button),
    output,
  );
}

async function suppressionRows(cursor) {
  const page = await get(`/suppressions${query({ limit: 50, cursor })}`);
  return el(
    "div",
    {},
    table(
      cursor ? "More suppressed numbers" : "Suppressed numbers",
      [
        { title: "Number", cell: (s) => s.number },
        { title: "Reason", cell: (s) => text(s.reason) },
        { title: "Source", cell: (s) => s.source },
        { title: "Since", cell: (s) => time(s.created_at) },
        { title: "", cell: removeButton },
      ],
      page.suppressions,
      "No number is suppressed.",
    ),
    pager("More numbers", page.cursor, suppressionRows),
  );
}

function removeButton(suppression) {
  const output = el("span", { class: "action-output" });
  const button = el("button", { type: "button", class: "secondary", "aria-label": `Remove ${suppression.number}` }, "Remove");
  button.addEventListener("click", () =>
    runAction(button, output, async () => {
      await del(`/suppressions/${encodeURIComponent(suppression.number)}`);
      button.closest("tr").querySelector("td").append(el("span", { class: "hint" }, " (removed)"));
      button.remove();
      return `${suppression.number} is no longer suppressed.`;
    }),
  );
  return el("span", {}, button, output);
}
