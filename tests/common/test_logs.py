"""JSON log lines carry the service, the request id being served and the record's extra fields."""

from __future__ import annotations

import json
import logging

from services.common.logs import JsonFormatter, request_id_var


def test_line_carries_service_request_id_and_extras() -> None:
    record = logging.makeLogRecord(
        {"name": "rezone.test", "levelname": "WARNING", "msg": "slow %s", "args": ("tile",), "z": 12}
    )
    token = request_id_var.set("abc123")
    try:
        line = json.loads(JsonFormatter("tiles").format(record))
    finally:
        request_id_var.reset(token)
    assert line["service"] == "tiles" and line["request_id"] == "abc123"
    assert line["msg"] == "slow tile" and line["z"] == 12 and line["level"] == "warning"
