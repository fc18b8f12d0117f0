// Wiring: one Selection store; every view listens to it. Summary and diagnosis are fetched (debounced, the
// previous request aborted) after each change; names and positions of restored communes come from the API.

import * as api from "./api.js";
import { byId, debounce, fill, h, status } from "./dom.js";
import { Compare } from "./compare.js";
import { DocDialog } from "./docs.js";
import { Downloads, runImport } from "./downloads.js";
import { renderFurther } from "./further.js";
import { setupHeaderMenu } from "./header-menu.js";
import { FinessLegend } from "./legend.js";
import { Panels } from "./panels.js";
import { emptyReport, renderReport } from "./report-view.js";
import { CommuneSearch } from "./search.js";
import { SelectionView } from "./selection-view.js";
import { setupSheet } from "./sheet.js";
import { communeLabel, readLocation, Selection, shareUrl, writeLocation } from "./state.js";
import { SummaryBar } from "./summary.js";
import { partOf, territoryParts } from "./parts.js";
import { setupTabs } from "./tabs.js";
import { Tour } from "./tour.js";

const DETAIL_CONCURRENCY = 4;
const TITLE = document.title;

const selection = new Selection();
const initial = readLocation();
// Search, map clicks and selection changes all speak through one live region (always visible, never stale).
const selectionStatus = byId("feedback");
const mapStatus = byId("map-status");
let mapView = initial.view;
let diagnosis = null;
let meta = null; // /api/v1/meta: demo flag and sources before any selection
let ald = [];
let refreshController = null;

const summaryBar = new SummaryBar();
const panels = new Panels(byId("panels"), { onAldChange: (ids) => { ald = ids; refresh(); } });
const selectionView = new SelectionView(selection, { onRemove: (code) => removeCommune(code) });
const downloads = new Downloads(selection);
const docDialog = new DocDialog(() => diagnosis, () => meta);
const showTab = setupTabs(document.querySelector("[role=tablist]"), (id) => {
  if (id === "tab-carte") withMap((m) => m.resize());
});

// MapLibre (1.1 MB of JavaScript) is imported once the page is wired, so that a restored selection asks for
// its figures while the map engine is still being fetched and compiled; map calls made meanwhile are replayed.
let mapInstance = null;
const mapQueue = [];
function withMap(fn) {
  if (mapInstance) return fn(mapInstance);
  mapQueue.push(fn);
  return false;
}

new Compare(selection, { onReference: (codes) => withMap((m) => m.setReference(codes)) });
const tour = new Tour(byId("tour-open"));
setupHeaderMenu(byId("header-menu"), byId("header-links"));
const sheet = setupSheet(byId("sidebar"), byId("panel-toggle"), byId("sheet-handle"),
  document.querySelector(".tabs-bar"), () => withMap((m) => m.resize()));

const legend = new FinessLegend((enabled, showCpts) => withMap((m) => m.setFiness(enabled, showCpts)));

import("./map.js").then(({ RezoneMap }) => {
  mapInstance = new RezoneMap(byId("map"), {
    view: initial.view,
    onCommuneClick: (entry) => {
      const outcome = selection.toggle(entry);
      const label = `${entry.nom} (${entry.departement.code})`;
      const text = { added: `${label} ajoutée au projet.`, removed: `${label} retirée du projet.`,
        limit: limitMessage() }[outcome];
      status(selectionStatus, text, outcome === "limit" ? "warning" : "info");
    },
    onStatus: (text, kind) => status(mapStatus, text, kind),
    onMove: (view) => { mapView = view; writeLocation(selection.codes, mapView); },
    onReady: (groups) => legend.setGroups(groups),
  });
  mapInstance.setFiness(legend.enabled, legend.showCpts);
  mapInstance.setSelection(selection.entries);
  for (const fn of mapQueue.splice(0)) fn(mapInstance);
}).catch((err) => {
  byId("map").dataset.state = "error";
  status(mapStatus, `La carte n'a pas pu être chargée : ${err.message}`, "error");
});

function limitMessage() {
  return `Limite de ${selection.limit} communes atteinte : retirez une commune avant d'en ajouter une autre.`;
}

const search = new CommuneSearch(selection, async (hit) => {
  const entry = { code: hit.code, nom: hit.nom, departement: hit.departement, cpts: hit.cpts || null };
  toReveal.add(hit.code);
  const outcome = selection.add(entry);
  if (outcome === "present") return { text: `${communeLabel(entry)} fait déjà partie du projet.`, kind: "info" };
  if (outcome === "limit") return { text: limitMessage(), kind: "error" };
  return { text: `${communeLabel(entry)} ajoutée au projet (${selection.size} commune(s)).`, kind: "success" };
});

// Removals found while restoring a selection arrive one by one: gather them in one message instead of
// letting each overwrite the previous.
let lastNotice = 0;
function notice(text) {
  const now = Date.now();
  const keep = now - lastNotice < 3000 && selectionStatus.dataset.kind === "warning" ? `${selectionStatus.textContent} ` : "";
  lastNotice = now;
  status(selectionStatus, keep + text, "warning");
}

// Codes of merged communes (shared link, old project file, API answer) come with the commune that absorbed them:
// say so and let the user accept the replacement in one click. `successors`: old code -> {code, message}.
function offerSuccessors(successors, intro = "") {
  const list = Object.values(successors || {});
  if (!list.length) return false;
  const codes = [...new Set(list.map((s) => s.code))];
  const button = h("button", { type: "button", class: "link-button", id: "accept-successors", onclick: () => {
    let added = 0;
    for (const code of codes) if (selection.add({ code }) === "added") added += 1;
    status(selectionStatus, `${added} commune(s) ajoutée(s) en remplacement.`, "success");
  } }, codes.length > 1 ? `Remplacer par ces ${codes.length} communes`
    : `Remplacer par ${list[0].nom ? `${list[0].nom} (${list[0].code})` : list[0].code}`);
  fill(selectionStatus, `${intro}${list.map((s) => s.message).join(" ; ")}. `, button);
  selectionStatus.dataset.kind = "warning";
  return true;
}

function removeCommune(code) {
  const entry = selection.get(code);
  if (selection.remove(code)) status(selectionStatus, `${entry ? communeLabel(entry) : code} retirée du projet.`);
}

// Names, départements and positions of communes added by code (URL, import, map click) ------------------------

const detailQueue = [];
const afterDiagnosis = new Set(); // restored communes whose positions are fetched once the diagnosis is there
const toReveal = new Set(); // communes added by search: shown on the map once their position is known
let detailRunning = 0;

function queueDetails(codes) {
  for (const code of codes) if (!detailQueue.includes(code)) detailQueue.push(code);
  while (detailRunning < DETAIL_CONCURRENCY && detailQueue.length) loadDetail(detailQueue.shift());
}

async function loadDetail(code) {
  detailRunning += 1;
  try {
    if (!selection.has(code)) return;
    const d = await api.commune(code);
    if (d.selectable === false) {
      selection.remove(code);
      notice(`${d.nom} se sélectionne par arrondissement : ajoutez les arrondissements voulus avec la recherche.`);
      return;
    }
    selection.update(code, { nom: d.nom, departement: d.departement, cpts: d.cpts || null, center: d.center, bbox: d.bbox });
    if (toReveal.delete(code)) withMap((m) => m.reveal(selection.get(code), partOf(selection.entries, code)));
  } catch (err) {
    if (err.status === 404 || err.code === "unknown_commune") {
      selection.remove(code);
      if (!offerSuccessors(err.problem.successors, "Retiré du projet : ")) {
        notice(`Le code commune ${code} n'existe pas (ou plus) dans le code officiel géographique : retiré du projet.`);
      }
    }
  } finally {
    detailRunning -= 1;
    queueDetails([]);
  }
}

// Summary and diagnosis --------------------------------------------------------------------------------------

const sameCodes = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

const refresh = debounce(async () => {
  refreshController?.abort();
  const codes = selection.codes;
  if (!codes.length) return;
  const controller = new AbortController();
  refreshController = controller;
  summaryBar.loading();
  panels.loading();
  byId("report-view").setAttribute("aria-busy", "true");
  const summaryJob = api.summary(codes, controller.signal).then((sum) => {
    if (!controller.signal.aborted) { summaryBar.show(sum); showDemo(sum.demo); }
  }).catch((err) => { if (err?.name !== "AbortError") summaryBar.error(err.message); });
  try {
    const d = await api.diagnosis(codes, ald, controller.signal);
    if (controller.signal.aborted || !sameCodes(codes, selection.codes)) return;
    diagnosis = d;
    showDiagnosis(d);
    releaseDetails();
    byId("report-view").removeAttribute("aria-busy");
  } catch (err) {
    if (err?.name === "AbortError") return;
    const refused = err.code === "unknown_commune" ? err.problem.unknown : err.code === "plm_parent" ? err.problem.parents : null;
    if (refused?.length) {
      for (const code of refused) selection.remove(code);
      if (!offerSuccessors(err.problem.successors, "Retiré(s) du projet : ")) {
        notice(`${err.message} : ${refused.join(", ")} retiré(s) du projet.`);
      }
      return;
    }
    releaseDetails();
    panels.error(err.message);
    byId("report-view").removeAttribute("aria-busy");
    status(selectionStatus, `Le diagnostic n'a pas pu être calculé : ${err.message}`, "error");
  }
  await summaryJob;
}, 250);

function showDemo(demo) {
  byId("demo-banner").hidden = !demo;
}

function releaseDetails() {
  const codes = [...afterDiagnosis].filter((c) => selection.has(c) && !selection.get(c).bbox);
  afterDiagnosis.clear();
  queueDetails(codes);
}

function showDiagnosis(d) {
  showDemo(d.demo);
  panels.show(d);
  selectionView.setServerAlerts(d.alerts);
  renderReport(byId("report-view"), d, { onPdf: () => downloads.pdf() });
  renderFurther(byId("further-view"), d);
  // Communes restored by code get their names from the diagnosis as soon as it is there.
  const deps = new Map(d.territory.departements.map((g) => [g.code, g.nom]));
  for (const c of d.communes) {
    const entry = selection.get(c.code);
    if (entry?.pending || (entry && !entry.departement?.nom)) {
      selection.update(c.code, { nom: c.nom, departement: { code: c.departement, nom: deps.get(c.departement) || c.departement },
        cpts: c.cpts || null });
    }
  }
}

// Reacting to the selection ----------------------------------------------------------------------------------

selection.addEventListener("change", (e) => {
  const { reason, codes } = e.detail;
  const n = selection.size;
  selectionView.render();
  if (mapInstance) mapInstance.setSelection(selection.entries); // else drawn when the map is created
  writeLocation(selection.codes, mapView);
  document.title = n ? `Projet de CPTS sur ${n} commune(s) – Rézone CPTS` : TITLE;
  byId("start").hidden = n > 0;
  byId("selection").hidden = n === 0;
  byId("panels").hidden = n === 0;
  byId("downloads").hidden = n === 0;
  byId("zoom-selection").disabled = n === 0;
  if (reason === "update") return;
  byId("zoom-parts").hidden = true; // its buttons framed the previous selection
  if (reason === "add") queueDetails(codes.filter((c) => !selection.get(c)?.bbox));
  // A restored selection can hold 100 communes: its names come with the diagnosis, so the positions (one
  // request per commune) wait for it and do not eat the rate-limit budget before the figures.
  if (reason === "restore" || reason === "import") for (const c of codes) afterDiagnosis.add(c);
  selectionView.setServerAlerts(null);
  if (n === 0) {
    refresh.cancel();
    refreshController?.abort();
    diagnosis = null;
    summaryBar.empty();
    emptyReport(byId("report-view"));
    renderFurther(byId("further-view"), null);
  } else {
    refresh();
  }
});

// Buttons ----------------------------------------------------------------------------------------------------

byId("start-add").addEventListener("click", () => { sheet.open(); search.focus(); });

byId("reset-selection").addEventListener("click", () => {
  const previous = selection.entries;
  selection.clear();
  const undo = h("button", { type: "button", class: "link-button", onclick: () => {
    selection.replace(previous, "restore");
    status(selectionStatus, `Sélection rétablie (${previous.length} commune(s)).`, "success");
  } }, "Annuler");
  fill(selectionStatus, `Sélection réinitialisée (${previous.length} commune(s) retirée(s)). `, undo);
  search.focus();
});

byId("save-project").addEventListener("click", () => downloads.saveProject(selectionStatus));

byId("share-link").addEventListener("click", async () => {
  const url = shareUrl(selection.codes);
  try {
    await navigator.clipboard.writeText(url);
    status(selectionStatus, "Lien de partage copié : il restaure cette sélection dans n'importe quel navigateur.", "success");
  } catch {
    const field = h("input", { type: "text", readonly: true, value: url, class: "share-field", "aria-label": "Lien de partage" });
    fill(selectionStatus, "Copiez ce lien de partage : ", field);
    field.select();
  }
});

// A territory in several far-apart pieces (974 + 93, 04 + 78): fit the largest piece, offer the others.
function zoomToSelection() {
  const parts = territoryParts(selection.entries);
  const box = byId("zoom-parts");
  box.hidden = parts.length < 2;
  fill(box, parts.length < 2 ? null : [h("span", { class: "zoom-parts-label" }, "Autres parties du territoire :"),
    parts.slice(1).map((p) => h("button", { type: "button", class: "button small", onclick: () => withMap((m) => m.zoomTo(p.entries)) },
      `${p.label} (${p.entries.length})`))]);
  return parts.length ? withMap((m) => m.zoomTo(parts[0].entries)) : false;
}

byId("zoom-selection").addEventListener("click", () => {
  showTab("tab-carte");
  if (!zoomToSelection()) status(mapStatus, "Carte ou position des communes en cours de chargement…");
});

byId("import-file").addEventListener("change", (e) => {
  byId("import-filename").textContent = e.target.files[0]?.name || "aucun fichier choisi";
});

byId("import-button").addEventListener("click", async () => {
  const input = byId("import-file");
  const importStatus = byId("import-status");
  status(importStatus, "Lecture du projet…");
  try {
    const result = await runImport(input.files[0]);
    const merged = Object.keys(result.successors).length;
    if (!result.communes.length && !merged) throw new Error("le fichier ne contient aucune commune valide");
    if (result.name) byId("project-name").value = result.name;
    selection.replace(result.communes, "import");
    const more = result.problems.length ? ` À vérifier : ${result.problems.join(" ; ")}.` : "";
    const summary = `Projet importé : ${selection.size} commune(s).${more} ${result.notes.join(" ")}`.trim();
    if (!offerSuccessors(result.successors, `${summary} `)) {
      status(selectionStatus, summary, result.problems.length ? "warning" : "success");
    }
    status(importStatus, "");
    input.value = "";
    byId("import-filename").textContent = "aucun fichier choisi";
    setTimeout(zoomToSelection, 800);
  } catch (err) {
    status(importStatus, `Import impossible : ${err.message}`, "error");
  }
});

document.querySelector(".skip-link").addEventListener("click", (e) => {
  e.preventDefault(); // a plain #anchor would overwrite the shareable hash
  search.focus();
});

// A shared link pasted into this tab: follow it.
window.addEventListener("hashchange", () => {
  const next = readLocation();
  if (next.codes.length && !sameCodes(next.codes, selection.codes)) {
    selection.replace(next.codes.map((code) => selection.get(code) || { code }), "restore");
  }
});

// Start-up ---------------------------------------------------------------------------------------------------

if (initial.invalid.length) {
  notice(`Code(s) commune invalide(s) ignoré(s) dans le lien : ${initial.invalid.join(", ")}.`);
}
if (initial.codes.length > selection.limit) {
  notice(`Le lien contient ${initial.codes.length} communes : seules les ${selection.limit} premières sont reprises (limite d'un projet).`);
}
if (initial.name) byId("project-name").value = initial.name;
tour.maybeShow();
summaryBar.empty();
emptyReport(byId("report-view"));
renderFurther(byId("further-view"), null);
// The banner is shown from the start, not only once a first diagnosis says "demo"; later diagnoses and
// summaries keep it up to date.
api.meta().then((m) => {
  meta = m;
  if (!diagnosis) showDemo(m.demo);
  if (m.limits?.max_communes) selection.limit = m.limits.max_communes;
  docDialog.refresh();
}).catch((err) => status(selectionStatus, `Les informations sur les données n'ont pas pu être chargées : ${err.message}`, "warning"));
if (initial.codes.length) {
  selection.replace(initial.codes.map((code) => ({ code })), "restore");
  if (!initial.view) {
    // Zoom to the restored selection once its positions are known.
    const waitForPositions = () => {
      if (selection.entries.every((e) => e.bbox || !selection.has(e.code))) {
        selection.removeEventListener("change", waitForPositions);
        zoomToSelection();
      }
    };
    selection.addEventListener("change", waitForPositions);
  }
}
