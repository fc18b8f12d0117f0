// The footer's pages: accessibility statement (with what the automated audit proves), legal notice, personal
// data and sources. Shown in the documentation dialog; the sources come from /api/v1/meta like the vintages.

import { h } from "./dom.js";
import { sourcesList } from "./report-view.js";

export const PAGE_TITLES = {
  accessibilite: "Déclaration d'accessibilité",
  mentions: "Mentions légales",
  personnelles: "Données personnelles",
  sources: "Sources des données",
};

// RGAA 4.1 criteria that the browser tests check at every step of the journey
// (tests/web: axe-core at 390, 768, 1440 and 2560 px, keyboard paths, reflow). Only these are claimed; the rest awaits a human audit.
const CHECKED = [
  ["1.2", "Images de décoration ignorées par les technologies d'assistance (logo)"],
  ["3.2", "Contraste du texte et de son arrière-plan suffisant"],
  ["5.6 et 5.7", "En-têtes de colonnes et de lignes des tableaux de données déclarés"],
  ["7.1", "Recherche de communes, onglets et accordéons utilisables au clavier et annoncés (rôles ARIA)"],
  ["7.5", "Messages de statut restitués (une seule zone de messages, lue par les lecteurs d'écran)"],
  ["8.3 et 8.5", "Langue de la page (français) et titre de page présents"],
  ["9.1", "Titres hiérarchisés"],
  ["10.7", "Prise de focus visible"],
  ["10.11", "Contenu sans défilement horizontal de 390 à 2 560 pixels de large"],
  ["11.1 et 11.2", "Champs de formulaire étiquetés"],
  ["12.7", "Lien d'évitement vers la recherche"],
  ["13.1 à 13.3", "Aucune limite de temps ; documents (rapport PDF) balisés PDF/UA"],
];

function accessibility() {
  return [
    h("p", {}, h("strong", {}, "État de conformité : partiellement conforme"), " au référentiel général d'amélioration de l'accessibilité (RGAA 4.1) : aucun audit complet par une personne experte n'a encore été mené."),
    h("h3", {}, "Résultat de l'audit automatisé"),
    h("p", {}, "À chaque étape du parcours (recherche, sélection, communes groupées, comparaison de deux périmètres, panneaux, rapport, téléchargements, documentation), sur téléphone (390 × 844), tablette (768 × 1 024), ordinateur portable (1 440 × 900) et grand écran (2 560 × 1 440) : 0 erreur grave ou critique détectée par axe-core (règles WCAG 2.2 niveaux A et AA)."),
    h("h3", {}, "Critères vérifiés par les tests"),
    h("table", { class: "data compact criteria" },
      h("caption", {}, "Critères RGAA vérifiés automatiquement"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Critère"), h("th", { scope: "col" }, "Vérification"), h("th", { scope: "col" }, "Résultat"))),
      h("tbody", {}, CHECKED.map(([id, text]) => h("tr", {}, h("th", { scope: "row" }, id), h("td", {}, text), h("td", {}, "conforme"))))),
    h("h3", {}, "Contenus non accessibles"),
    h("p", {}, "La carte elle-même ne se parcourt pas au clavier : la recherche par nom ou code INSEE permet d'ajouter ou de retirer chaque commune sans elle, et les chiffres de la carte figurent dans les tableaux."),
    h("h3", {}, "Signaler un défaut"),
    h("p", {}, "Signalez tout défaut d'accessibilité à l'exploitant du service ; s'il ne répond pas, vous pouvez saisir le Défenseur des droits."),
  ];
}

function legal() {
  return [
    h("p", {}, "Rézone CPTS est un logiciel libre (licence EUPL 1.2) qui reproduit le service de diagnostic territorial des CPTS. L'exploitant de cette instance en est l'éditeur et l'hébergeur : ses coordonnées figurent dans la configuration de son déploiement."),
    h("p", {}, "Les chiffres de santé de cette instance sont des données de démonstration, synthétiques : ils ne décrivent pas la réalité des territoires. Les référentiels géographiques (communes, départements, régions) sont réels."),
  ];
}

function personal() {
  return [
    h("p", {}, "Aucun compte, aucun cookie, aucune mesure d'audience. La sélection de communes et le nom du projet restent dans votre navigateur (adresse de la page) et dans les fichiers que vous téléchargez."),
    h("p", {}, "Les communes choisies sont envoyées au serveur pour calculer le diagnostic ; le serveur ne les associe à aucune personne. Ses journaux techniques (adresse de la requête, heure) servent à l'exploitation et sont effacés selon la politique de l'exploitant."),
  ];
}

function sources(meta) {
  if (!meta) return h("p", { class: "empty" }, "Liste des sources en cours de chargement.");
  return [
    meta.demo ? h("p", { class: "demo-inline" }, "Données de démonstration : les données de santé chargées sont synthétiques.") : null,
    sourcesList(meta.sources),
  ];
}

/** The content of footer page `kind`, or null when `kind` is not one of them. */
export function pageContent(kind, known) {
  const make = { accessibilite: accessibility, mentions: legal, personnelles: personal, sources: () => sources(known) }[kind];
  return make ? h("div", { class: "page" }, make()) : null;
}
