// Balance (GET /balance) and its ledger (GET /balance/ledger), newest entries first.
import { get, query } from "../api.js";
import { el, heading, pager, table, text, time } from "../dom.js";

export async function balancePage() {
  const [balance, ledger] = await Promise.all([get("/balance"), ledgerRows(null)]);
  const money = (amount) => `${amount} ${balance.currency}`;
  const items = [
    ["Available", money(balance.available)],
    ["Balance", money(balance.balance)],
    ["Reserved", money(balance.reserved)],
    ["Credit limit", money(balance.credit_limit)],
  ];
  return el(
    "section",
    {},
    heading("Balance"),
    el("dl", { class: "counters" }, items.map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, value)))),
    el("p", { class: "hint" }, "Available is balance plus credit limit: what sends may still reserve."),
    el("h2", {}, "Ledger"),
    ledger,
  );
}

async function ledgerRows(cursor) {
  const page = await get(`/balance/ledger${query({ limit: 50, cursor })}`);
  return el(
    "div",
    {},
    table(
      cursor ? "Older ledger entries" : "Ledger entries, newest first",
      [
        { title: "When", cell: (entry) => time(entry.created_at) },
        { title: "Kind", cell: (entry) => entry.kind.replace("_", " ") },
        { title: "Amount", cell: (entry) => el("span", { class: "amount" }, `${entry.amount} ${page.currency}`) },
        { title: "Reference", cell: (entry) => text(entry.reference) },
        {
          title: "Message",
          cell: (entry) =>
            entry.message_id ? el("a", { href: `#/messages/${encodeURIComponent(entry.message_id)}` }, entry.message_id) : "—",
        },
      ],
      page.entries,
      "No ledger entry yet.",
    ),
    pager("Older entries", page.cursor, ledgerRows),
  );
}
