// The original's user guide, built in: a five-step tour shown on the first visit, dismissed for good
// (localStorage), and opened again from the header's help button. A modal <dialog> keeps the focus inside,
// Escape closes it, the focus goes back where it was.

import { byId, fill, h } from "./dom.js";

const SEEN_KEY = "rezone.visite-guidee"; // localStorage: "vue" once dismissed or finished

const STEPS = [
  { target: "search-input", title: "Composer le territoire",
    text: "Saisissez le nom ou le code INSEE d'une commune dans la recherche, ou cliquez directement sur la carte pour l'ajouter ; un second clic la retire." },
  { target: "selection", title: "Les communes du projet",
    text: "Chaque commune choisie apparaît sous forme d'étiquette, regroupée par département : le bouton ✕ la retire. Les chiffres se mettent à jour d'eux-mêmes, sans bouton « Valider »." },
  { target: "panels", title: "Le diagnostic",
    text: "Les volets « Population du territoire », « Indicateurs missions des CPTS » et « Données affinées offre de soins » détaillent le territoire, comparé au département, à la région et à la France." },
  { target: "tab-rapport", title: "Le rapport",
    text: "L'onglet « Rapport dynamique » réunit tout le diagnostic sur une page ; « Rapport PDF » le télécharge, « Exporter les communes (CSV) » fournit la liste pour un tableur." },
  { target: "save-project", title: "Sauvegarder et partager",
    text: "« Sauvegarder » enregistre un fichier de projet à réimporter plus tard ; « Copier le lien de partage » donne une adresse qui rouvre la même sélection. « Comparer deux périmètres » met une variante à côté du projet." },
];

function storage() {
  try { return window.localStorage; } catch { return null; } // blocked storage: the tour shows each visit
}

export class Tour {
  constructor(opener) {
    this.opener = opener;
    this.step = 0;
    this.dialog = h("dialog", { id: "tour-dialog", class: "doc-dialog tour-dialog", "aria-labelledby": "tour-title", "aria-describedby": "tour-text" });
    document.body.append(this.dialog);
    // Escape (cancel) or the ✕ ends the tour just like « Passer la visite ».
    this.dialog.addEventListener("close", () => this.closed());
    opener.addEventListener("click", () => this.open(0));
  }

  get seen() {
    return storage()?.getItem(SEEN_KEY) === "vue";
  }

  /** First visit: show the tour once the page is wired. */
  maybeShow() {
    if (this.seen) return;
    this.open(0);
    this.returnTo = byId("search-input"); // where a first visitor starts
  }

  open(step) {
    this.returnTo = document.activeElement instanceof HTMLElement && document.activeElement !== document.body
      ? document.activeElement : this.opener;
    this.step = step;
    this.draw();
    if (!this.dialog.open) this.dialog.showModal();
    this.dialog.querySelector("[data-tour-primary]").focus();
  }

  draw() {
    const step = STEPS[this.step];
    const last = this.step === STEPS.length - 1;
    for (const el of document.querySelectorAll(".tour-target")) el.classList.remove("tour-target");
    const target = document.getElementById(step.target);
    if (target && target.offsetParent !== null) {
      target.classList.add("tour-target");
      target.scrollIntoView({ block: "nearest" });
    }
    this.dialog.dataset.step = String(this.step + 1);
    fill(this.dialog,
      h("div", { class: "dialog-head" },
        h("h2", { id: "tour-title" }, h("span", { class: "tour-count" }, `Étape ${this.step + 1} sur ${STEPS.length} – `), step.title),
        h("button", { type: "button", class: "icon-button", "aria-label": "Fermer la visite guidée", onclick: () => this.dialog.close() }, "✕")),
      h("div", { class: "dialog-body" },
        h("p", { id: "tour-text" }, step.text),
        h("ol", { class: "tour-dots", "aria-hidden": "true" }, STEPS.map((_, i) => h("li", { class: i === this.step ? "current" : null }))),
        h("div", { class: "actions tour-actions" },
          this.step > 0 ? h("button", { type: "button", class: "button secondary", onclick: () => this.go(-1) }, "Précédent") : null,
          h("button", { type: "button", class: "button primary", "data-tour-primary": "", onclick: () => (last ? this.dialog.close() : this.go(1)) },
            last ? "Terminer la visite" : "Suivant"),
          last ? null : h("button", { type: "button", class: "button tertiary", onclick: () => this.dialog.close() }, "Passer la visite"))));
  }

  go(delta) {
    this.step = Math.max(0, Math.min(STEPS.length - 1, this.step + delta));
    this.draw();
    this.dialog.querySelector("[data-tour-primary]").focus();
  }

  closed() {
    try { storage()?.setItem(SEEN_KEY, "vue"); } catch { /* storage full or blocked: nothing to remember */ }
    for (const el of document.querySelectorAll(".tour-target")) el.classList.remove("tour-target");
    (this.returnTo?.isConnected ? this.returnTo : byId("search-input")).focus();
  }
}
