// The documentation dialog: glossaries (sigles, structures, indicateurs) and the data-vintage panel.

import { byId, fill, h } from "./dom.js";
import { SIGLES, STRUCTURES } from "./glossary.js";
import { sourcesList } from "./report-view.js";

const TITLES = {
  sigles: "Glossaire des sigles",
  structures: "Glossaire des structures",
  indicateurs: "Glossaire des indicateurs",
  donnees: "Actualisation des données",
};

function definitionList(pairs) {
  return h("dl", { class: "glossary" }, pairs.flatMap(([term, text]) => [h("dt", {}, term), h("dd", {}, text)]));
}

function indicators(d) {
  if (!d) return h("p", { class: "empty" }, "Les définitions des indicateurs accompagnent le diagnostic : ajoutez une commune à votre projet pour les afficher.");
  const sections = [
    ["Population", d.population.indicators],
    ["Accès aux soins", d.access],
    ["Prévalences (affections de longue durée)", [...d.prevalences.top5, ...d.prevalences.requested]],
    ["Prévention", d.prevention],
    ["Vaccination", d.vaccination],
  ];
  return [
    sections.map(([title, list]) => [h("h3", {}, title), definitionList(list.map((i) => [i.label,
      `${i.definition}. Numérateur : ${i.numerator_label}. Dénominateur : ${i.denominator_label}. Source : ${i.source} (${i.period}).`]))]),
    h("h3", {}, "Affections de longue durée disponibles"),
    h("ul", { class: "columns" }, d.prevalences.catalogue.map((c) => h("li", {}, c.label))),
  ];
}

function vintages(d) {
  if (!d) return h("p", { class: "empty" }, "Le millésime de chaque source est donné avec le diagnostic : ajoutez une commune à votre projet pour l'afficher.");
  return [
    d.demo ? h("p", { class: "demo-inline" }, "Données de démonstration : les données de santé chargées sont synthétiques.") : null,
    sourcesList(d.sources),
    h("h3", {}, "Règles de secret statistique"),
    h("ul", {}, d.secrecy_rules.map((r) => h("li", {}, r.text))),
    h("p", { class: "note" }, `Version des données : ${d.data_version}.`),
  ];
}

export class DocDialog {
  constructor(getDiagnosis) {
    this.getDiagnosis = getDiagnosis;
    this.dialog = byId("doc-dialog");
    this.title = byId("doc-title");
    this.body = byId("doc-body");
    this.opener = null;
    for (const button of document.querySelectorAll("[data-doc]")) {
      button.addEventListener("click", () => this.open(button.dataset.doc, button));
    }
    byId("doc-close").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => this.opener?.focus());
    this.dialog.addEventListener("click", (e) => { if (e.target === this.dialog) this.dialog.close(); });
  }

  open(kind, opener) {
    this.opener = opener;
    this.title.textContent = TITLES[kind];
    const d = this.getDiagnosis();
    const content = {
      sigles: () => definitionList(SIGLES),
      structures: () => definitionList(STRUCTURES),
      indicateurs: () => indicators(d),
      donnees: () => vintages(d),
    }[kind]();
    fill(this.body, content);
    this.dialog.showModal();
    this.body.scrollTop = 0;
  }
}
