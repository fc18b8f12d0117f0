// The legend of the FINESS groups, one toggle per group; coordinated-care structures are on by default. No
// group is written here: their keys, labels, sectors and colours are the rows of ref.finess_groups, which the
// tiles style carries in its metadata (`rezone:finess_groups`); the map reads them and calls `setGroups`.

import { byId, fill, h, s } from "./dom.js";

export class FinessLegend {
  /** `onChange(enabledKeys, showCpts)` is called whenever a toggle changes. */
  constructor(onChange) {
    this.onChange = onChange;
    this.groups = []; // ref.finess_groups in legend order, from the style (setGroups)
    this.enabled = new Set();
    this.showCpts = true;
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
        s("circle", { cx: 7, cy: 7, r: 5.5, fill: g.colour, stroke: "#ffffff", "stroke-width": 1.5 })),
      ` ${g.label}`));
    fill(this.root,
      h("p", { class: "legend-title" }, "Exercice coordonné"),
      h("ul", { class: "legend-list" }, this.groups.filter((g) => g.coordinated).map(item)),
      h("p", { class: "legend-title" }, "Autres structures de soins"),
      h("ul", { class: "legend-list" }, this.groups.filter((g) => !g.coordinated).map(item)),
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

  /** The groups the map draws (read from the style), with the coordinated ones switched on. */
  setGroups(groups) {
    this.groups = groups;
    this.setAll(false);
  }

  setAll(all) {
    this.enabled = new Set(this.groups.filter((g) => all || g.coordinated).map((g) => g.key));
    this.render();
    this.onChange(this.enabled, this.showCpts);
  }
}
