// The age-band chart (territory against its département), drawn as SVG with attributes only (no inline style:
// the CSP forbids it), scaled by its viewBox, and doubled by a small table for screen readers.

import { h, s } from "./dom.js";
import { dec1, SECRET } from "./format.js";

const W = 360;
const LABEL_W = 100;
const BAR_H = 11;
const GAP = 4;
const ROW_H = BAR_H * 2 + GAP + 12;

export function ageChart(section, { title = "Répartition par tranche d'âge" } = {}) {
  const bands = section.age_bands;
  const dep = (b) => (section.age_comparison ? b.comparisons?.departement?.value ?? null : null);
  const max = Math.max(1, ...bands.flatMap((b) => [b.masked ? 0 : b.share || 0, dep(b) || 0]));
  const scale = (W - LABEL_W - 52) / max;
  const id = `age-chart-${Math.random().toString(36).slice(2, 8)}`;
  const height = bands.length * ROW_H + 22;
  const rows = bands.map((b, i) => {
    const y = 22 + i * ROW_H;
    const ter = b.masked || b.share === null ? null : b.share;
    const cmp = dep(b);
    return s("g", { class: "age-row" },
      s("text", { x: 0, y: y + BAR_H + 2, class: "chart-label" }, b.label),
      ter === null
        ? s("text", { x: LABEL_W, y: y + BAR_H - 1, class: "chart-secret" }, SECRET)
        : [s("rect", { x: LABEL_W, y, width: Math.max(1, ter * scale), height: BAR_H, class: "bar-ter", rx: 2 }),
          s("text", { x: LABEL_W + ter * scale + 4, y: y + BAR_H - 1, class: "chart-value" }, `${dec1(ter)} %`)],
      cmp === null ? null
        : [s("rect", { x: LABEL_W, y: y + BAR_H + GAP, width: Math.max(1, cmp * scale), height: BAR_H, class: "bar-dep", rx: 2 }),
          s("text", { x: LABEL_W + cmp * scale + 4, y: y + 2 * BAR_H + GAP - 1, class: "chart-value muted" }, `${dec1(cmp)} %`)]);
  });
  const legend = s("g", { class: "chart-legend" },
    s("rect", { x: LABEL_W, y: 2, width: 10, height: 10, class: "bar-ter" }),
    s("text", { x: LABEL_W + 14, y: 11 }, "Territoire"),
    section.age_comparison ? [s("rect", { x: LABEL_W + 90, y: 2, width: 10, height: 10, class: "bar-dep" }),
      s("text", { x: LABEL_W + 104, y: 11 }, "Département")] : null);
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img", "aria-labelledby": id, focusable: "false" },
    s("title", { id }, `${title} : territoire comparé au département`), legend, rows);
  // The hidden box is a div around the table: a table ignores `width: 1px` and would widen the page.
  const table = h("div", { class: "visually-hidden" }, h("table", { class: "data compact" },
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Tranche d'âge"), h("th", { scope: "col" }, "Territoire"), h("th", { scope: "col" }, "Département"))),
    h("tbody", {}, bands.map((b) => h("tr", {}, h("th", { scope: "row" }, b.label),
      h("td", {}, b.masked || b.share === null ? SECRET : `${dec1(b.share)} %`),
      h("td", {}, dep(b) === null ? "–" : `${dec1(dep(b))} %`))))));
  return h("figure", { class: "chart-figure" }, svg, table);
}
