// French formatting of figures, and the one place that decides how a masked or partial value is shown:
// a masked value reads "secret statistique" (never 0, never a number), a partial one carries "*".

import { h } from "./dom.js";

const INT = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 0 });
const DEC1 = new Intl.NumberFormat("fr-FR", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const EUR = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR", maximumFractionDigits: 0 });

export const SECRET = "secret statistique";

export function int(n) {
  return n === null || n === undefined ? "–" : INT.format(n);
}

export function dec1(n) {
  return n === null || n === undefined ? "–" : DEC1.format(n);
}

export function euros(n) {
  return n === null || n === undefined ? "montant non connu" : EUR.format(n);
}

const CPTS_STATUS = {
  aci_signe: "contrat ACI signé",
  projet_valide: "projet de santé validé",
  lettre_intention: "lettre d'intention",
};

/** The status of an existing CPTS, in words. */
export function cptsStatus(statut) {
  return CPTS_STATUS[statut] || String(statut || "").replaceAll("_", " ");
}

const LONG_DATE = new Intl.DateTimeFormat("fr-FR", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/** "2021-12-20" (as the API sends dates) → "20 décembre 2021": no ISO date ever reaches the prose. */
export function frenchDate(iso) {
  const d = iso ? new Date(`${String(iso).slice(0, 10)}T00:00:00Z`) : null;
  return d && !Number.isNaN(d.getTime()) ? LONG_DATE.format(d) : String(iso ?? "");
}

/**
 * "1 234 habitants", "1 234* habitants" (some communes without population), and never "0* habitants": a
 * territory whose communes all lack an INSEE population (Mayotte) reads « population non disponible ».
 */
export function populationText(population, partial) {
  if (partial && !population) return "population non disponible";
  return `${int(population)}${partial ? "*" : ""} habitants`;
}

/** What the numerator of an indicator counts, in words: "passages", "consommateurs", "femmes"… */
export function numeratorNoun(ind) {
  const first = String(ind.numerator_label || "").split(/\s/)[0];
  return first ? first.toLocaleLowerCase("fr") : "cas";
}

export function plural(n, one, many) {
  return `${int(n)} ${n > 1 ? many : one}`;
}

/** A rate or ratio in its unit: "10,7 %", "13,2" (per 100 consumers), "1 234,5" (ratio). */
export function rate(value, unit) {
  if (value === null || value === undefined) return "–";
  return unit === "pct" ? `${DEC1.format(value)} %` : DEC1.format(value);
}

/** A difference territory − comparator: in points for rates, signed. */
export function diff(value, unit) {
  if (value === null || value === undefined) return "–";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  const body = DEC1.format(Math.abs(value));
  return unit === "pct" ? `${sign}${body} pt` : `${sign}${body}`;
}

/** The masked marker, with the reason available to every reader (title for the pointer, text in notes). */
export function secret(reason) {
  return h("span", { class: "secret", title: reason || "Valeur masquée par le secret statistique" }, SECRET);
}

/**
 * A figure of the territory: "secret statistique" when masked, else the value with "*" when partial.
 * `notes` (optional) collects the reasons and neutralised communes to print under the table.
 */
export function figure(fig, unit, notes) {
  if (fig && fig.status === "sans_objet") {
    // A public zero (no professional, nobody living there): "–" with its reason, never secrecy wording.
    notes?.plain(fig.reason);
    return h("span", { class: "sans-objet", title: fig.reason || "Sans objet" }, "–");
  }
  if (!fig || fig.masked || fig.value === null || fig.value === undefined) {
    notes?.secret(fig?.reason);
    return secret(fig?.reason);
  }
  const text = rate(fig.value, unit);
  if (fig.partial) {
    notes?.partial(fig);
    // A title is not read by every screen reader: the meaning of "*" is also said in (hidden) words.
    return h("span", { class: "partial" }, text,
      h("abbr", { title: "Valeur partielle : des communes sont neutralisées", "aria-hidden": "true" }, "*"),
      h("span", { class: "visually-hidden" }, " (valeur partielle : communes neutralisées, détail sous le tableau)"));
  }
  return h("span", {}, text);
}

/** A comparator value (département, région, France); masked comparators read "secret statistique" as well. */
export function comparator(cmp, unit, notes) {
  if (!cmp || cmp.value === null || cmp.value === undefined) {
    notes?.secret(null);
    return secret(null);
  }
  const text = rate(cmp.value, unit);
  if (!cmp.weighted) return h("span", {}, text);
  const parts = cmp.weights.map((w) => `${w.code} ${w.weight === null ? "?" : DEC1.format(w.weight * 100) + " %"}`);
  // Not a hover-only title: a disclosure that a keyboard, a finger and a screen reader open alike.
  return h("details", { class: "weighted" },
    h("summary", {}, text, h("abbr", { "aria-hidden": "true" }, "†"),
      h("span", { class: "visually-hidden" }, " (comparaison pondérée : afficher les poids)")),
    h("span", { class: "weights" }, `Moyenne pondérée par le territoire : ${parts.join(", ")}`));
}

/** A count that the API may mask (null): never printed as 0. */
export function count(n, reason) {
  return n === null || n === undefined ? secret(reason) : h("span", {}, int(n));
}
