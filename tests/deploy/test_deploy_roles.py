"""Least privilege, in Kubernetes and locally: one login role per service, none able to reach the owner.

The manifests (CloudNativePG managed roles, the Secrets each Deployment logs in with), the local cluster's
pg_hba.conf and the migration's roles must agree; the database-level tests then connect as each role and
check what it can and cannot do.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import asyncpg
import pytest
from deploy_checks import named, pods, secret_of

from deploy.local import cluster as local_cluster
from deploy.local.cluster import DB_USER, SERVICE_ROLES
from tests.conftest import role_dsn

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = ROOT / "sql" / "migrations" / "V0121__service_roles.sql"
OWNER = "rezone"
PRIVILEGED = ("superuser", "createdb", "createrole", "replication", "bypassrls")


def _migration_roles() -> set[str]:
    found = re.search(r"FOREACH r IN ARRAY ARRAY\[([^\]]+)\]", MIGRATION.read_text())
    assert found, "V0121 lists the service roles in one ARRAY[...]"
    return {name.strip().strip("'") for name in found.group(1).split(",")}


def test_one_home_for_the_role_names() -> None:
    assert _migration_roles() == set(SERVICE_ROLES.values())
    assert DB_USER == OWNER


def test_managed_roles_are_the_service_roles_and_none_reaches_the_owner(objs: list[dict]) -> None:
    cluster = named(objs, "Cluster", "rezone-db")
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    assert set(roles) == {OWNER, *SERVICE_ROLES.values()}
    for name in SERVICE_ROLES.values():
        role = roles[name]
        assert role.get("login") is True and role.get("ensure") == "present", name
        assert not any(role.get(flag) for flag in PRIVILEGED), f"{name} holds a privileged attribute"
        member_of = set(role.get("inRoles", []))
        assert OWNER not in member_of and not member_of & set(SERVICE_ROLES.values()), name
        assert member_of <= {"rezone_reader"}, f"{name} is a member of {member_of}"
        assert role["passwordSecret"]["name"] == f"rezone-db-{name.removeprefix('rezone_')}"
    assert set(roles["rezone_aggregate"].get("inRoles", [])) == {"rezone_reader"}
    assert cluster["spec"].get("enableSuperuserAccess") is False


def test_each_service_logs_in_with_its_own_role(objs: list[dict]) -> None:
    """PGUSER and PGPASSWORD of each service come from its own role's Secret, never the owner's."""
    secrets = {r["passwordSecret"]["name"]: r["name"] for r in _managed(objs) if "passwordSecret" in r}
    seen = set()
    for pod in pods(objs):
        for c in pod.containers:
            command = c.get("command", [])
            module = command[2] if command[:2] == ["python", "-m"] and len(command) > 2 else None
            if module not in SERVICE_ROLES:
                continue
            user, password = secret_of(c, "PGUSER"), secret_of(c, "PGPASSWORD")
            assert user == password, f"{pod.ref}: login and password from different Secrets"
            assert user in secrets and secrets[user] == SERVICE_ROLES[module], (
                f"{pod.ref} ({module}) logs in with {user}, not the Secret of {SERVICE_ROLES[module]}"
            )
            assert user != "rezone-db-app", f"{pod.ref}: a service uses the owner's login"
            seen.add(module)
    assert seen == set(SERVICE_ROLES), (
        f"services without a database login checked: {set(SERVICE_ROLES) - seen}"
    )


def test_dev_secrets_name_their_roles(objs: list[dict]) -> None:
    for role in _managed(objs):
        if "passwordSecret" not in role:
            continue
        secret = [
            o
            for o in objs
            if o["kind"] == "Secret" and o["metadata"]["name"] == role["passwordSecret"]["name"]
        ]
        for s in secret:  # production creates them out of band; the dev overlay generates them
            assert s["type"] == "kubernetes.io/basic-auth"
            data = s.get("stringData") or {}
            if "data" in s:
                data = {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
            assert data["username"] == role["name"]


def _managed(objs: list[dict]) -> list[dict]:
    return named(objs, "Cluster", "rezone-db")["spec"]["managed"]["roles"]


def test_local_hba_trusts_only_the_owner_socket() -> None:
    lines = [line.split() for line in local_cluster._HBA.format(owner=DB_USER).splitlines()]
    rules = [line for line in lines if line and not line[0].startswith("#")]
    trusted = [r for r in rules if "trust" in r]
    assert trusted == [["local", "all", DB_USER, "trust"]]
    for rule in rules:
        if rule[0].startswith("host"):
            assert rule[-1] == "scram-sha-256", rule


# Database level: connect as each role to the session database ---------------------------------------


async def _as(database_url: str, role_passwords: dict[str, str], role: str) -> asyncpg.Connection:
    return await asyncpg.connect(role_dsn(database_url, role, role_passwords[role]))


async def _refused(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    with pytest.raises(asyncpg.PostgresError) as caught:
        await conn.execute(sql, *args)
    return type(caught.value).__name__


# What each role must be able to do (its service's queries) and a sample of what it must not.
CAN = {
    "rezone_aggregate": [
        "SET ROLE rezone_reader",
        "SELECT api.summary(ARRAY['01004'])",
    ],
    "rezone_tiles": [
        "SELECT tiles.version()",
        "SELECT tiles.tile_layers(ARRAY['communes'], 8, 130, 90)",
        "SELECT count(*) FROM ref.data_sources",
    ],
    "rezone_gateway": [
        "SELECT count(*) FROM ref.communes",
        "SELECT ref.data_version()",
        "SELECT count(*) FROM ref.cpts_communes",
        # The list routes (V0240): the CPTS summary view and, under it, the tables it reads as the caller.
        "SELECT count(*), sum(population) FROM ref.cpts_summary",
    ],
    "rezone_report": [
        "SELECT count(*) FROM health.finess_et",
        "SELECT ST_AsBinary(geom) FROM ref.departements LIMIT 1",
        "SELECT ref.data_version()",
        # The batch reports (V0321) and their queue (procrastinate, V0320): the report service's alone.
        "SELECT count(*) FROM reports.items",
        "SELECT count(*) FROM procrastinate_jobs",
        "SELECT procrastinate_prune_stalled_workers_v1(3600)",
        "DELETE FROM reports.batches WHERE expires_at < now() - interval '100 years'",
    ],
}
# Nobody but the report service reads, defers or fetches a batch job.
QUEUE_CANNOT = [
    "SELECT count(*) FROM reports.items",
    "SELECT count(*) FROM procrastinate_jobs",
    "SELECT procrastinate_prune_stalled_workers_v1(3600)",
    "SELECT procrastinate_fetch_job_v2(ARRAY['reports'], NULL)",
]
CANNOT = {
    "rezone_aggregate": [
        *QUEUE_CANNOT,
        "SELECT count(*) FROM health.consumers",
        "SELECT count(*) FROM stats.commune_indicators",
        "SELECT count(*) FROM ref.communes",
    ],
    "rezone_tiles": [
        *QUEUE_CANNOT,
        "SELECT count(*) FROM health.indicator_counts",
        "SELECT api.summary(ARRAY['01004'])",
        "DELETE FROM tiles.communes",
    ],
    "rezone_gateway": [
        *QUEUE_CANNOT,
        "SELECT count(*) FROM health.consumers",
        "SELECT api.summary(ARRAY['01004'])",
        "UPDATE ref.communes SET nom = 'x' WHERE code = '01004'",
    ],
    "rezone_report": [
        "SELECT count(*) FROM health.indicator_counts",
        "SELECT count(*) FROM stats.commune_indicators",
        "INSERT INTO ref.data_sources (source, label, block, vintage, is_demo) VALUES ('x','x','x','x',true)",
        "SELECT count(*) FROM ref.cpts_summary",
        "CREATE TABLE reports.intruder (x int)",
        "DROP TABLE procrastinate_jobs",
    ],
}
EVERYONE_CANNOT = [
    f"SET ROLE {OWNER}",
    "SET ROLE postgres",
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "CREATE TEMP TABLE t AS SELECT 1; COPY t FROM PROGRAM 'id'",
    "CREATE TABLE public.intruder (x int)",
    "CREATE SCHEMA intruder",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    "SELECT pg_read_file('/etc/passwd')",
]


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("role", sorted(SERVICE_ROLES.values()))
async def test_role_can_do_its_job_and_nothing_else(database_url: str, role_passwords: dict, role: str):
    conn = await _as(database_url, role_passwords, role)
    try:
        for sql in CAN[role]:
            await conn.execute(sql)
            await conn.execute("RESET ROLE")
        for sql in CANNOT[role] + EVERYONE_CANNOT:
            await _refused(conn, sql)
        member_of = {
            r["rolname"]
            for r in await conn.fetch(
                "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = current_user"
            )
        }
        assert member_of <= {"rezone_reader"} and OWNER not in member_of
        flags = await conn.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = current_user"
        )
        assert not any(flags.values()), dict(flags)
    finally:
        await conn.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_no_password_no_login(database_url: str, pg_cluster):
    """Locally, TCP needs the SCRAM password: the owner and the services alike (no `trust` on TCP)."""
    if pg_cluster is None:
        pytest.skip("a shared server's authentication is its administrator's")
    for role in (OWNER, *SERVICE_ROLES.values()):
        with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
            await asyncpg.connect(role_dsn(database_url, role, "wrong-password"))
    assert oct(pg_cluster.passwords_file.stat().st_mode & 0o777) == "0o600"


# The schemas each role can reach (USAGE), all of them, where the samples above only sample. `public` holds
# PostGIS (its functions, spatial_ref_sys); the aggregate service reaches the `api` functions, nothing else.
SCHEMAS = {
    "rezone_aggregate": {"public", "api"},
    "rezone_tiles": {"public", "ref", "tiles"},
    "rezone_gateway": {"public", "ref"},
    "rezone_report": {"public", "ref", "health", "reports"},
}
# What a role may write: only the report service, its batch reports (V0321) and their queue (procrastinate's
# tables, V0320); every other role writes nowhere.
WRITES = {
    "rezone_report": [
        "public.procrastinate_events",
        "public.procrastinate_jobs",
        "public.procrastinate_periodic_defers",
        "public.procrastinate_workers",
        "reports.batches",
        "reports.items",
    ],
}


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("role", sorted(SERVICE_ROLES.values()))
async def test_role_reaches_only_its_schemas_and_writes_nowhere(database_url: str, role: str):
    """From the catalogue, every schema and every table: USAGE only on its schemas, CREATE on none, no write
    privilege (INSERT, UPDATE, DELETE, TRUNCATE) on any table or view but those of WRITES."""
    conn = await asyncpg.connect(database_url)
    try:
        usable = await conn.fetch(
            "SELECT nspname, has_schema_privilege($1, oid, 'CREATE') AS can_create FROM pg_namespace "
            "WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' "
            "AND has_schema_privilege($1, oid, 'USAGE')",
            role,
        )
        writable = await conn.fetch(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "AND has_table_privilege($1, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')",
            role,
        )
    finally:
        await conn.close()
    assert {r["nspname"] for r in usable} == SCHEMAS[role]
    assert not [r["nspname"] for r in usable if r["can_create"]]
    assert sorted(r["name"] for r in writable) == WRITES.get(role, [])
