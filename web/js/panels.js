// The three accordions of the side panel, from one Diagnosis: Population du territoire, Indicateurs missions
// des CPTS (with the ALD picker), Données affinées offre de soins (with the focus pickers).

import { ageChart } from "./charts.js";
import { fill, h } from "./dom.js";
import { count, int } from "./format.js";
import { indicatorBlock, Notes, ratioTable, unlabel } from "./tables.js";

// What "Modifier le focus" shows first: the professions a CPTS project usually starts from.
const DEFAULT_FOCUS = ["mg", "mg_mep", "specialistes", "dentistes", "sages_femmes", "infirmiers", "kines",
  "orthophonistes", "pharmacies"];

export function makeNamer(diagnosis) {
  const byCode = new Map(diagnosis.communes.map((c) => [c.code, c]));
  const counts = new Map();
  for (const c of diagnosis.communes) counts.set(c.nom, (counts.get(c.nom) || 0) + 1);
  return (code) => {
    const c = byCode.get(code);
    if (!c) return code;
    return counts.get(c.nom) > 1 ? `${c.nom} (${c.departement})` : c.nom;
  };
}

function loadingBlock() {
  return h("p", { class: "loading", "aria-busy": "true" }, "Calcul du diagnostic…");
}

export class Panels {
  constructor(root, { onAldChange }) {
    this.root = root;
    this.onAldChange = onAldChange;
    this.bodies = Object.fromEntries([...root.querySelectorAll("[data-panel]")].map((el) => [el.dataset.panel, el]));
    this.focus = new Set(DEFAULT_FOCUS);
    this.allStructures = false;
    this.diagnosis = null;
  }

  loading() {
    for (const body of Object.values(this.bodies)) {
      if (!body.firstChild || !this.diagnosis) fill(body, loadingBlock());
      body.setAttribute("aria-busy", "true");
    }
  }

  error(message) {
    for (const body of Object.values(this.bodies)) {
      body.removeAttribute("aria-busy");
      fill(body, h("p", { class: "error" }, `Diagnostic indisponible : ${message}`));
    }
  }

  show(diagnosis) {
    this.diagnosis = diagnosis;
    const namer = makeNamer(diagnosis);
    // A new diagnosis redraws the panels: keep the pickers that were open and the checkbox that had the focus,
    // so that ticking an ALD (which asks for a new diagnosis) does not throw a keyboard user back to the top.
    const open = new Set([...this.root.querySelectorAll("details.focus-picker[open] > summary")].map((el) => el.textContent));
    const focused = this.root.contains(document.activeElement) && document.activeElement.matches("input[value]")
      ? document.activeElement.value : null;
    for (const body of Object.values(this.bodies)) body.removeAttribute("aria-busy");
    fill(this.bodies.population, this.population(diagnosis, namer));
    fill(this.bodies.missions, this.missions(diagnosis, namer));
    fill(this.bodies.offre, this.offer(diagnosis, namer));
    for (const summary of this.root.querySelectorAll("details.focus-picker > summary")) {
      if (open.has(summary.textContent)) summary.parentElement.open = true;
    }
    if (focused) this.root.querySelector(`input[value="${CSS.escape(focused)}"]`)?.focus();
  }

  population(d, namer) {
    const p = d.population;
    const notes = new Notes(namer);
    const chart = p.age_bands.length ? ageChart(p) : h("p", { class: "empty" }, "Répartition par âge indisponible.");
    if (p.age_bands.some((b) => b.masked)) for (const b of p.age_bands) if (b.masked) notes.secret(b.reason);
    return [
      h("h3", {}, "Répartition des consommateurs par tranche d'âge"),
      chart,
      p.age_comparison ? null : h("p", { class: "note" }, p.age_comparison_reason || "Comparaison au département non affichée : moins de 11 habitants."),
      p.age_neutralised_communes.length
        ? h("p", { class: "note" }, `* Commune(s) neutralisée(s) : ${p.age_neutralised_communes.map(namer).join(", ")}.`) : null,
      notes.render(),
      h("p", { class: "source" }, `Source : ${p.source} (${p.period})`),
      indicatorBlock("ALD et complémentaire santé solidaire", p.indicators, { compact: true }, namer),
    ];
  }

  missions(d, namer) {
    const prev = d.prevalences;
    const requested = new Set(prev.requested.map((i) => i.id));
    const top = new Set(prev.top5.map((i) => i.id));
    const picker = h("details", { class: "focus-picker" },
      h("summary", {}, "Cibler les prévalences"),
      h("p", { class: "hint" }, "Ajoutez au tableau une affection de longue durée qui ne figure pas dans le top 5."),
      h("fieldset", {}, h("legend", { class: "visually-hidden" }, "Affections de longue durée"),
        prev.catalogue.filter((c) => !top.has(c.id)).map((c) => h("label", { class: "check" },
          h("input", { type: "checkbox", value: c.id, checked: requested.has(c.id), onchange: () => this.aldChanged(picker) }),
          ` ${c.label}`))));
    return [
      indicatorBlock("Accès aux soins", d.access, { compact: true }, namer),
      indicatorBlock("Prévalences : top 5 des ALD du territoire", prev.top5, { compact: true }, namer),
      prev.requested.length ? indicatorBlock("Prévalences ciblées", prev.requested, { compact: true }, namer) : null,
      picker,
      indicatorBlock("Prévention", d.prevention, { compact: true }, namer),
      indicatorBlock("Prévention – vaccination", d.vaccination, { compact: true }, namer),
    ];
  }

  aldChanged(picker) {
    const ids = [...picker.querySelectorAll("input:checked")].map((i) => i.value);
    this.onAldChange(ids);
  }

  offer(d, namer) {
    const o = d.offer;
    return [this.demography(o), this.activity(o, namer), this.structures(o)];
  }

  demography(o) {
    const section = h("section", { class: "block" }, h("h3", {}, "Démographie des professionnels de santé libéraux"));
    const table = h("div", {});
    const draw = () => fill(table, demographyTable(o.demography.filter((r) => this.focus.has(r.category))));
    const picker = h("details", { class: "focus-picker" }, h("summary", {}, "Modifier le focus"),
      h("fieldset", {}, h("legend", { class: "visually-hidden" }, "Catégories de professionnels affichées"),
        o.demography.map((r) => h("label", { class: "check" },
          h("input", { type: "checkbox", value: r.category, checked: this.focus.has(r.category), onchange: (e) => {
            if (e.target.checked) this.focus.add(r.category); else this.focus.delete(r.category);
            draw();
          } }), ` ${r.label}`))));
    draw();
    section.append(picker, table, h("p", { class: "source" }, `Source : ${o.demography_source} (${o.demography_period})`));
    return section;
  }

  activity(o, namer) {
    const notes = new Notes(namer);
    return h("section", { class: "block" }, h("h3", {}, "Activité des professionnels"),
      h("p", { class: "hint" }, "Seules comptent, pour chaque profession, les communes où exercent au moins 5 professionnels de cette profession."),
      o.activity.map((p) => h("div", { class: "activity" },
        h("p", { class: "activity-summary" }, h("strong", {}, p.label), ` – ${int(p.n_ps_total)} professionnel(s) ; ${p.summary}`),
        // Scrolls inside the panel on a phone instead of being cut (focusable: the keyboard scrolls it too).
        h("div", { class: "table-wrap", tabindex: "0" }, ratioTable(p, { compact: true, notes })))),
      notes.render(),
      h("p", { class: "source" }, `Source : ${o.activity_source} (${o.activity_period})`));
  }

  structures(o) {
    const section = h("section", { class: "block" }, h("h3", {}, "Structures de soins (FINESS)"));
    const list = h("div", {});
    const draw = () => {
      const groups = o.structures.filter((g) => this.allStructures || g.total > 0 || g.coordinated);
      fill(list, structureTable(groups, "Catégorie"),
        o.centres_de_sante.length ? structureTable(o.centres_de_sante, "Centres de santé par type") : null);
    };
    const toggle = h("label", { class: "check" },
      h("input", { type: "checkbox", checked: this.allStructures, onchange: (e) => { this.allStructures = e.target.checked; draw(); } }),
      " Modifier le focus : afficher toutes les catégories, même absentes du territoire");
    draw();
    section.append(toggle, list, h("p", { class: "source" }, `Source : ${o.structures_source} (${o.structures_period})`));
    return section;
  }
}

export function demographyTable(rows) {
  if (!rows.length) return h("p", { class: "empty" }, "Aucune catégorie choisie : utilisez « Modifier le focus ».");
  // Masked ages span both age columns: one "secret statistique" per row, with its reason on hover.
  const ages = (r) => {
    if (r.is_business) return [h("td", { class: "num", colspan: "2", title: "Non applicable : comptées comme entreprises (officines, laboratoires, sociétés)" }, "–")];
    if (r.ages_status === "sans_objet") return [h("td", { class: "num", colspan: "2", title: r.ages_reason }, "–")];
    if (r.ages_masked) return [h("td", { class: "num", colspan: "2" }, count(null, r.ages_reason))];
    // Ages are counted per commune: "*" when some communes' ages are not (partial, over `ages_n`).
    const star = () => (r.ages_partial ? h("abbr", { title: `Âges comptés sur ${r.ages_n} professionnel(s) : communes neutralisées` }, "*") : null);
    return [h("td", { class: "num" }, int(r.n_60plus), star()), h("td", { class: "num" }, int(r.n_65plus), star())];
  };
  return h("div", {}, h("div", { class: "table-wrap", tabindex: "0" }, h("table", { class: "data compact" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Catégorie"), h("th", { scope: "col", class: "num" }, "Effectif"),
      h("th", { scope: "col", class: "num" }, "+60 ans"), h("th", { scope: "col", class: "num" }, "dont +65 ans"))),
    h("tbody", {}, rows.map((r) => h("tr", { class: r.parent ? "sub-row" : null, dataset: { category: r.category } },
      h("th", { scope: "row" }, r.label),
      h("td", { class: "num" }, int(r.n)),
      ages(r)))))),
    [...new Set(rows.filter((r) => r.ages_masked && !r.is_business && r.ages_status !== "sans_objet").map((r) => r.ages_reason))].map((reason) =>
      h("p", { class: "note secret-note" }, h("strong", {}, "Secret statistique : "), reason ? unlabel(reason) : "moins de 5 professionnels")),
    rows.some((r) => r.is_business) ? h("p", { class: "note" }, "– : âges non applicables aux pharmacies, laboratoires, fournisseurs et transporteurs, comptés comme entreprises.") : null);
}

export function structureTable(groups, title) {
  return h("table", { class: "data compact" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, title), h("th", { scope: "col", class: "num" }, "Sur le territoire"),
      h("th", { scope: "col", class: "num" }, "Sur les communes"))),
    h("tbody", {}, groups.map((g) => h("tr", { dataset: { group: g.key } },
      h("th", { scope: "row" }, g.label),
      h("td", { class: "num" }, int(g.total)),
      h("td", { class: "num" }, int(g.communes.filter((c) => c.n > 0).length))))));
}
