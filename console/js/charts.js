// Small SVG charts, drawn here rather than with a library: three plain charts need about a
// hundred lines, SVG scales to any width without redrawing, and its text is real text. Each chart
// is an image with a name; the figures it draws are also in a table next to it.
const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 240;
const PAD = { top: 16, right: 16, bottom: 40, left: 56 };

/** The drawing's width in units, for the screen it is drawn on: on a phone, 640 units shrunk to
 * 330 pixels would make 6 px text. */
function drawingWidth() {
  return window.matchMedia("(max-width: 40rem)").matches ? 360 : 640;
}

/** A top for the axis that splits into four round steps (3,900 → 4,000: 1,000 a step). */
function roundUp(max) {
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 4, 6, 8, 10].map((factor) => factor * power).find((top) => top >= max);
}

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function frame(label, width) {
  const title = svg("title", {}, label);
  return svg("svg", { viewBox: `0 0 ${width} ${HEIGHT}`, role: "img", class: "chart", "aria-label": label }, title);
}

/** Horizontal grid lines with their values, from 0 to `max`. */
function yAxis(chart, width, max, format) {
  const plot = HEIGHT - PAD.top - PAD.bottom;
  for (let step = 0; step <= 4; step += 1) {
    const y = PAD.top + plot - (plot * step) / 4;
    chart.append(
      svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: "grid" }),
      svg("text", { x: PAD.left - 6, y: y + 4, class: "tick", "text-anchor": "end" }, format((max * step) / 4)),
    );
  }
}

function xLabels(chart, width, labels, xOf) {
  // Every label when they fit, otherwise about one per 80 units.
  const every = Math.max(1, Math.ceil(labels.length / Math.floor(width / 80)));
  labels.forEach((label, index) => {
    if (index % every !== 0) return;
    chart.append(svg("text", { x: xOf(index), y: HEIGHT - PAD.bottom + 18, class: "tick", "text-anchor": "middle" }, label));
  });
}

/** Vertical bars: one per label, `values` in [0, max] (null: no bar). */
export function barChart(label, labels, values, { max = 1, format = String } = {}) {
  const width = drawingWidth();
  const chart = frame(label, width);
  yAxis(chart, width, max, format);
  const plot = HEIGHT - PAD.top - PAD.bottom;
  const slot = (width - PAD.left - PAD.right) / Math.max(labels.length, 1);
  const bar = Math.min(slot * 0.7, 48);
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    const height = (plot * Math.min(value, max)) / max;
    chart.append(
      svg(
        "rect",
        { x: PAD.left + index * slot + (slot - bar) / 2, y: PAD.top + plot - height, width: bar, height, class: "bar" },
        svg("title", {}, `${labels[index]}: ${format(value)}`),
      ),
    );
  });
  xLabels(chart, width, labels, (index) => PAD.left + index * slot + slot / 2);
  return chart;
}

/** Lines, one per series (`{name, values, className}`), over the same labels; null values leave gaps. */
export function lineChart(label, labels, series, { format = String } = {}) {
  const width = drawingWidth();
  const chart = frame(label, width);
  const max = roundUp(Math.max(1, ...series.flatMap((line) => line.values.filter((value) => value !== null))));
  yAxis(chart, width, max, format);
  const plot = HEIGHT - PAD.top - PAD.bottom;
  const span = width - PAD.left - PAD.right;
  const xOf = (index) => PAD.left + (labels.length > 1 ? (span * index) / (labels.length - 1) : span / 2);
  const yOf = (value) => PAD.top + plot - (plot * value) / max;
  for (const line of series) {
    let path = "";
    let drawing = false; // a null lifts the pen: the next point starts a new stretch
    line.values.forEach((value, index) => {
      if (value === null) {
        drawing = false;
        return;
      }
      path += `${drawing ? "L" : "M"}${xOf(index).toFixed(1)},${yOf(value).toFixed(1)} `;
      drawing = true;
      chart.append(
        svg(
          "circle",
          { cx: xOf(index), cy: yOf(value), r: 3.5, class: `point ${line.className}` },
          svg("title", {}, `${line.name}, ${labels[index]}: ${format(value)}`),
        ),
      );
    });
    chart.append(svg("path", { d: path.trim(), class: `line ${line.className}` }));
  }
  xLabels(chart, width, labels, xOf);
  return chart;
}
