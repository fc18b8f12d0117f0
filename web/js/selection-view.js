// The selection panel: "Projet de CPTS sur N commune(s)", chips grouped by département with a ✕ each, the
// 100-commune limit explained, and the non-blocking alerts (homonyms, several départements, CPTS, pieces).

import { byId, fill, h } from "./dom.js";
import { cptsStatus } from "./format.js";
import { communeLabel } from "./state.js";

const DEP_COLLATOR = new Intl.Collator("fr", { numeric: true });
// Beyond this many communes the chips start folded by département (« grouper / dégrouper » of the original).
const FOLD_FROM = 20;

/** Alerts we can tell at once from the selection itself, before the diagnosis answers. */
export function localAlerts(entries) {
  const alerts = [];
  const byName = new Map();
  for (const e of entries) {
    if (!e.nom) continue;
    const key = e.nom.toLocaleLowerCase("fr");
    byName.set(key, [...(byName.get(key) || []), e]);
  }
  const twins = [...byName.values()].filter((group) => group.length > 1);
  if (twins.length) {
    const text = twins.map((group) => group.map(communeLabel).join(" et ")).join(" ; ");
    alerts.push({ code: "homonyms", message: `Communes homonymes dans le projet : ${text}. Vérifiez qu'il s'agit bien des communes voulues (le code du département les distingue).`,
      communes: twins.flat().map((e) => e.code) });
  }
  const deps = [...new Set(entries.map((e) => e.departement?.code).filter(Boolean))].sort(DEP_COLLATOR.compare);
  if (deps.length > 1) {
    alerts.push({ code: "multi_departement", message: `Le projet s'étend sur ${deps.length} départements (${deps.join(", ")}) : les comparaisons départementales et régionales sont pondérées par le poids de chaque partie du territoire.`,
      communes: [] });
  }
  for (const e of entries) {
    if (e.cpts) {
      alerts.push({ code: "commune_in_cpts", message: `${communeLabel(e)} est déjà intégrée dans la CPTS « ${e.cpts.nom} » (${cptsStatus(e.cpts.statut)}).`,
        communes: [e.code] });
    }
  }
  return alerts;
}

/** Server alerts are authoritative; local ones fill in while the diagnosis of this selection is not there yet. */
export function mergeAlerts(local, server) {
  if (!server) return local;
  const serverCodes = new Set(server.map((a) => a.code));
  return [...server, ...local.filter((a) => !serverCodes.has(a.code))];
}

const ALERT_TITLES = {
  commune_in_cpts: "Commune déjà dans une CPTS",
  multi_departement: "Plusieurs départements",
  multi_region: "Plusieurs régions",
  non_contiguous: "Territoire en plusieurs morceaux",
  homonyms: "Communes homonymes",
  partial_data: "Données partielles",
};

export class SelectionView {
  constructor(selection, { onRemove }) {
    this.selection = selection;
    this.onRemove = onRemove;
    this.title = byId("selection-title");
    this.chips = byId("chips");
    this.alertsEl = byId("alerts");
    this.limitEl = byId("selection-limit");
    this.serverAlerts = null;
    this.folded = new Set(); // départements whose chips are folded
    this.autoFold = true; // until the user chooses, long selections fold and short ones unfold
    this.grouping = byId("chips-grouping");
    this.chips.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-remove]");
      if (button) this.remove(button.dataset.remove, button);
      const toggle = e.target.closest("button[data-fold]");
      if (toggle) this.fold(toggle.dataset.fold, !this.folded.has(toggle.dataset.fold));
    });
    this.grouping.addEventListener("click", () => {
      const group = this.grouping.getAttribute("aria-pressed") !== "true";
      this.autoFold = false;
      this.folded = group ? new Set(this.depCodes()) : new Set();
      this.render();
    });
  }

  remove(code, button) {
    // Keep keyboard users in the chip list: focus the next ✕ (or the previous one) after removal.
    const all = [...this.chips.querySelectorAll("button[data-remove]")];
    const i = all.indexOf(button);
    const next = all[i + 1] || all[i - 1];
    const nextCode = next?.dataset.remove;
    this.onRemove(code);
    const target = nextCode && this.chips.querySelector(`button[data-remove="${nextCode}"]`);
    (target || byId("search-input")).focus();
  }

  depCodes() {
    return [...new Set(this.selection.entries.map((e) => e.departement?.code || "?"))];
  }

  fold(dep, folded) {
    this.autoFold = false;
    if (folded) this.folded.add(dep); else this.folded.delete(dep);
    this.render();
    this.chips.querySelector(`button[data-fold="${dep}"]`)?.focus();
  }

  setServerAlerts(alerts) {
    this.serverAlerts = alerts;
    this.renderAlerts();
  }

  render() {
    const entries = this.selection.entries;
    const n = entries.length;
    this.title.textContent = `Projet de CPTS sur ${n} commune(s)`;
    const groups = new Map();
    for (const e of entries) {
      const key = e.departement?.code || "?";
      if (!groups.has(key)) groups.set(key, { dep: e.departement, items: [] });
      const group = groups.get(key);
      if (!group.dep?.nom && e.departement?.nom) group.dep = e.departement;
      group.items.push(e);
    }
    const ordered = [...groups.entries()].sort((a, b) => DEP_COLLATOR.compare(a[0], b[0]));
    const title = (key, dep) => (key === "?" ? "Chargement…" : `${dep?.nom || "Département"} (${key})`);
    if (this.autoFold) this.folded = n > FOLD_FROM ? new Set(groups.keys()) : new Set();
    const allFolded = ordered.every(([key]) => this.folded.has(key));
    this.grouping.hidden = n < 2;
    this.grouping.setAttribute("aria-pressed", String(allFolded));
    this.grouping.textContent = allFolded ? "Dégrouper" : "Grouper";
    fill(this.chips, ordered.map(([key, group]) => h("div", { class: "chip-group", role: "group", "aria-label": title(key, group.dep),
      dataset: { dep: key } },
      h("p", { class: "chip-group-title" },
        h("button", { type: "button", class: "chip-fold", dataset: { fold: key }, "aria-expanded": String(!this.folded.has(key)),
          "aria-controls": `chips-${key}` }, title(key, group.dep),
        h("span", { class: "chip-count" }, ` · ${group.items.length} commune${group.items.length > 1 ? "s" : ""}`))),
      h("ul", { class: "chip-list", id: `chips-${key}`, hidden: this.folded.has(key) }, group.items
        .sort((a, b) => (a.nom || a.code).localeCompare(b.nom || b.code, "fr"))
        .map((e) => h("li", { class: ["chip", e.pending && "pending"], dataset: { code: e.code } },
          h("span", { class: "chip-name" }, e.nom || e.code),
          h("span", { class: "chip-code" }, e.code),
          h("button", { type: "button", class: "chip-remove", dataset: { remove: e.code },
            "aria-label": `Retirer ${communeLabel(e)} du projet` }, "✕")))))));
    if (this.selection.full) {
      this.limitEl.hidden = false;
      this.limitEl.textContent = `Limite atteinte : un projet compte au plus ${this.selection.limit} communes, la taille maximale d'un rapport de diagnostic. Retirez une commune pour en ajouter une autre ; pour un territoire plus vaste, composez plusieurs projets.`;
    } else if (n >= this.selection.limit - 10) {
      this.limitEl.hidden = false;
      this.limitEl.textContent = `${n} communes sur ${this.selection.limit} au maximum par projet.`;
    } else {
      this.limitEl.hidden = true;
    }
    for (const id of ["save-project", "share-link", "reset-selection"]) byId(id).disabled = n === 0;
    this.renderAlerts();
  }

  renderAlerts() {
    const alerts = this.selection.size ? mergeAlerts(localAlerts(this.selection.entries), this.serverAlerts) : [];
    fill(this.alertsEl, alerts.map((a) => h("div", { class: ["alert", `alert-${a.code}`], role: "note", dataset: { code: a.code } },
      h("p", { class: "alert-title" }, ALERT_TITLES[a.code] || "Remarque", h("span", { class: "alert-tag" }, " – non bloquant")),
      h("p", {}, a.message))));
  }
}
