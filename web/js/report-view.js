// "Rapport dynamique": the whole diagnosis as one readable HTML page (what the PDF prints, on screen).

import { ageChart } from "./charts.js";
import { fill, h } from "./dom.js";
import { cptsStatus, int, populationText } from "./format.js";
import { demographyTable, makeNamer, structureTable } from "./panels.js";
import { indicatorBlock, Notes, ratioTable } from "./tables.js";

const DATE = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long" });

function territoryTable(d) {
  const byCode = new Map(d.communes.map((c) => [c.code, c]));
  const t = d.territory;
  const rows = [];
  for (const dep of t.departements) {
    rows.push(h("tr", { class: "group-row" }, h("th", { scope: "rowgroup", colspan: "6" }, `${dep.nom} (${dep.code})`)));
    for (const code of dep.communes) {
      const c = byCode.get(code);
      if (!c) continue;
      rows.push(h("tr", { dataset: { code } },
        h("th", { scope: "row" }, c.nom),
        h("td", {}, c.code),
        h("td", { class: "num" }, c.population === null ? "inconnue" : int(c.population)),
        h("td", { class: "num" }, int(c.qpv_count)),
        h("td", {}, c.zonage || "–"),
        h("td", {}, c.cpts ? `${c.cpts.nom} (${cptsStatus(c.cpts.statut)})` : "–")));
    }
  }
  return h("div", { class: "table-wrap", tabindex: "0" }, h("table", { class: "data territory" },
    h("thead", {}, h("tr", {}, ["Commune", "Code commune", "Population", "QPV", "Zonage médecin (ZIP / ZAC)", "CPTS existante"]
      .map((label, i) => h("th", { scope: "col", class: i === 2 || i === 3 ? "num" : null }, label)))),
    h("tbody", {}, rows),
    h("tfoot", {}, h("tr", {},
      h("th", { scope: "row" }, "Totaux"),
      h("td", {}, `${t.commune_count} commune(s)`),
      h("td", { class: "num" }, populationText(t.population, t.population_partial)),
      h("td", { class: "num" }, `${int(t.qpv_count)} QPV`),
      h("td", {}, `${t.zonage_count} sur ${t.commune_count}`),
      h("td", {}, "")))));
}

export function renderReport(root, d, { onPdf } = {}) {
  const namer = makeNamer(d);
  const t = d.territory;
  const several = t.departements.length > 1 || t.regions.length > 1;
  const offerNotes = new Notes(namer);
  fill(root,
    h("header", { class: "report-head" },
      h("h2", {}, "Rapport sur votre projet de communauté professionnelle territoriale de santé"),
      h("p", {}, `Généré en ligne le ${DATE.format(new Date())} – ${t.commune_count} commune(s), ${populationText(t.population, t.population_partial)}.`),
      d.demo ? h("p", { class: "demo-inline" }, "Données de démonstration : les chiffres de santé de ce rapport sont synthétiques.") : null,
      onPdf ? h("button", { type: "button", class: "button primary", onclick: onPdf }, "Télécharger ce rapport en PDF") : null),

    h("section", { class: "report-section" },
      h("h2", {}, "I – Le territoire"),
      h("p", {}, "Les indicateurs ci-après identifient les spécificités du territoire et les caractéristiques essentielles de sa population. Les indicateurs calculés sur la population consommante ne retiennent que les communes comptant au moins 50 consommateurs."),
      territoryTable(d),
      h("p", { class: "note" }, `* Plusieurs communes peuvent se partager un même quartier prioritaire de la ville (QPV) : ${int(t.qpv_count)} QPV distinct(s) pour ${int(t.qpv_commune_sum)} rattachement(s) aux communes.`),
      several ? h("p", { class: "note" }, "La CPTS est composée de communes appartenant à plusieurs départements et/ou régions : les comparaisons affichées sont pondérées par la part du territoire dans chacun.") : null,
      d.alerts.length ? h("ul", { class: "report-alerts" }, d.alerts.map((a) => h("li", {}, a.message))) : null,
      h("h3", {}, "Population"),
      ageChart(d.population),
      d.population.age_comparison ? null : h("p", { class: "note" }, d.population.age_comparison_reason || ""),
      indicatorBlock("ALD et complémentaire santé solidaire", d.population.indicators, { definitions: true }, namer)),

    h("section", { class: "report-section" },
      h("h2", {}, "II – Indicateurs missions des CPTS"),
      h("p", {}, "Au titre des missions dévolues aux CPTS figurent l'amélioration de l'accès aux soins, l'organisation de parcours pluriprofessionnels et le développement d'actions territoriales de prévention. Les ratios et dénombrements ne sont affichés que si la population ciblée compte au moins 11 individus statistiques."),
      indicatorBlock("Accès aux soins", d.access, { definitions: true }, namer),
      indicatorBlock("Parcours : prévalence des ALD (top 5 du territoire)", d.prevalences.top5, { definitions: true }, namer),
      d.prevalences.requested.length ? indicatorBlock("Prévalences ciblées", d.prevalences.requested, { definitions: true }, namer) : null,
      indicatorBlock("Prévention", d.prevention, { definitions: true }, namer),
      indicatorBlock("Prévention – vaccination", d.vaccination, { definitions: true }, namer)),

    h("section", { class: "report-section" },
      h("h2", {}, "III – Offre de soins"),
      h("h3", {}, "Démographie des professionnels de santé libéraux"),
      demographyTable(d.offer.demography),
      h("p", { class: "source" }, `Source : ${d.offer.demography_source} (${d.offer.demography_period})`),
      h("h3", {}, "Activité des professionnels"),
      h("p", {}, "Pour chaque profession, seules comptent les communes où exercent au moins 5 professionnels de cette profession ; les autres sont neutralisées."),
      d.offer.activity.map((p) => activityBlock(p, namer, offerNotes)),
      offerNotes.render(),
      h("p", { class: "source" }, `Source : ${d.offer.activity_source} (${d.offer.activity_period})`),
      h("h3", {}, "Structures de soins"),
      structureTable(d.offer.structures, "Catégorie"),
      structuresByCommune(d.offer.structures),
      d.offer.centres_de_sante.length ? structureTable(d.offer.centres_de_sante, "Centres de santé par type") : null,
      h("p", { class: "source" }, `Source : ${d.offer.structures_source} (${d.offer.structures_period})`)),

    h("section", { class: "report-section" },
      h("h2", {}, "Méthodologie et secret statistique"),
      h("ul", {}, d.secrecy_rules.map((r) => h("li", {}, r.text))),
      h("h3", {}, "Sources et millésimes"),
      sourcesList(d.sources)));
}

function activityBlock(p, namer, notes) {
  return h("div", { class: "activity" },
    h("h4", {}, p.label),
    h("p", {}, p.summary),
    h("div", { class: "table-wrap", tabindex: "0" }, h("table", { class: "data compact per-commune" },
      h("caption", {}, `Professionnels par commune – ${p.label}`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Commune"), h("th", { scope: "col", class: "num" }, "Professionnels"), h("th", { scope: "col" }, "Pris en compte"))),
      h("tbody", {}, p.communes.map((c) => h("tr", {},
        h("th", { scope: "row" }, namer(c.code)),
        h("td", { class: "num" }, int(c.n_ps)),
        h("td", {}, c.n_ps === 0 ? "sans activité" : c.counted ? "oui" : "non (moins de 5)")))))),
    h("div", { class: "table-wrap", tabindex: "0" }, ratioTable(p, { notes })));
}

function structuresByCommune(groups) {
  const present = groups.filter((g) => g.total > 0);
  if (!present.length) return h("p", { class: "empty" }, "Aucune structure FINESS sur le territoire.");
  return h("ul", { class: "structure-communes" }, present.map((g) => h("li", {},
    h("strong", {}, `${g.label} : `),
    g.communes.filter((c) => c.n > 0).map((c) => `${c.nom} (${int(c.n)})`).join(", "))));
}

// The part of the diagnosis each source feeds, in words (ref.data_sources.block holds the internal key).
const BLOCKS = {
  population: "Population",
  territoire: "Territoire (zonages, QPV, CPTS)",
  indicateurs: "Indicateurs des missions",
  offre: "Démographie des professionnels",
  activite: "Activité des professionnels",
  structures: "Structures de soins",
};

export function sourcesList(sources) {
  return h("div", { class: "table-wrap", tabindex: "0" }, h("table", { class: "data compact" },
    h("caption", { class: "visually-hidden" }, "Sources des données et millésimes"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Partie du diagnostic"), h("th", { scope: "col" }, "Source"), h("th", { scope: "col" }, "Millésime"))),
    h("tbody", {}, sources.map((src) => h("tr", {},
      h("th", { scope: "row" }, BLOCKS[src.block] || "Autres données"),
      h("td", {}, src.label, src.is_demo ? h("span", { class: "badge demo" }, "données de démonstration") : null),
      h("td", {}, src.vintage))))));
}

export function emptyReport(root) {
  fill(root, h("div", { class: "empty-view" },
    h("h2", {}, "Rapport dynamique"),
    h("p", {}, "Ajoutez au moins une commune à votre projet pour afficher le rapport : territoire, population, indicateurs des missions et offre de soins.")));
}

