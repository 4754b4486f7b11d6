// One message: its counters and cost (GET /status), its recipients page by page
// (recipients_cursor), and its timeline (GET /messages/{id}/events) with a redeliver button per event.
import { get, post, query } from "../api.js";
import { el, heading, pager, runAction, table, text, time } from "../dom.js";

export async function messagePage(messageId) {
  const id = encodeURIComponent(messageId);
  const [status, timeline] = await Promise.all([
    get(`/status/${id}${query({ recipients_limit: 50 })}`),
    get(`/messages/${id}/events`),
  ]);
  return el(
    "section",
    {},
    el("p", { class: "breadcrumb" }, el("a", { href: "#/messages" }, "Messages")),
    heading(`Message ${messageId}`),
    counters(status),
    el("h2", {}, "Recipients"),
    recipients(status, id),
    el("h2", {}, "Timeline"),
    events(timeline),
  );
}

function counters(status) {
  // null until the message is final and settled (and on a deployment without prices).
  const cost = status.cost && status.cost.charged !== null ? `${status.cost.charged} ${status.cost.currency}` : "—";
  const items = [
    ["Status", el("span", { class: `status status-${status.status}` }, status.status)],
    ["Recipients", status.total_recipients],
    ["Delivered", status.delivered],
    ["Failed", status.failed],
    ["Pending", status.pending],
    ["Charged", cost],
    ["Created", time(status.created_at)],
    ["Updated", time(status.updated_at)],
  ];
  return el(
    "dl",
    { class: "counters" },
    items.map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, value))),
  );
}

function recipients(page, id, first = true) {
  const rows = table(
    first ? "Recipients of this message" : "More recipients",
    [
      { title: "To", cell: (r) => r.to },
      { title: "Status", cell: (r) => el("span", { class: `status status-${r.status}` }, r.status) },
      { title: "Error", cell: (r) => (r.error_code ? `${r.error_code} ${text(r.error_message)}` : "—") },
      { title: "Updated", cell: (r) => time(r.updated_at) },
    ],
    page.recipients,
  );
  const more = pager("More recipients", page.recipients_cursor, async (cursor) =>
    recipients(await get(`/status/${id}${query({ recipients_limit: 50, recipients_cursor: cursor })}`), id, false),
  );
  return el("div", {}, rows, more);
}

function events(timeline) {
  if (timeline.events.length === 0) {
    return el("p", { class: "empty" }, "No webhook event yet: events appear as the message changes.");
  }
  return el(
    "div",
    {},
    timeline.has_older ? el("p", { class: "hint" }, "Older events are not shown.") : null,
    el("ol", { class: "timeline" }, timeline.events.map(eventItem)),
  );
}

function eventItem(event) {
  const output = el("div", { class: "action-output" });
  const button = el("button", { type: "button", class: "secondary", "aria-label": `Redeliver ${event.type}` }, "Redeliver");
  button.addEventListener("click", () =>
    runAction(button, output, async () => {
      const queued = await post(`/events/${encodeURIComponent(event.event_id)}/redeliver`);
      return `${event.type} queued again to ${queued.targets} target${queued.targets === 1 ? "" : "s"}.`;
    }),
  );
  return el(
    "li",
    {},
    el("p", { class: "event-head" }, el("strong", {}, event.type), " ", time(event.created_at)),
    el("p", { class: "hint" }, "webhook-id ", el("code", {}, event.event_id)),
    el("details", {}, el("summary", {}, "Body"), el("pre", {}, JSON.stringify(event.body, null, 2))),
    button,
    output,
  );
}
