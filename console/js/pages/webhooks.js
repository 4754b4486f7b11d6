// Webhook deliveries (GET /webhook/deliveries): each attempt with its target, HTTP status and
// next try, failed ones only on request, and a redeliver button (POST /events/{id}/redeliver).
import { get, post, query } from "../api.js";
import { el, field, heading, pager, runAction, table, text, time } from "../dom.js";

export async function webhooksPage(parameters) {
  const failedOnly = parameters.get("status") === "failed";
  const toggle = el("input", { type: "checkbox", name: "status", value: "failed", checked: failedOnly });
  toggle.addEventListener("change", () => {
    window.location.hash = toggle.checked ? "#/webhooks?status=failed" : "#/webhooks";
  });
  return el(
    "section",
    {},
    heading("Webhook deliveries"),
    el("div", { class: "card filters" }, field("Failed attempts only", toggle)),
    await attemptRows(failedOnly, null),
  );
}

async function attemptRows(failedOnly, cursor) {
  const page = await get(`/webhook/deliveries${query({ status: failedOnly ? "failed" : "", limit: 50, cursor })}`);
  return el(
    "div",
    {},
    table(
      cursor ? "Older attempts" : "Delivery attempts, newest first",
      [
        { title: "When", cell: (a) => time(a.attempted_at) },
        { title: "Event", cell: (a) => el("span", {}, a.type, el("br"), el("code", {}, a.event_id)) },
        { title: "Target", cell: (a) => el("span", { class: "url" }, a.target) },
        { title: "Attempt", cell: (a) => String(a.attempt) },
        { title: "Outcome", cell: outcome },
        { title: "Took", cell: (a) => `${a.duration_ms} ms` },
        { title: "Next try", cell: (a) => time(a.next_try_at) },
        { title: "", cell: redeliverButton },
      ],
      page.deliveries,
      failedOnly ? "No failed attempt." : "No webhook was delivered yet.",
    ),
    pager("Older attempts", page.cursor, (next) => attemptRows(failedOnly, next)),
  );
}

function outcome(attempt) {
  const ok = attempt.http_status !== null && attempt.http_status >= 200 && attempt.http_status < 300;
  const said = attempt.http_status !== null ? `HTTP ${attempt.http_status}` : text(attempt.error);
  return el("span", { class: ok ? "status status-delivered" : "status status-failed" }, said);
}

function redeliverButton(attempt) {
  const output = el("span", { class: "action-output" });
  const button = el("button", { type: "button", class: "secondary", "aria-label": `Redeliver ${attempt.event_id}` }, "Redeliver");
  button.addEventListener("click", () =>
    runAction(button, output, async () => {
      const queued = await post(`/events/${encodeURIComponent(attempt.event_id)}/redeliver`);
      return `Queued to ${queued.targets} target${queued.targets === 1 ? "" : "s"}.`;
    }),
  );
  return el("span", {}, button, output);
}
