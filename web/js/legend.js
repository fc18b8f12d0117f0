// FINESS groups of the map (keys of ref.finess_groups, as carried by the `finess` tile layer) and the legend
// with one toggle per group. Coordinated-care structures are on by default. Colours are not written here: they
// come from ref.finess_groups through the tiles style (`setColours`, called once the style is loaded).

import { byId, fill, h, s } from "./dom.js";

export const GROUPS = [
  { key: "msp", label: "Maisons de santé pluriprofessionnelles (MSP)", coordinated: true },
  { key: "cds", label: "Centres de santé", coordinated: true },
  { key: "cpts", label: "CPTS (siège)", coordinated: true },
  { key: "ch", label: "Centres hospitaliers" },
  { key: "chr", label: "Centres hospitaliers régionaux / universitaires" },
  { key: "chr_entite", label: "Entités des CHR / CHU" },
  { key: "hl", label: "Hôpitaux de proximité (ex-hôpitaux locaux)" },
  { key: "hia", label: "Hôpitaux des armées" },
  { key: "clinique", label: "Cliniques" },
  { key: "ssr", label: "Établissements privés autorisés en SSR" },
  { key: "dialyse", label: "Centres de dialyse et alternatives" },
  { key: "had", label: "Hospitalisation à domicile (HAD)" },
  { key: "ehpad", label: "EHPAD" },
  { key: "ssiad", label: "SSIAD" },
];

export const GROUP_BY_KEY = new Map(GROUPS.map((g) => [g.key, g]));

export class FinessLegend {
  /** `onChange(enabledKeys, showCpts)` is called whenever a toggle changes. */
  constructor(onChange) {
    this.onChange = onChange;
    this.enabled = new Set(GROUPS.filter((g) => g.coordinated).map((g) => g.key));
    this.showCpts = true;
    this.colours = new Map(); // FINESS group -> colour, from the style
    this.root = byId("finess-legend");
    this.panel = byId("finess-panel");
    this.button = byId("finess-toggle");
    this.button.addEventListener("click", () => {
      const open = this.panel.hidden;
      this.panel.hidden = !open;
      this.button.setAttribute("aria-expanded", String(open));
    });
    this.render();
  }

  render() {
    const item = (g) => h("li", {}, h("label", { class: "check legend-item" },
      h("input", { type: "checkbox", value: g.key, checked: this.enabled.has(g.key), onchange: (e) => {
        if (e.target.checked) this.enabled.add(g.key); else this.enabled.delete(g.key);
        this.onChange(this.enabled, this.showCpts);
      } }),
      s("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true", class: "swatch" },
        s("circle", { cx: 7, cy: 7, r: 5.5, fill: this.colours.get(g.key), stroke: "#ffffff", "stroke-width": 1.5 })),
      ` ${g.label}`));
    fill(this.root,
      h("p", { class: "legend-title" }, "Exercice coordonné"),
      h("ul", { class: "legend-list" }, GROUPS.filter((g) => g.coordinated).map(item)),
      h("p", { class: "legend-title" }, "Autres structures de soins"),
      h("ul", { class: "legend-list" }, GROUPS.filter((g) => !g.coordinated).map(item)),
      h("div", { class: "legend-actions" },
        h("button", { type: "button", class: "button small", onclick: () => this.setAll(true) }, "Tout afficher"),
        h("button", { type: "button", class: "button small", onclick: () => this.setAll(false) }, "Exercice coordonné seul")),
      h("p", { class: "legend-title" }, "Territoires"),
      h("label", { class: "check legend-item" },
        h("input", { type: "checkbox", checked: this.showCpts, onchange: (e) => { this.showCpts = e.target.checked; this.onChange(this.enabled, this.showCpts); } }),
        s("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true", class: "swatch" },
          s("rect", { x: 1.5, y: 1.5, width: 11, height: 11, fill: "none", stroke: "#8e24aa", "stroke-width": 2, "stroke-dasharray": "3 2" })),
        " Périmètres des CPTS existantes"));
  }

  /** Use the colours the map actually draws (read from the style). */
  setColours(colours) {
    for (const [key, colour] of colours) if (typeof colour === "string") this.colours.set(key, colour);
    this.render();
  }

  setAll(all) {
    this.enabled = new Set(GROUPS.filter((g) => all || g.coordinated).map((g) => g.key));
    this.render();
    this.onChange(this.enabled, this.showCpts);
  }
}
