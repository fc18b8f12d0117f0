// Two perimeters side by side: the selection kept as perimeter A and the current selection (perimeter B).
// One row model (`compareRows`) feeds the table and the CSV, and it holds the secrecy rule of a comparison:
// a difference is printed only between two published values ("publie"); a hidden or sans-objet cell stays as
// the API gave it and its difference is "–", never computed.

import * as api from "./api.js";
import { byId, fill, h, s, saveBlob, status } from "./dom.js";
import { diff, figure, int } from "./format.js";
import { PERIMETER_COLOURS } from "./perimeters.js";

const PUBLISHED = "publie";
const round1 = (x) => Math.round(x * 10) / 10;

/** A published figure of the API as the comparison needs it; null when the API did not give one. */
function cell(fig) {
  if (!fig) return null;
  const status = fig.status || (fig.masked ? "secret" : PUBLISHED);
  return { status, value: status === PUBLISHED ? fig.value : null, partial: Boolean(fig.partial), reason: fig.reason || null, masked: status === "secret" };
}

const count = (n) => (n === null || n === undefined ? null : { status: PUBLISHED, value: n, partial: false, reason: null, masked: false });

/** B − A of two published values (1 decimal, as the API rounds); null as soon as either is not published. */
export function difference(a, b) {
  if (a?.status !== PUBLISHED || b?.status !== PUBLISHED) return null;
  if (a.value === null || b.value === null) return null;
  return round1(b.value - a.value);
}

function indicatorsOf(d) {
  return [
    ["ALD et complémentaire santé solidaire", d.population.indicators],
    ["Accès aux soins", d.access],
    ["Prévalences des ALD", [...d.prevalences.top5, ...d.prevalences.requested]],
    ["Prévention", d.prevention],
    ["Prévention – vaccination", d.vaccination],
  ];
}

/** The rows of the comparison: [{section, key, label, unit, a, b, difference}], A and B matched by id. */
export function compareRows(A, B) {
  const rows = [];
  const push = (section, key, label, unit, a, b) => rows.push({ section, key, label, unit, a, b, difference: difference(a, b) });
  const synthesis = "Synthèse";
  push(synthesis, "communes", "Communes", "count", count(A.summary.commune_count), count(B.summary.commune_count));
  push(synthesis, "population", "Habitants", "count", count(A.summary.population), count(B.summary.population));
  push(synthesis, "professionals", "Professionnels de santé libéraux", "count", count(A.summary.professionals), count(B.summary.professionals));
  push(synthesis, "structures", "Structures de soins", "count", count(A.summary.structures), count(B.summary.structures));
  const sectionsB = new Map(indicatorsOf(B.diagnosis).map(([title, list]) => [title, new Map(list.map((i) => [i.id, i]))]));
  for (const [title, list] of indicatorsOf(A.diagnosis)) {
    const other = sectionsB.get(title);
    const ids = [...new Set([...list.map((i) => i.id), ...other.keys()])];
    const mine = new Map(list.map((i) => [i.id, i]));
    for (const id of ids) {
      const ind = mine.get(id) || other.get(id);
      push(title, id, ind.label, ind.unit, cell(mine.get(id)), cell(other.get(id)));
    }
  }
  const demo = (d) => new Map(d.offer.demography.map((r) => [r.category, r]));
  const demoA = demo(A.diagnosis);
  for (const [category, rb] of demo(B.diagnosis)) {
    push("Démographie des professionnels", `demo_${category}`, rb.label, "count", count(demoA.get(category)?.n ?? 0), count(rb.n));
  }
  const activity = (d) => new Map(d.offer.activity.flatMap((p) => [p.patients_per_ps, ...p.acts]
    .map((f) => [`${p.profession}_${f.key}`, { ...f, label: `${p.label} – ${f.label}` }])));
  const actA = activity(A.diagnosis);
  for (const [key, fb] of activity(B.diagnosis)) {
    push("Activité des professionnels", `act_${key}`, fb.label, "ratio", cell(actA.get(key)), cell(fb));
  }
  const structures = (d) => new Map(d.offer.structures.map((g) => [g.key, g]));
  const stA = structures(A.diagnosis);
  for (const [key, gb] of structures(B.diagnosis)) {
    if (!gb.total && !stA.get(key)?.total) continue;
    push("Structures de soins (FINESS)", `fin_${key}`, gb.label, "count", count(stA.get(key)?.total ?? 0), count(gb.total));
  }
  return rows;
}

// Display -----------------------------------------------------------------------------------------------------

// The reasons stay in each cell's title; the note above the tables states the rule once.
function shown(c, unit) {
  if (!c) return h("span", { class: "sans-objet", title: "Indicateur non calculé pour ce périmètre" }, "–");
  if (unit === "count" && c.status === PUBLISHED) return h("span", {}, int(c.value));
  return figure(c, unit === "count" ? "ratio" : unit);
}

function shownDiff(row) {
  if (row.difference === null) return h("span", { class: "sans-objet", title: "Écart non calculé : une des deux valeurs n'est pas publiée" }, "–");
  if (row.unit === "count") return h("span", {}, diff(row.difference, "ratio").replace(/,0$/, ""));
  return h("span", {}, diff(row.difference, row.unit));
}

function swatch(colour, dashed) {
  return s("svg", { class: "compare-swatch", width: "28", height: "12", viewBox: "0 0 28 12", "aria-hidden": "true" },
    s("line", { x1: "1", y1: "6", x2: "27", y2: "6", stroke: colour, "stroke-width": "4", "stroke-dasharray": dashed ? "6 3" : null }));
}

function table(title, rows) {
  // On a phone the table may scroll sideways: the region is focusable so that the keyboard can scroll it too.
  return h("section", { class: "block" }, h("h3", {}, title), h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `${title} : comparaison` },
    h("table", { class: "data compact compare-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Indicateur"),
        // « Périmètre » and « Écart » give way on a phone (compare.css) but stay in the accessible name.
        h("th", { scope: "col", class: "num" }, h("span", { class: "long" }, "Périmètre "), "A"),
        h("th", { scope: "col", class: "num" }, h("span", { class: "long" }, "Périmètre "), "B"),
        h("th", { scope: "col", class: "num" }, h("span", { class: "long" }, "Écart "), "B − A"))),
      h("tbody", {}, rows.map((r) => h("tr", { dataset: { row: r.key, section: r.section } },
        h("th", { scope: "row" }, r.label),
        h("td", { class: "num a" }, shown(r.a, r.unit)),
        h("td", { class: "num b" }, shown(r.b, r.unit)),
        h("td", { class: "num d" }, shownDiff(r))))))));
}

// CSV: the dialect of the server's export (docs/report.md): UTF-8 with BOM, ";", CRLF, decimal comma.
const FORMULA = ["=", "+", "-", "@", "\t", "\r"];
// Plain "-" and "," with no grouping: Intl's French minus sign (U+2212) would make spreadsheets read text.
const csvNumber = (x) => String(round1(x)).replace(".", ",");

function csvField(value) {
  let text = String(value ?? "");
  if (FORMULA.some((c) => text.startsWith(c)) && !/^[-+]?\d/.test(text)) text = `'${text}`;
  return /[;"\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvValue(c) {
  if (!c) return "non calculé";
  if (c.status === "secret") return "secret statistique";
  if (c.status === "sans_objet") return "sans objet";
  return csvNumber(c.value) + (c.partial ? "*" : "");
}

export function compareCsv(rows, A, B) {
  const unit = { pct: "%", per100: "pour 100", ratio: "ratio", count: "nombre" };
  const lines = [["Rubrique", "Indicateur", "Unité", "Périmètre A", "Périmètre B", "Écart B − A"]];
  for (const r of rows) {
    lines.push([r.section, r.label, unit[r.unit] || r.unit, csvValue(r.a), csvValue(r.b), r.difference === null ? "" : csvNumber(r.difference)]);
  }
  const notes = [
    `# Rézone CPTS — comparaison de deux périmètres — version des données ${B.diagnosis.data_version}`,
    `# Périmètre A : ${A.codes.join(" ")}`,
    `# Périmètre B : ${B.codes.join(" ")}`,
    "# L'écart n'est calculé qu'entre deux valeurs publiées : vide si l'une est masquée (secret statistique) ou sans objet ; * valeur partielle",
  ];
  if (A.diagnosis.demo || B.diagnosis.demo) notes.push("# données de démonstration : les chiffres de santé sont synthétiques et ne décrivent pas la réalité");
  const body = lines.map((l) => l.map(csvField).join(";")).join("\r\n") + "\r\n" + notes.map((n) => n.replaceAll(";", ",")).join("\r\n") + "\r\n";
  return new Blob(["\ufeff", body], { type: "text/csv;charset=utf-8" });
}

// The controller -----------------------------------------------------------------------------------------------

async function perimeter(codes, ald, signal) {
  const [summary, diagnosis] = await Promise.all([api.summary(codes, signal), api.diagnosis(codes, ald, signal)]);
  return { codes, summary, diagnosis };
}

const topIds = (d) => d.prevalences.top5.map((i) => i.id);

export class Compare {
  /** `selection`: the live Selection (perimeter B); `onReference(codes)`: draw perimeter A on the map. */
  constructor(selection, { onReference }) {
    this.selection = selection;
    this.onReference = onReference;
    this.reference = null; // codes of perimeter A
    this.card = byId("compare");
    this.statusEl = byId("compare-status");
    this.dialog = h("dialog", { id: "compare-dialog", class: "doc-dialog compare-dialog", "aria-labelledby": "compare-title" });
    document.body.append(this.dialog);
    byId("compare-keep").addEventListener("click", () => this.keep());
    byId("compare-open").addEventListener("click", () => this.open());
    byId("compare-stop").addEventListener("click", () => this.stop());
    selection.addEventListener("change", (e) => { if (e.detail.reason !== "update") this.render(); });
    this.render();
  }

  keep() {
    this.reference = this.selection.codes;
    this.onReference(this.reference);
    this.render();
    status(this.statusEl, `Périmètre A gardé (${this.reference.length} commune(s)) : modifiez maintenant la sélection, elle devient le périmètre B.`, "success");
  }

  stop() {
    this.reference = null;
    this.onReference([]);
    this.render();
    status(this.statusEl, "Comparaison arrêtée.");
    byId("compare-keep").focus();
  }

  render() {
    const n = this.selection.size;
    this.card.hidden = n === 0 && !this.reference;
    byId("compare-keep").disabled = n === 0;
    byId("compare-open").hidden = !this.reference;
    byId("compare-stop").hidden = !this.reference;
    byId("compare-open").disabled = !this.reference || n === 0;
    const legend = byId("compare-legend");
    if (!this.reference) { fill(legend); legend.hidden = true; return; }
    legend.hidden = false;
    fill(legend,
      h("li", {}, swatch(PERIMETER_COLOURS.reference, true), ` Périmètre A (gardé) : ${this.reference.length} commune(s), contour orange en pointillés`),
      h("li", {}, swatch(PERIMETER_COLOURS.selection, false), ` Périmètre B (sélection actuelle) : ${n} commune(s), en bleu`));
    if (this.dialog.open) this.load();
  }

  async open() {
    if (!this.reference || !this.selection.size) return;
    if (!this.dialog.open) this.dialog.showModal();
    await this.load();
  }

  async load() {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const codesB = this.selection.codes;
    this.dialog.dataset.state = "loading";
    this.frame(h("p", { class: "loading", "aria-busy": "true" }, "Calcul des deux diagnostics…"));
    try {
      let [A, B] = await Promise.all([perimeter(this.reference, [], controller.signal), perimeter(codesB, [], controller.signal)]);
      // Each perimeter's top 5 ALD are asked of the other one too, so that every prevalence has two columns.
      const wanted = [...new Set([...topIds(A.diagnosis), ...topIds(B.diagnosis)])];
      const more = (P) => wanted.filter((id) => !topIds(P.diagnosis).includes(id));
      [A, B] = await Promise.all([A, B].map((P) => (more(P).length ? perimeter(P.codes, more(P), controller.signal) : P)));
      if (controller.signal.aborted) return;
      this.data = { A, B, rows: compareRows(A, B) };
      this.show();
    } catch (err) {
      if (err?.name === "AbortError") return;
      this.frame(h("p", { class: "error", role: "alert" }, `La comparaison n'a pas pu être calculée : ${err.message}`));
    }
  }

  frame(...content) {
    const close = h("button", { type: "button", class: "icon-button", id: "compare-close", "aria-label": "Fermer la comparaison",
      onclick: () => this.dialog.close() }, "✕");
    fill(this.dialog, h("div", { class: "dialog-head" }, h("h2", { id: "compare-title" }, "Comparaison de deux périmètres"), close),
      h("div", { class: "dialog-body" }, content));
  }

  show() {
    const { A, B, rows } = this.data;
    const sections = [...new Set(rows.map((r) => r.section))];
    const csv = h("button", { type: "button", class: "button primary", id: "compare-csv", onclick: () => this.csv() }, "Télécharger la comparaison (CSV)");
    this.frame(
      h("ul", { class: "compare-legend" },
        h("li", {}, swatch(PERIMETER_COLOURS.reference, true), ` Périmètre A : ${A.codes.length} commune(s)`),
        h("li", {}, swatch(PERIMETER_COLOURS.selection, false), ` Périmètre B : ${B.codes.length} commune(s) (sélection actuelle)`)),
      A.diagnosis.demo || B.diagnosis.demo ? h("p", { class: "demo-inline" }, "Données de démonstration : les chiffres de santé sont synthétiques.") : null,
      h("p", { class: "note" }, "L'écart (B − A) n'est calculé qu'entre deux valeurs publiées : « – » quand l'une est masquée par le secret statistique ou sans objet. * : valeur partielle (communes neutralisées)."),
      h("div", { class: "actions" }, csv),
      h("p", { id: "compare-csv-status", class: "status-line", role: "status", "aria-live": "polite" }),
      sections.map((title) => table(title, rows.filter((r) => r.section === title))),
      h("p", { class: "source" }, `« pt » : points de pourcentage. Version des données ${B.diagnosis.data_version}.`));
    this.dialog.dataset.state = "ready";
    byId("compare-close").focus(); // the content was redrawn: keep the focus inside the dialog
  }

  csv() {
    const { A, B, rows } = this.data;
    saveBlob(compareCsv(rows, A, B), "comparaison_perimetres_CPTS.csv");
    status(byId("compare-csv-status"), "Comparaison téléchargée : comparaison_perimetres_CPTS.csv.", "success");
  }
}
