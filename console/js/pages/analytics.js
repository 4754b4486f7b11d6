// Delivery analytics (GET /analytics/delivery): the delivery rate per day, receipt latency p50
// and p95 per day, and the rate by country, each as a chart with its figures in a table.
import { get, query } from "../api.js";
import { el, field, heading, table, text } from "../dom.js";
import { barChart, lineChart } from "../charts.js";

const DAY_MS = 86_400_000;

function isoDay(moment) {
  return new Date(moment).toISOString().slice(0, 10);
}

const percent = (rate) => (rate === null || rate === undefined ? "—" : `${Math.round(rate * 1000) / 10}%`);
const seconds = (ms) => (ms === null || ms === undefined ? "—" : `${Math.round(ms / 100) / 10} s`);

export async function analyticsPage(parameters) {
  const from = parameters.get("from") || isoDay(Date.now() - 13 * DAY_MS);
  const to = parameters.get("to") || isoDay(Date.now());
  const range = {
    created_after: `${from}T00:00:00Z`,
    // The API's end is exclusive; the form's "to" day is included.
    created_before: `${isoDay(Date.parse(`${to}T00:00:00Z`) + DAY_MS)}T00:00:00Z`,
  };
  const [byDay, byCountry] = await Promise.all([
    get(`/analytics/delivery${query({ ...range, group_by: "day" })}`),
    get(`/analytics/delivery${query({ ...range, group_by: "country" })}`),
  ]);
  // Every day of the period, a day without sends included (it has no bar and no point).
  const days = [];
  for (let day = Date.parse(byDay.first_day); day <= Date.parse(byDay.last_day); day += DAY_MS) days.push(isoDay(day));
  const dayOf = new Map(byDay.groups.map((group) => [group.key, group]));
  const perDay = (pick) => days.map((day) => (dayOf.has(day) ? pick(dayOf.get(day)) : null));
  const countries = byCountry.groups.map((group) => group.key);
  return el(
    "section",
    {},
    heading("Delivery analytics"),
    rangeForm(from, to),
    el("h2", {}, "Delivery rate per day"),
    barChart("Delivery rate per day", days.map((day) => day.slice(5)), perDay((group) => group.delivery_rate), {
      format: percent,
    }),
    el("h2", {}, "Receipt latency per day"),
    el("p", { class: "legend" }, el("span", { class: "key p50" }, "p50"), " ", el("span", { class: "key p95" }, "p95")),
    lineChart(
      "Receipt latency per day, p50 and p95",
      days.map((day) => day.slice(5)),
      [
        { name: "p50", values: perDay((group) => group.receipt_latency_ms.p50), className: "p50" },
        { name: "p95", values: perDay((group) => group.receipt_latency_ms.p95), className: "p95" },
      ],
      { format: seconds },
    ),
    figures("Per day", byDay.groups),
    el("h2", {}, "By country"),
    barChart("Delivery rate by country", countries, byCountry.groups.map((group) => group.delivery_rate), {
      format: percent,
    }),
    figures("Per country", byCountry.groups),
  );
}

function rangeForm(from, to) {
  return el(
    "form",
    {
      class: "card filters",
      "aria-label": "Period",
      onsubmit: (event) => {
        event.preventDefault();
        window.location.hash = `#/analytics${query(Object.fromEntries(new FormData(event.target)))}`;
      },
    },
    field("From (UTC)", el("input", { type: "date", name: "from", value: from, required: true })),
    field("To (UTC)", el("input", { type: "date", name: "to", value: to, required: true })),
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Show")),
  );
}

function figures(caption, groups) {
  return table(
    caption,
    [
      { title: "Group", cell: (group) => text(group.key) },
      { title: "Submitted", cell: (group) => String(group.submitted) },
      { title: "Delivered", cell: (group) => String(group.delivered) },
      { title: "Failed", cell: (group) => String(group.failed) },
      { title: "Delivery rate", cell: (group) => percent(group.delivery_rate) },
      { title: "Latency p50", cell: (group) => seconds(group.receipt_latency_ms.p50) },
      { title: "Latency p95", cell: (group) => seconds(group.receipt_latency_ms.p95) },
    ],
    groups,
    "No message was submitted in this period.",
  );
}
