"""The HTTP contract between services: requests and responses as msgspec Structs.

The diagnosis and summary are produced by the aggregate service and decoded by the report service and the
gateway (documented field by field in `docs/contract.md`); the report service's requests are built by the
gateway from these Structs, and its project-import answer is decoded with them. Conventions:

- Requests are frozen, keyword-only and refuse unknown fields: a typo in a client is a 400, not a default.
- Responses never omit a field: a masked figure is an explicit `null` next to `masked: true` and a French
  `reason`, never a number and never 0. Clients must not guess a value from a missing key.
- Rates (`unit` "pct" or "per100") and ratios are rounded to 1 decimal by the database before they leave it;
  differences are computed from the rounded values, so that what is printed reconciles.
- Responses do not forbid unknown fields: new fields may be added without breaking older clients.

One module a concern: `requests` (what clients send), `figures` (status, units, comparisons and indicators
shared by every section), `territory`, `population`, `offer`, `aci`, `diagnosis` (the answers that assemble
them), `project` (the project-import answer), `jobs` (the batch reports: bodies, states and errors) and
`decoders` (built once). Import from the package: every public name is re-exported here.
"""

from __future__ import annotations

from services.common.contract.aci import (
    Aci,
    AciLine,
    AciMission,
)
from services.common.contract.decoders import (
    DIAGNOSIS,
    DIAGNOSIS_REQUEST,
    ENCODER,
    PROJECT_SELECTION,
    SUMMARY,
    SUMMARY_REQUEST,
)
from services.common.contract.diagnosis import (
    Diagnosis,
    FamilyCount,
    Summary,
)
from services.common.contract.figures import (
    Alert,
    Comparison,
    Comparisons,
    Indicator,
    IndicatorRef,
    Level,
    SecrecyRule,
    Source,
    Status,
    Unit,
    UnitWeight,
)
from services.common.contract.jobs import (
    STATE_LABELS,
    BatchItem,
    BatchRequest,
    BatchState,
    BatchStatus,
    ItemProblem,
    ItemState,
)
from services.common.contract.offer import (
    ActivityCell,
    DemographyRow,
    Density,
    Offer,
    ProfessionActivity,
    RatioFigure,
    StructureCommune,
    StructureGroup,
)
from services.common.contract.population import (
    AgeBand,
    PopulationSection,
    Prevalences,
)
from services.common.contract.project import (
    ProjectIssue,
    ProjectRenamed,
    ProjectSelection,
)
from services.common.contract.requests import (
    DiagnosisRequest,
    ExportRequest,
    ProjectRequest,
    ReportRequest,
    SummaryRequest,
)
from services.common.contract.territory import (
    Commune,
    CptsRef,
    Territory,
    UnitGroup,
)

__all__ = [
    "Aci",
    "AciLine",
    "AciMission",
    "ActivityCell",
    "AgeBand",
    "Alert",
    "BatchItem",
    "BatchRequest",
    "BatchState",
    "BatchStatus",
    "Commune",
    "Comparison",
    "Comparisons",
    "CptsRef",
    "DIAGNOSIS",
    "DIAGNOSIS_REQUEST",
    "DemographyRow",
    "Density",
    "Diagnosis",
    "DiagnosisRequest",
    "ENCODER",
    "ExportRequest",
    "FamilyCount",
    "Indicator",
    "IndicatorRef",
    "ItemProblem",
    "ItemState",
    "Level",
    "Offer",
    "PROJECT_SELECTION",
    "PopulationSection",
    "Prevalences",
    "ProfessionActivity",
    "ProjectIssue",
    "ProjectRenamed",
    "ProjectRequest",
    "ProjectSelection",
    "RatioFigure",
    "ReportRequest",
    "STATE_LABELS",
    "SUMMARY",
    "SUMMARY_REQUEST",
    "SecrecyRule",
    "Source",
    "Status",
    "StructureCommune",
    "StructureGroup",
    "Summary",
    "SummaryRequest",
    "Territory",
    "Unit",
    "UnitGroup",
    "UnitWeight",
]
