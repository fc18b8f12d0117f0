"""The body limit is one shared setting, read under each service's own variable name."""

from __future__ import annotations

import pytest

from gateway.settings import PREFIX as GATEWAY_PREFIX
from gateway.settings import Settings as GatewaySettings
from services.aggregate.settings import PREFIX as AGGREGATE_PREFIX
from services.aggregate.settings import Settings as AggregateSettings
from services.common.settings import ServiceSettings, load_settings
from services.report.settings import PREFIX as REPORT_PREFIX
from services.report.settings import Settings as ReportSettings
from services.tiles.settings import PREFIX as TILES_PREFIX
from services.tiles.settings import Settings as TilesSettings

CASES = [
    (GatewaySettings, GATEWAY_PREFIX, "REZONE_GATEWAY_MAX_BODY_BYTES", 16 * 1024),
    (AggregateSettings, AGGREGATE_PREFIX, "REZONE_AGGREGATE_CLIENT_MAX_SIZE", 16384),
    (ReportSettings, REPORT_PREFIX, "REZONE_REPORT_CLIENT_MAX_SIZE", 65_536),
    (TilesSettings, TILES_PREFIX, "REZONE_TILES_CLIENT_MAX_SIZE", 1 << 20),
]


@pytest.mark.parametrize(("cls", "prefix", "variable", "default"), CASES)
def test_body_limit_default_and_variable(
    cls: type[ServiceSettings], prefix: str, variable: str, default: int
) -> None:
    base = {"DATABASE_URL": "postgresql://x@127.0.0.1/none"}
    assert load_settings(cls, prefix, base).client_max_size == default
    assert load_settings(cls, prefix, {**base, variable: "4096"}).client_max_size == 4096
    with pytest.raises(SystemExit, match="client_max_size|max_body_bytes"):
        load_settings(cls, prefix, {**base, variable: "lots"})
