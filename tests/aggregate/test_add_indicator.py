"""CONTRIBUTING.md « Add an indicator », step by step, on a scratch copy of the loaded database.

Each numbered step below is the one the guide gives, in its order: a migration declares the indicator, its
counts arrive in the file of its source, `python -m services.ingest migrate` and `load` take them in, and the
diagnosis lists it under secrecy with no other code written. If this test needs a step the guide does not
give, the guide is wrong.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import asyncpg
import pytest

from services.aggregate.app import create_app
from services.aggregate.settings import Settings
from services.ingest import migrate as migrations
from services.ingest import pipeline

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT = Path(__file__).resolve().parents[2]
# Step 1: the migration (its number would be the next free one in sql/migrations).
MIGRATION = """
INSERT INTO ref.indicators (id, section, label, definition, numerator_label, denominator_label, unit,
                            source_key, ordinal)
VALUES ('retino_diab', 'prevention', 'Dépistage de la rétinopathie diabétique',
        'Patients diabétiques ayant eu un examen du fond d''œil en deux ans, parmi les patients diabétiques',
        'Patients diabétiques dépistés', 'Patients diabétiques', 'pct', 'dcir', 9001);
-- Its linked group (docs/methodology.md §2.2): the diabetic patients are a population of their own, not a
-- sum of age bands, and the numerator is nested in no other.
INSERT INTO api.indicator_links (indicator_id, frame, within, contains, num_parents)
VALUES ('retino_diab', NULL, NULL, NULL, '{}');
"""
DCIR_FILE = "dcir_indicateurs-2023-07-2024-06.csv"


async def test_an_indicator_added_by_the_guide_reaches_the_diagnosis(
    make_loaded_database, test_data_dir: Path, tmp_path: Path, aiohttp_client, monkeypatch
) -> None:
    dsn = make_loaded_database()
    conn = await asyncpg.connect(dsn)
    try:
        # Step 1: a new migration file inserting the ref.indicators row; `migrate` applies it.
        migrations_dir = tmp_path / "migrations"
        shutil.copytree(ROOT / "sql" / "migrations", migrations_dir)
        (migrations_dir / "V9001__indicator_retino_diab.sql").write_text(MIGRATION)
        assert 9001 in await migrations.migrate(conn, migrations_dir)

        # Step 2: the counts, in the file of the indicator's source_key ('dcir'): one more line per commune.
        data_dir = tmp_path / "data"
        shutil.copytree(test_data_dir / "demo", data_dir / "demo", copy_function=os.link)
        (data_dir / "cache").mkdir()
        lines = (test_data_dir / "demo" / DCIR_FILE).read_text().splitlines()
        period = lines[1].split(";")[1]
        communes = ["04121", "06122", "04084", "78062"]
        added = [f"{code};{period};retino_diab;{40 + i};{100 + i}" for i, code in enumerate(communes)]
        added.append(f"05001;{period};retino_diab;3;20")  # below the secrecy threshold: neutralised
        (data_dir / "sources").mkdir()
        (data_dir / "sources" / DCIR_FILE).write_text("\n".join([*lines, *added]) + "\n")

        # Step 3: `load` re-imports the changed source and refreshes the views. The tiles step is left out
        # here only because tiles do not depend on indicators and rebuilding them costs a minute.
        monkeypatch.setattr(pipeline, "POST_LOAD_STEPS", [])
        summary = await pipeline.run_load(conn, data_dir=data_dir)
        assert summary["dcir_indicateurs"] != "unchanged" and summary["views"] != "unchanged"
    finally:
        await conn.close()

    # Step 4: nothing else to write — the diagnosis lists it, with its secrecy applied.
    client = await aiohttp_client(create_app(Settings(database_url=dsn, pool_min=1, pool_max=3)))
    resp = await client.post("/v1/diagnosis", json={"communes": communes})
    assert resp.status == 200
    found = [i for i in (await resp.json())["prevention"] if i["id"] == "retino_diab"]
    assert len(found) == 1 and found[0]["section"] == "prevention"
    num, den = sum(40 + i for i in range(4)), sum(100 + i for i in range(4))
    assert found[0]["numerator"] == num and found[0]["denominator"] == den
    assert found[0]["value"] == round(100 * num / den, 1) and found[0]["masked"] is False

    resp = await client.post("/v1/diagnosis", json={"communes": ["05001"]})
    alone = [i for i in (await resp.json())["prevention"] if i["id"] == "retino_diab"]
    assert alone[0]["masked"] is True and alone[0]["value"] is None and alone[0]["numerator"] is None
