"""Encoders and decoders, built once: each is costly to build and safe to share."""

from __future__ import annotations

import msgspec

from services.common.contract.diagnosis import Diagnosis, Summary
from services.common.contract.project import ProjectSelection
from services.common.contract.requests import DiagnosisRequest, SummaryRequest

ENCODER = msgspec.json.Encoder()
DIAGNOSIS_REQUEST = msgspec.json.Decoder(DiagnosisRequest)
SUMMARY_REQUEST = msgspec.json.Decoder(SummaryRequest)
DIAGNOSIS = msgspec.json.Decoder(Diagnosis)
SUMMARY = msgspec.json.Decoder(Summary)
PROJECT_SELECTION = msgspec.json.Decoder(ProjectSelection)
