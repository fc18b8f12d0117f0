// Commune search: an ARIA 1.2 combobox (input + listbox) with autocomplete by name (with or without its article,
// st/ste, one typo), INSEE, postal or former code, or the name of a commune déléguée. Every option shows the
// département (code and name), so that homonyms such as Saint-Jeannet (04) and (06) are told apart, and how it
// matched when not by its own name (« Seynod », commune déléguée d'Annecy).

import { searchCommunes } from "./api.js";
import { byId, debounce, fill, h, status } from "./dom.js";
import { int } from "./format.js";

const LIMIT = 12;

/** How an option matched when not by its own name: « commune déléguée d'Annecy », « code postal 13100 »… */
function matchText(hit) {
  return hit.match.type === "ancien_code" ? hit.match.texte : hit.match.texte.replace(/^./, (c) => c.toUpperCase());
}

export class CommuneSearch {
  /** `onPick(hit)` returns a short French message saying what happened (added, already there, limit). */
  constructor(selection, onPick) {
    this.selection = selection;
    this.onPick = onPick;
    this.input = byId("search-input");
    this.list = byId("search-results");
    this.statusEl = byId("feedback");
    this.hits = [];
    this.active = -1;
    this.drawnChosen = "";
    this.controller = null;
    this.run = debounce(() => this.query(), 150);
    this.input.addEventListener("input", () => {
      this.list.setAttribute("aria-busy", "true"); // until the answer for what is typed now has arrived
      this.run();
    });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.input.addEventListener("focus", () => { if (this.hits.length) this.open(); });
    // Keep the focus in the input when an option is clicked, so that typing can go on.
    this.list.addEventListener("mousedown", (e) => e.preventDefault());
    this.list.addEventListener("click", (e) => {
      const li = e.target.closest("li[role=option]");
      if (li) this.pick(Number(li.dataset.index));
    });
    // A restored selection gets its names and positions commune by commune, each a change: the options are
    // redrawn only when one's « déjà dans le projet » changes, since a click whose press and release land on
    // two different drawings of an option reaches the list, not the option, and is lost.
    selection.addEventListener("change", () => {
      if (!this.list.hidden && this.chosenKey() !== this.drawnChosen) this.render();
    });
  }

  focus() {
    this.input.focus();
  }

  async query() {
    const q = this.input.value.trim();
    this.controller?.abort();
    if (q.length < 2 && !/^\d/.test(q)) {
      this.hits = [];
      this.close();
      this.list.removeAttribute("aria-busy");
      status(this.statusEl, "");
      return;
    }
    this.controller = new AbortController();
    try {
      const result = await searchCommunes(q, LIMIT, this.controller.signal);
      // Keep the highlighted commune highlighted when a newer answer still contains it.
      const current = this.hits[this.active]?.code;
      this.hits = result.results;
      const kept = this.hits.findIndex((hit) => hit.code === current);
      this.active = kept >= 0 ? kept : this.hits.length ? 0 : -1;
      this.list.removeAttribute("aria-busy");
      this.render();
      this.open();
      status(this.statusEl, this.hits.length
        ? `${this.hits.length} commune(s) trouvée(s). Flèches pour parcourir, Entrée pour ajouter.`
        : `Aucune commune ne correspond à « ${q} ».`);
    } catch (err) {
      if (err?.name === "AbortError") return;
      this.list.removeAttribute("aria-busy");
      this.hits = [];
      this.close();
      status(this.statusEl, `Recherche impossible : ${err.message}`, "error");
    }
  }

  chosenKey() {
    return this.hits.map((hit) => (this.selection.has(hit.code) ? "1" : "0")).join("");
  }

  render() {
    this.drawnChosen = this.chosenKey();
    const homonyms = new Map();
    for (const hit of this.hits) homonyms.set(hit.nom, (homonyms.get(hit.nom) || 0) + 1);
    fill(this.list, this.hits.map((hit, i) => {
      const chosen = this.selection.has(hit.code);
      const twin = homonyms.get(hit.nom) > 1;
      return h("li", {
        role: "option", id: `search-option-${i}`, "aria-selected": i === this.active ? "true" : "false",
        "aria-disabled": hit.selectable ? null : "true", dataset: { index: String(i), code: hit.code },
        class: ["option", i === this.active && "active", chosen && "chosen"],
      },
      h("span", { class: "option-name" }, hit.match?.nom && hit.match.type !== "ancien_code" ? hit.match.nom : hit.nom),
      h("span", { class: ["option-dep", twin && "twin"] }, ` ${hit.departement.code} – ${hit.departement.nom}`),
      h("span", { class: "option-meta" },
        hit.match ? `${matchText(hit)} · ` : "",
        `code ${hit.code}`,
        hit.population !== null && hit.population !== undefined ? ` · ${int(hit.population)} hab.` : "",
        !hit.selectable ? " · sélection par arrondissement" : "",
        chosen ? " · déjà dans le projet" : "",
        hit.cpts ? ` · dans la CPTS ${hit.cpts.nom}` : ""));
    }));
    if (this.active >= 0) {
      this.input.setAttribute("aria-activedescendant", `search-option-${this.active}`);
      this.list.children[this.active]?.scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  }

  open() {
    if (!this.hits.length) return;
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  move(delta) {
    if (!this.hits.length) return;
    this.open();
    this.active = (this.active + delta + this.hits.length) % this.hits.length;
    this.render();
  }

  onKey(e) {
    if (e.key === "ArrowDown") { e.preventDefault(); this.move(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); this.move(-1); }
    else if (e.key === "Enter") {
      e.preventDefault();
      if (this.active >= 0 && !this.list.hidden) this.pick(this.active);
    } else if (e.key === "Escape") {
      if (!this.list.hidden) { e.preventDefault(); this.close(); }
    }
  }

  async pick(index) {
    const hit = this.hits[index];
    if (!hit) return;
    if (!hit.selectable) {
      const list = hit.arrondissements?.length ? ` (${hit.arrondissements.length} arrondissements)` : "";
      status(this.statusEl, `${hit.nom} se sélectionne par arrondissement${list} : tapez par exemple « ${hit.nom} 1er ».`, "warning");
      return;
    }
    const message = await this.onPick(hit);
    status(this.statusEl, message.text, message.kind);
    if (message.kind !== "error") {
      this.input.value = "";
      this.hits = [];
      this.close();
    }
  }
}
