// Downloads (PDF report with a progress indicator, CSV export, project file) and project import. Files arrive
// through fetch and are saved with a Blob URL and `<a download>`, which every current browser supports.

import { ApiError, download, importProject } from "./api.js";
import { byId, saveBlob, status } from "./dom.js";

function projectName() {
  const name = byId("project-name").value.trim();
  return name || undefined;
}

function describe(err) {
  if (err instanceof ApiError) return err.message;
  return err?.message || "erreur inattendue";
}

export class Downloads {
  constructor(selection) {
    this.selection = selection;
    this.statusEl = byId("download-status");
    this.progress = byId("pdf-progress");
    this.bar = byId("pdf-progress-bar");
    this.barText = byId("pdf-progress-text");
    this.pdfButton = byId("download-pdf");
    byId("download-pdf").addEventListener("click", () => this.pdf());
    byId("download-csv").addEventListener("click", () => this.csv());
  }

  async pdf() {
    if (!this.selection.size || this.busy) return;
    this.busy = true;
    this.pdfButton.disabled = true;
    clearTimeout(this.hideTimer);
    this.progress.hidden = false;
    this.bar.removeAttribute("value"); // indeterminate while the server composes the report
    this.barText.textContent = "Génération du rapport…";
    status(this.statusEl, "Génération du rapport PDF en cours…");
    try {
      const { blob, filename } = await download("report.pdf", { communes: this.selection.codes, name: projectName() }, {
        fallbackName: "Projet_CPTS.pdf",
        onProgress: (received, total) => {
          if (total) {
            this.bar.max = total;
            this.bar.value = received;
            this.barText.textContent = `Téléchargement… ${Math.round((100 * received) / total)} %`;
          } else {
            this.barText.textContent = `Téléchargement… ${Math.round(received / 1024)} Ko`;
          }
        },
      });
      saveBlob(blob, filename);
      this.bar.max = 1;
      this.bar.value = 1;
      this.barText.textContent = "Rapport prêt";
      status(this.statusEl, `Rapport téléchargé : ${filename} (${Math.round(blob.size / 1024)} Ko).`, "success");
    } catch (err) {
      status(this.statusEl, `Le rapport n'a pas pu être produit : ${describe(err)}`, "error");
    } finally {
      this.busy = false;
      this.pdfButton.disabled = false;
      // A fast report would only flash the bar: leave it a moment so that the end is seen, not guessed.
      clearTimeout(this.hideTimer);
      this.hideTimer = setTimeout(() => { this.progress.hidden = true; }, 1500);
    }
  }

  async csv() {
    if (!this.selection.size) return;
    status(this.statusEl, "Préparation de l'export CSV…");
    try {
      const { blob, filename } = await download("export.csv", { communes: this.selection.codes }, { fallbackName: "communes_CPTS.csv" });
      saveBlob(blob, filename);
      status(this.statusEl, `Export CSV téléchargé : ${filename}.`, "success");
    } catch (err) {
      status(this.statusEl, `L'export CSV a échoué : ${describe(err)}`, "error");
    }
  }

  /** "Sauvegarder": the project file from the report service, to import again later. */
  async saveProject(statusEl) {
    if (!this.selection.size) return;
    status(statusEl, "Préparation du fichier de projet…");
    try {
      const { blob, filename } = await download("project", { communes: this.selection.codes, name: projectName() }, { fallbackName: "projet_rezone_cpts.txt" });
      saveBlob(blob, filename);
      status(statusEl, `Projet sauvegardé dans « ${filename} » : importez ce fichier pour retrouver votre sélection.`, "success");
    } catch (err) {
      status(statusEl, `La sauvegarde a échoué : ${describe(err)}`, "error");
    }
  }
}

/**
 * The answer of /project/import (report service, docs/report.md): the restorable codes, the project name, and
 * every code that could not be restored or changed name, each with its French message.
 */
export function readImport(result) {
  const communes = (result.communes || []).map((code) => ({ code }));
  const issues = result.issues || [];
  const problems = issues.filter((i) => i.reason !== "merged").map((issue) => issue.message || `${issue.nom || ""} (${issue.code})`);
  // Merged communes: offered for replacement by their successor (one click), not listed as mere problems.
  const successors = Object.fromEntries(issues.filter((i) => i.reason === "merged" && i.replaced_by?.length)
    .map((i) => [i.code, { code: i.replaced_by[0], nom: "", message: i.message }]));
  for (const r of result.renamed || []) problems.push(`${r.code} s'appelle désormais ${r.nom} (${r.nom_fichier} dans le fichier)`);
  const notes = [];
  if (result.outdated) notes.push("Projet enregistré avec une version antérieure des données : les chiffres affichés sont ceux d'aujourd'hui.");
  return { communes, name: result.name || "", problems, notes, successors };
}

export async function runImport(file) {
  if (!file) throw new ApiError(400, { code: "no_file", detail: "Choisissez d'abord le fichier de projet à importer." });
  return readImport(await importProject(file));
}
