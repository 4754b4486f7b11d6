// Message search: GET /messages with its filters (the recipient first: "did my customer get the
// code?"). The filters live in the URL, so a search can be bookmarked and Back returns to it.
import { get, query } from "../api.js";
import { el, field, heading, pager, table, text, time } from "../dom.js";

const STATUSES = ["", "scheduled", "pending", "processing", "sent", "delivered", "failed"];
const FILTERS = ["recipient", "status", "reference", "sender_id", "created_after", "created_before"];

export async function messagesPage(parameters) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, parameters.get(name) || ""]));
  const form = searchForm(filters);
  const found = await searchResults(filters, null);
  return el("section", {}, heading("Messages"), form, el("div", { id: "results" }, found));
}

function searchForm(filters) {
  const input = (name, attributes = {}) => el("input", { name, value: filters[name], ...attributes });
  const status = el(
    "select",
    { name: "status" },
    STATUSES.map((value) => el("option", { value, selected: value === filters.status }, value || "any")),
  );
  return el(
    "form",
    {
      class: "card filters",
      role: "search",
      "aria-label": "Find messages",
      onsubmit: (event) => {
        event.preventDefault();
        const values = Object.fromEntries(new FormData(event.target));
        window.location.hash = `#/messages${query(values)}`;
      },
    },
    field("Recipient", input("recipient", { type: "tel", placeholder: "+254712345678", autocomplete: "off" })),
    field("Status", status),
    field("Reference", input("reference", { maxlength: "64" })),
    field("Sender id", input("sender_id", { maxlength: "16" })),
    field("Created from (UTC)", input("created_after", { type: "date" })),
    field("Created before (UTC)", input("created_before", { type: "date" })),
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Search")),
  );
}

async function searchResults(filters, cursor) {
  const page = await get(
    `/messages${query({
      ...filters,
      // Date fields give days; the API takes times with a zone.
      created_after: filters.created_after && `${filters.created_after}T00:00:00Z`,
      created_before: filters.created_before && `${filters.created_before}T00:00:00Z`,
      limit: 25,
      cursor,
    })}`,
  );
  const results = table(
    cursor ? "More messages" : "Messages found, newest first",
    [
      { title: "Message", cell: (m) => el("a", { href: `#/messages/${encodeURIComponent(m.message_id)}` }, m.message_id) },
      { title: "Status", cell: (m) => el("span", { class: `status status-${m.status}` }, m.status) },
      { title: "Recipients", cell: (m) => String(m.total_recipients) },
      { title: "Delivered", cell: (m) => String(m.delivered) },
      { title: "Failed", cell: (m) => String(m.failed) },
      { title: "Reference", cell: (m) => text(m.reference) },
      { title: "Created", cell: (m) => time(m.created_at) },
    ],
    page.messages,
    cursor ? "No more messages." : "No message matches these filters.",
  );
  return el("div", {}, results, pager("More messages", page.cursor, (next) => searchResults(filters, next)));
}
