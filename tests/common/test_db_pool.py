"""A saturated pool is shedding (503 + Retry-After), not a database timeout (504, relayed as 502 by the
gateway): the load test's project files got 33 × 502 at 400 req/s before (docs/load/README.md)."""

from __future__ import annotations

import asyncpg
import pytest

from services.common.db import BUSY_RETRY_AFTER_S, connection
from services.common.errors import Unavailable

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_full_pool_is_a_503_with_retry_after(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=0, max_size=1)
    try:
        async with connection(pool, 1.0) as held:
            with pytest.raises(Unavailable) as caught:
                async with connection(pool, 0.2):
                    pass
            assert caught.value.status == 503
            assert caught.value.extra["retry_after"] == BUSY_RETRY_AFTER_S
            assert await held.fetchval("SELECT 1") == 1
        # Released on leaving the block: the next request gets the connection at once.
        async with connection(pool, 0.2) as again:
            assert await again.fetchval("SELECT 2") == 2
        assert pool.get_idle_size() == 1
    finally:
        await pool.close()
