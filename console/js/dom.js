// Building the page from API data: every value goes in as text (textContent, attributes set one
// by one), never as HTML, so whatever a message, a number or a webhook body holds is shown, not run.

/** An element: `el("a", { href: "#/x", class: "y" }, "text", child)`. Functions become listeners. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") node.addEventListener(name.replace(/^on/, ""), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Text for a value that may be missing. */
export function text(value) {
  return value === undefined || value === null || value === "" ? "—" : String(value);
}

/** An API timestamp as a short UTC time, kept whole in the element's datetime attribute. */
export function time(value) {
  if (!value) return "—";
  const shown = String(value).replace("T", " ").replace(/\.\d+/, "").replace(/(Z|\+00:00)$/, " UTC");
  return el("time", { datetime: value }, shown);
}

/** A table in a scrolling region (narrow screens scroll it, keyboards too: it takes focus). */
export function table(caption, columns, rows, empty = "Nothing here yet.") {
  if (rows.length === 0) return el("p", { class: "empty" }, empty);
  const head = el("tr", {}, columns.map((column) => el("th", { scope: "col" }, column.title)));
  const body = rows.map((row) => el("tr", {}, columns.map((column) => el("td", {}, column.cell(row)))));
  return el(
    "div",
    { class: "table-scroll", role: "region", "aria-label": caption, tabindex: "0" },
    el("table", {}, el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, body)),
  );
}

/** A labelled form field. */
export function field(label, input, hint) {
  const id = input.id || `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  input.id = id;
  const hintNode = hint ? el("span", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintNode) input.setAttribute("aria-describedby", hintNode.id);
  return el("div", { class: "field" }, el("label", { for: id }, label), input, hintNode);
}

/** Says something to screen readers without moving focus. */
export function announce(message) {
  const announcer = document.getElementById("announcer");
  announcer.textContent = "";
  window.setTimeout(() => (announcer.textContent = message), 50);
}

/** A page's heading, focused when the page is shown, so keyboard and screen-reader users land on it. */
export function heading(title) {
  document.title = `${title} · Lisoloo console`;
  return el("h1", { tabindex: "-1" }, title);
}

/** An error as the API gave it: the status and its `detail`, in an alert region. */
export function errorBox(error) {
  const status = error.status ? `HTTP ${error.status}: ` : "";
  return el("p", { class: "error", role: "alert" }, status, error.message);
}

/** Runs a button's action: the button is busy meanwhile; the outcome (or error) goes in `output`. */
export async function runAction(button, output, action) {
  button.disabled = true;
  output.replaceChildren();
  try {
    const said = await action();
    if (said) {
      output.replaceChildren(el("p", { class: "success" }, said));
      announce(said);
    }
  } catch (error) {
    output.replaceChildren(errorBox(error));
  } finally {
    button.disabled = false;
  }
}

/** A "more" button that loads the next page with `load(cursor)` and appends what `rows` makes. */
export function pager(label, cursor, load) {
  const holder = el("div", { class: "pager" });
  if (!cursor) return holder;
  const output = el("div");
  const button = el("button", { type: "button", class: "secondary" }, label);
  button.addEventListener("click", () =>
    runAction(button, output, async () => {
      const next = await load(cursor);
      holder.replaceWith(next);
      return null;
    }),
  );
  holder.append(button, output);
  return holder;
}
