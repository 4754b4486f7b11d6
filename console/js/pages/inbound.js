// Inbound messages (GET /inbound): what numbers texted the organization's numbers, newest first.
import { get, query } from "../api.js";
import { el, heading, pager, table, text, time } from "../dom.js";

export async function inboundPage() {
  return el("section", {}, heading("Inbound messages"), await inboundRows(null));
}

async function inboundRows(cursor) {
  const page = await get(`/inbound${query({ limit: 50, cursor })}`);
  return el(
    "div",
    {},
    table(
      cursor ? "Older inbound messages" : "Inbound messages, newest first",
      [
        { title: "Received", cell: (m) => time(m.received_at) },
        { title: "From", cell: (m) => m.from },
        { title: "To", cell: (m) => m.to },
        { title: "Text", cell: (m) => el("span", { class: "message-text" }, m.text) },
        { title: "Keyword", cell: (m) => text(m.keyword) },
        {
          title: "In reply to",
          cell: (m) => (m.in_reply_to ? el("a", { href: `#/messages/${encodeURIComponent(m.in_reply_to)}` }, m.in_reply_to) : "—"),
        },
      ],
      page.inbound,
      "No inbound message yet.",
    ),
    pager("Older messages", page.cursor, inboundRows),
  );
}
