// Tables shared by the side panels (compact) and the dynamic report (full): indicators with Ter./Dép./Rég./Fr.
// and the differences, with their footnotes ("secret statistique" reasons, "*" and the neutralised communes).

import { h } from "./dom.js";
import { comparator, dec1, diff, figure, int, numeratorNoun } from "./format.js";

const LEVELS = [["departement", "Dép."], ["region", "Rég."], ["france", "Fr."]];

/** Collects what the footnotes under a table must say. `namer(code)` turns a code into "Nom (dd)". */
export class Notes {
  constructor(namer) {
    this.namer = namer;
    this.reasons = new Set();
    this.plains = new Set();
    this.partials = new Map();
    this.weighted = false;
  }

  secret(reason) {
    this.reasons.add(reason || "valeur masquée : la population concernée compte moins de 11 individus statistiques");
  }

  plain(reason) {
    if (reason) this.plains.add(reason);
  }

  partial(fig) {
    const key = fig.id || fig.key || fig.label;
    if (!this.partials.has(key)) this.partials.set(key, fig);
  }

  render() {
    const out = [];
    if (this.partials.size) {
      out.push(h("p", { class: "note partial-note" }, h("strong", {}, "* Valeur partielle"),
        " : les communes neutralisées (données insuffisantes) sont retirées du numérateur et du dénominateur."));
      out.push(h("ul", { class: "note-list" }, [...this.partials.values()].map((fig) => {
        const communes = (fig.neutralised_communes || []).map(this.namer);
        const rate = fig.neutralised_rate !== undefined ? ` (${dec1(fig.neutralised_rate)} % des communes)` : "";
        return h("li", {}, `${fig.label} : `, communes.length ? communes.join(", ") : "communes non précisées", rate);
      })));
    }
    for (const reason of this.reasons) {
      // The API's reasons carry their label: print it once.
      out.push(h("p", { class: "note secret-note" }, h("strong", {}, "Secret statistique : "), unlabel(reason)));
    }
    for (const reason of this.plains) out.push(h("p", { class: "note" }, reason));
    if (this.weighted) {
      out.push(h("p", { class: "note" }, h("strong", {}, "† Comparaison pondérée"),
        " : le territoire s'étend sur plusieurs départements ou régions ; la valeur de comparaison est la moyenne de leurs taux pondérée par la part du territoire dans chacun (touchez ou activez une valeur marquée † pour voir les poids)."));
    }
    return out;
  }
}

function sourceLine(items) {
  const seen = new Set();
  const parts = [];
  let demo = false;
  for (const it of items) {
    const text = `${it.source} (${it.period})`;
    demo ||= Boolean(it.is_demo);
    if (!seen.has(text)) { seen.add(text); parts.push(text); }
  }
  if (!parts.length) return null;
  return h("p", { class: "source" }, `Source : ${parts.join(" ; ")}`, demo ? " – données de démonstration" : "");
}

function territoryCell(ind, notes) {
  const cell = h("td", { class: "num ter" }, figure(ind, ind.unit, notes));
  if (!ind.masked && ind.numerator !== null && ind.numerator !== undefined) {
    cell.append(h("span", { class: "sub" }, `${int(ind.numerator)} ${numeratorNoun(ind)}`));
  }
  return cell;
}

/**
 * Indicators with their comparisons. `compact`: the difference sits under each comparator (narrow side panel);
 * otherwise three more columns "Différence territoire et Dép./Rég./Fr.".
 */
export function indicatorTable(indicators, { caption, compact = false, definitions = false, notes }) {
  if (!indicators.length) return h("p", { class: "empty" }, "Aucun indicateur disponible pour ce territoire.");
  const head = h("tr", {}, h("th", { scope: "col" }, "Indicateur"), h("th", { scope: "col", class: "num" }, "Ter."),
    LEVELS.map(([, label]) => h("th", { scope: "col", class: "num" }, label)),
    compact ? null : LEVELS.map(([, label]) => h("th", { scope: "col", class: "num diff-col" }, `Écart ${label}`)));
  const rows = indicators.map((ind) => {
    const cmps = LEVELS.map(([level]) => ind.comparisons?.[level]);
    if (cmps.some((c) => c?.weighted)) notes.weighted = true;
    return h("tr", { dataset: { indicator: ind.id } },
      h("th", { scope: "row" }, ind.label, definitions ? h("span", { class: "definition" }, ind.definition) : null),
      territoryCell(ind, notes),
      cmps.map((c) => h("td", { class: "num" }, comparator(c, ind.unit, notes),
        compact && !ind.masked ? h("span", { class: "sub delta" }, diff(c?.difference, ind.unit)) : null)),
      compact ? null : cmps.map((c) => h("td", { class: "num diff-col" }, ind.masked ? "–" : diff(c?.difference, ind.unit))));
  });
  return h("div", { class: "table-wrap", tabindex: "0" },
    h("table", { class: ["data", compact && "compact"] },
      caption ? h("caption", {}, caption) : null, h("thead", {}, head), h("tbody", {}, rows)),
    sourceLine(indicators));
}

/** A block: title, table, notes. */
export function indicatorBlock(title, indicators, options, namer) {
  const notes = new Notes(namer);
  const table = indicatorTable(indicators, { ...options, notes });
  return h("section", { class: "block" }, h(options.level || "h3", {}, title), table, notes.render());
}

/** Ratio figures of an activity (patients or acts per professional): same columns, values not in %. */
export function ratioTable(profession, { compact = false, notes }) {
  const figures = [profession.patients_per_ps, ...profession.acts];
  const head = h("tr", {}, h("th", { scope: "col" }, profession.label), h("th", { scope: "col", class: "num" }, "Ter."),
    LEVELS.map(([, label]) => h("th", { scope: "col", class: "num" }, label)),
    compact ? null : LEVELS.map(([, label]) => h("th", { scope: "col", class: "num diff-col" }, `Écart ${label}`)));
  const rows = figures.map((fig) => {
    const cmps = LEVELS.map(([level]) => fig.comparisons?.[level]);
    if (cmps.some((c) => c?.weighted)) notes.weighted = true;
    const figWithLabel = { ...fig, label: `${profession.label} – ${fig.label}`, neutralised_communes: profession.neutralised_communes, neutralised_rate: profession.neutralised_rate };
    return h("tr", {},
      h("th", { scope: "row" }, fig.label, fig.detail ? h("span", { class: "definition" }, fig.detail) : null),
      h("td", { class: "num ter" }, figure(figWithLabel, "ratio", notes)),
      cmps.map((c) => h("td", { class: "num" }, comparator(c, "ratio", notes),
        compact && !fig.masked ? h("span", { class: "sub delta" }, diff(c?.difference, "ratio")) : null)),
      compact ? null : cmps.map((c) => h("td", { class: "num diff-col" }, fig.masked ? "–" : diff(c?.difference, "ratio"))));
  });
  return h("table", { class: ["data", compact && "compact"] }, h("thead", {}, head), h("tbody", {}, rows));
}

/** A reason without its leading « Secret statistique : » (the notes print the label themselves). */
export function unlabel(reason) {
  return String(reason).replace(/^Secret statistique\s*:\s*/i, "");
}
