// The summary bar: "N habitants – N prof. de santé libéraux – N structure(s) de soins", with the four families
// of professionals on demand.

import { byId, fill, h } from "./dom.js";
import { int, populationText } from "./format.js";

export class SummaryBar {
  constructor() {
    this.line = byId("summary-line");
    this.toggle = byId("summary-toggle");
    this.families = byId("summary-families");
    this.toggle.addEventListener("click", () => {
      const open = this.toggle.getAttribute("aria-expanded") !== "true";
      this.toggle.setAttribute("aria-expanded", String(open));
      this.families.hidden = !open;
    });
  }

  empty() {
    this.line.textContent = "Aucune commune sélectionnée";
    this.line.dataset.state = "empty";
    this.toggle.hidden = true;
    this.families.hidden = true;
    this.toggle.setAttribute("aria-expanded", "false");
  }

  loading() {
    this.line.dataset.state = "loading";
    this.line.setAttribute("aria-busy", "true");
  }

  error(message) {
    this.line.removeAttribute("aria-busy");
    this.line.dataset.state = "error";
    this.line.textContent = `Chiffres indisponibles : ${message}`;
  }

  show(summary) {
    this.line.removeAttribute("aria-busy");
    this.line.dataset.state = "ready";
    const population = populationText(summary.population, summary.population_partial);
    fill(this.line,
      h("strong", {}, population), " – ",
      h("strong", {}, `${int(summary.professionals)} prof. de santé libéraux`), " – ",
      h("strong", {}, `${int(summary.structures)} structure(s) de soins`));
    if (summary.population_partial && summary.population) {
      this.line.append(h("span", { class: "hint" }, " (* population inconnue pour une partie des communes)"));
    }
    fill(this.families, summary.families.map((f) => h("li", {}, h("strong", {}, int(f.n)), ` ${f.label}`)));
    this.toggle.hidden = !summary.families.length;
    this.families.hidden = this.toggle.getAttribute("aria-expanded") !== "true";
  }
}
