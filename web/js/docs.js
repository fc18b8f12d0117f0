// The documentation dialog: glossaries (sigles, structures, indicateurs) and the data-vintage panel.

import { byId, fill, h } from "./dom.js";
import { SIGLES, STRUCTURES } from "./glossary.js";
import { PAGE_TITLES, pageContent } from "./pages.js";
import { sourcesList } from "./report-view.js";

const TITLES = {
  sigles: "Glossaire des sigles",
  structures: "Glossaire des structures",
  indicateurs: "Glossaire des indicateurs",
  donnees: "Actualisation des données",
  ...PAGE_TITLES,
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

// Before any selection the sources come from /api/v1/meta; the diagnosis, once there, says the same and more.
function vintages(d, meta) {
  const known = d || meta;
  if (!known) return h("p", { class: "empty" }, "Le millésime de chaque source est en cours de chargement : ajoutez une commune à votre projet pour l'afficher avec le diagnostic.");
  return [
    known.demo ? h("p", { class: "demo-inline" }, "Données de démonstration : les données de santé chargées sont synthétiques.") : null,
    sourcesList(known.sources),
    h("h3", {}, "Règles de secret statistique"),
    d ? h("ul", {}, d.secrecy_rules.map((r) => h("li", {}, r.text)))
      : h("p", { class: "empty" }, "Les règles de secret statistique accompagnent le diagnostic : ajoutez une commune à votre projet pour les afficher."),
    // data_version is a hash for caches and URLs: it says nothing to a reader, so it is not shown.
  ];
}

export class DocDialog {
  constructor(getDiagnosis, getMeta = () => null) {
    this.getDiagnosis = getDiagnosis;
    this.getMeta = getMeta;
    this.kind = null;
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
    this.kind = kind;
    this.title.textContent = TITLES[kind];
    this.render();
    this.dialog.showModal();
    this.body.scrollTop = 0;
  }

  render() {
    const d = this.getDiagnosis();
    const page = pageContent(this.kind, d || this.getMeta());
    const content = page ? () => page : {
      sigles: () => definitionList(SIGLES),
      structures: () => definitionList(STRUCTURES),
      indicateurs: () => indicators(d),
      donnees: () => vintages(d, this.getMeta()),
    }[this.kind]();
    fill(this.body, content);
  }

  /** New data to show (the meta answer arrived after the dialog was opened). */
  refresh() {
    if (this.dialog.open && ["donnees", "sources"].includes(this.kind)) this.render();
  }
}
