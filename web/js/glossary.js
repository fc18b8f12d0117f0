// Glossaries of the documentation dialog, written for this tool (sources listed in docs/web.md).
// Indicator definitions are not repeated here: they come with every diagnosis (one source of truth).

export const SIGLES = [
  ["ACI", "Accord conventionnel interprofessionnel. Signé le 20 juin 2019 pour cinq ans et complété par des avenants, il reconnaît et finance les CPTS pour leurs missions (accès aux soins, parcours, prévention, crises sanitaires, qualité, accompagnement des professionnels)."],
  ["ALD", "Affection de longue durée. Maladie dont la gravité ou le caractère chronique exige un traitement prolongé et coûteux ; les ALD « exonérantes » (liste de 30 affections) suppriment le ticket modérateur pour les soins qui s'y rapportent."],
  ["ARS", "Agence régionale de santé. Pilote la politique de santé dans la région ; valide le projet de santé de la CPTS et signe le contrat ACI avec l'Assurance Maladie."],
  ["ATIH", "Agence technique de l'information sur l'hospitalisation : source des données d'activité hospitalière (urgences, admissions directes)."],
  ["C2S (ex-CSS, CMU-C, ACS)", "Complémentaire santé solidaire : couverture complémentaire gratuite ou à faible coût selon les ressources."],
  ["CPAM", "Caisse primaire d'assurance maladie : interlocuteur local des professionnels de santé et des porteurs de projet."],
  ["CPTS", "Communauté professionnelle territoriale de santé : organisation, à l'initiative des professionnels de santé d'un territoire, qui coordonne leurs actions pour répondre aux besoins de santé de sa population."],
  ["DCIR / SNDS / SNIIRAM", "Bases de données de l'Assurance Maladie (datamart de consommation inter-régimes ; système national des données de santé ; système national d'information inter-régimes) dont sont issus les indicateurs de consommation de soins."],
  ["FINESS", "Fichier national des établissements sanitaires et sociaux : répertoire des établissements et de leurs sites géographiques."],
  ["HAD", "Hospitalisation à domicile."],
  ["MEP", "Médecin à mode d'exercice particulier (acupuncture, homéopathie, angiologie…) ; compté parmi les médecins généralistes, jamais ajouté deux fois."],
  ["MSP", "Maison de santé pluriprofessionnelle : regroupement de professionnels de santé autour d'un projet de santé commun."],
  ["MT", "Médecin traitant : médecin déclaré par le patient pour coordonner son parcours de soins."],
  ["PAPS", "Portail d'accompagnement des professionnels de santé, un par région."],
  ["QPV", "Quartier prioritaire de la politique de la ville."],
  ["SSIAD", "Service de soins infirmiers à domicile."],
  ["SSR / SMR", "Soins de suite et de réadaptation, devenus soins médicaux et de réadaptation."],
  ["ZIP / ZAC", "Zone d'intervention prioritaire / zone d'action complémentaire : zonage des ARS qui repère les territoires sous-dotés en médecins et ouvre droit à des aides à l'installation."],
];

export const STRUCTURES = [
  ["Centres hospitaliers", "Établissements publics de santé (catégorie FINESS 355)."],
  ["Centres hospitaliers régionaux / universitaires et leurs entités", "CHR (catégorie 101), universitaires lorsqu'une convention les lie à une université ; chaque site géographique est compté."],
  ["Hôpitaux de proximité (ex-hôpitaux locaux)", "Centres hospitaliers ex-hôpitaux locaux (catégorie 106)."],
  ["Hôpitaux des armées", "Hôpitaux d'instruction des armées et établissements du service de santé des armées (114, 115)."],
  ["Cliniques", "Établissements privés de soins pluridisciplinaires, chirurgicaux, médicaux ou obstétricaux."],
  ["Établissements de santé privés autorisés en SSR", "Soins de suite et de réadaptation (catégorie 109)."],
  ["Centres de dialyse et alternatives", "Centres de dialyse et structures d'alternative à la dialyse en centre (141, 146)."],
  ["HAD", "Établissements d'hospitalisation à domicile (127)."],
  ["EHPAD", "Établissements d'hébergement pour personnes âgées dépendantes (500 et apparentés)."],
  ["SSIAD", "Services de soins infirmiers à domicile (354)."],
  ["MSP", "Maisons de santé pluriprofessionnelles (603) : structures d'exercice coordonné, affichées par défaut sur la carte."],
  ["Centres de santé", "Centres de santé (124), polyvalents, médicaux, dentaires ou infirmiers : exercice coordonné, affichés par défaut."],
  ["CPTS (siège)", "Siège des CPTS enregistrées dans FINESS (604) ; les périmètres des CPTS existantes sont tracés sur la carte."],
];
