// "Pour aller plus loin": what a CPTS is, its three phases, the ACI size band and financing envelope of the
// current selection, and useful links (plain links: nothing is fetched from elsewhere).

import { fill, h } from "./dom.js";
import { euros, frenchDate, int } from "./format.js";

const PHASES = [
  ["1re phase – Émergence", ["Émergence du projet", "Prise de contact avec l'Assurance Maladie et l'ARS (réponse sous 15 jours)", "Présentation en réunion collective"],
    "Lettre d'intention, crédits d'amorçage"],
  ["2e phase – Conception", ["Élaboration du projet de CPTS, fiches actions, statuts", "Constitution de la CPTS : assemblée générale constitutive", "Rédaction du projet de santé"],
    "Validation du projet de santé, outils de promotion"],
  ["3e phase – Contractualisation", ["Co-construction des indicateurs", "Validation du contrat", "Accompagnement du contrat"],
    "Contrat signé avec l'Assurance Maladie et l'ARS (accord conventionnel interprofessionnel)"],
];

const LINKS = [
  ["Les CPTS sur ameli.fr", "https://www.ameli.fr/medecin/exercice-liberal/vie-cabinet/exercice-coordonne/cpts"],
  ["Ministère de la Santé : les CPTS", "https://sante.gouv.fr/systeme-de-sante/structures-de-soins/article/les-communautes-professionnelles-territoriales-de-sante-cpts"],
  ["Observatoire des territoires (ANCT)", "https://www.observatoire-des-territoires.gouv.fr/"],
  ["Géodes – Santé publique France", "https://geodes.santepubliquefrance.fr/"],
  ["Statistiques locales de l'Insee", "https://statistiques-locales.insee.fr/"],
  ["SIG Politique de la ville (QPV)", "https://sig.ville.gouv.fr/"],
  ["Cartographie des zonages médecins (Rézone)", "https://rezone.ameli.fr/rezone/"],
];

function intro() {
  return [
    h("h2", {}, "Qu'est-ce qu'une CPTS ?"),
    h("p", {}, "Les communautés professionnelles territoriales de santé (CPTS) sont des organisations à l'initiative des professionnels de santé. Elles décloisonnent les échanges entre professionnels de premier et de second recours et avec les établissements sanitaires et médico-sociaux, pour construire des parcours adaptés aux besoins de la population. Une CPTS organise la réponse aux besoins de toute la population de son territoire, territoire que les professionnels choisissent eux-mêmes."),
    h("p", {}, "L'accord conventionnel interprofessionnel (ACI) du 20 juin 2019 et ses avenants financent les CPTS pour leurs missions socles – accès aux soins, parcours pluriprofessionnels, prévention, réponse aux crises sanitaires graves (avenant 2) – et leurs missions optionnelles – qualité et pertinence des soins, accompagnement des professionnels de santé."),
    h("h2", {}, "Les trois phases de création d'une CPTS"),
    h("ol", { class: "phases" }, PHASES.map(([title, steps, outcome]) => h("li", { class: "phase" },
      h("h3", {}, title), h("ul", {}, steps.map((s) => h("li", {}, s))), h("p", { class: "phase-outcome" }, outcome)))),
  ];
}

function aciBlock(aci) {
  if (!aci) {
    return [h("h2", {}, "Taille et financement ACI de votre projet"),
      h("p", { class: "empty" }, "Ajoutez des communes à votre projet pour connaître sa taille au sens de l'ACI et l'enveloppe de financement correspondante.")];
  }
  const bands = ["moins de 40 000 habitants", "40 000 à moins de 80 000", "80 000 à moins de 175 000", "175 000 habitants et plus"];
  return [
    h("h2", {}, "Taille et financement ACI de votre projet"),
    aci.size === null
      // A commune without INSEE population (Mayotte): « population non disponible », never 0 inhabitants.
      ? h("p", { class: "aci-size" }, "Population non disponible : ", h("strong", {}, "taille de CPTS non déterminée"), ".")
      : h("p", { class: "aci-size" }, `Avec ${int(aci.population)} habitants, le projet correspond à une CPTS de `,
        h("strong", {}, aci.size_label.replace(/^Taille/, "taille")), "."),
    aci.warning ? h("p", { class: "alert", role: "note" }, aci.warning) : null,
    h("table", { class: "data compact" },
      h("caption", {}, "Tailles de CPTS selon la population couverte"),
      h("tbody", {}, bands.map((label, i) => h("tr", { class: i + 1 === aci.size ? "current" : null },
        h("th", { scope: "row" }, `Taille ${i + 1}`), h("td", {}, label))))),
    h("h3", {}, `Financement annuel maximal (${aci.schedule})`),
    h("table", { class: "data" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Mission"), h("th", { scope: "col" }, "Volet"), h("th", { scope: "col", class: "num" }, "Montant annuel maximal"))),
      h("tbody", {}, aci.missions.flatMap((m) => [
        h("tr", { class: "group-row" }, h("th", { scope: "rowgroup", colspan: "2" }, m.label, m.optional ? " (optionnelle)" : " (socle)"),
          h("td", { class: "num" }, euros(m.total))),
        // Only amounts read in the published instrument are shown (an unverified one is left out, not flagged).
        ...m.lines.filter((l) => l.verified !== false).map((l) => h("tr", {}, h("td", {}, ""), h("td", {}, l.volet_label),
          h("td", { class: "num" }, euros(l.amount)))),
      ])),
      h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: "2" }, "Total maximal"), h("td", { class: "num" }, euros(aci.total))))),
    aci.amendments.length ? [
      h("h3", {}, "Évolutions par avenant"),
      h("table", { class: "data compact" },
        h("thead", {}, h("tr", {}, ["Texte", "En vigueur le", "Mission", "Volet", "Montant"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, aci.amendments.filter((l) => l.verified !== false).map((l) => h("tr", {},
          h("td", {}, l.instrument), h("td", {}, frenchDate(l.valid_from)), h("td", {}, l.mission_label),
          h("td", {}, l.volet_label, l.note ? h("span", { class: "definition" }, l.note) : null),
          h("td", { class: "num" }, euros(l.amount))))))] : null,
    h("p", { class: "note" }, "Montants annuels maximaux : le versement dépend des moyens mis en œuvre (volet fixe) et des résultats obtenus (volet variable), selon le contrat signé avec l'Assurance Maladie et l'ARS."),
  ];
}

export function renderFurther(root, diagnosis) {
  fill(root,
    h("p", { class: "lead" }, "Vous souhaitez travailler de manière plus coordonnée avec d'autres professionnels et acteurs de santé de votre territoire ? Rézone CPTS vous aide à connaître l'offre de soins, l'accès aux soins et l'état de santé de la population du territoire que vous composez."),
    intro(),
    aciBlock(diagnosis?.aci),
    h("h2", {}, "Contacts et liens utiles"),
    h("p", {}, h("strong", {}, "3608"), " : la ligne des professionnels de santé de l'Assurance Maladie (service gratuit + prix de l'appel). Le portail d'accompagnement des professionnels de santé (PAPS) de votre région, l'ARS et la CPAM de votre département accompagnent la création des CPTS."),
    h("ul", { class: "links" }, LINKS.map(([label, url]) => h("li", {}, h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, label)))));
}
