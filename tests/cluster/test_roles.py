"""`hotline serve --role …`: which parts a process runs, and one leader for each singleton."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from agent_desk.roles import ALL_ROLES, RoleError, parse_roles
from tests.cluster.conftest import HOTLINE, Cluster, leader_row, until_leader

pytestmark = pytest.mark.anyio


def test_roles_default_to_all_and_need_postgresql() -> None:
    pg = "postgresql+asyncpg://db/hotline"
    assert parse_roles([], "sqlite+aiosqlite:///x.db") == ALL_ROLES
    assert parse_roles(["api", "SWEEP", "api"], pg) == {"api", "sweep"}
    with pytest.raises(RoleError, match="unknown role pbx"):
        parse_roles(["api", "pbx"], pg)
    with pytest.raises(RoleError, match="needs PostgreSQL"):
        parse_roles(["api"], "sqlite+aiosqlite:///x.db")


def test_serve_refuses_roles_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")} | {
        "HOTLINE_CONFIG": str(tmp_path / "absent.toml"), "HOTLINE_DB__URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"}
    result = subprocess.run([HOTLINE, "serve", "--role", "api"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr and "one process" in result.stderr


@pytest.mark.postgres
@pytest.mark.slow
async def test_an_api_process_serves_the_api_and_a_sweep_process_only_operations(cluster: Cluster) -> None:
    api = await cluster.start("api")
    sweep = await cluster.start("sweep")
    async with httpx.AsyncClient() as client:
        assert (await client.get(api.base + "/api/tickets")).status_code == 401  # the API is there
        assert (await client.get(sweep.base + "/api/tickets")).status_code == 404  # not here
        assert (await client.get(sweep.base + "/health")).status_code == 200
    await until_leader(cluster.db_url, "sweep", sweep.pid, 10)  # the sweep runs where its role is


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_standby_sweep_takes_over_within_ten_seconds_of_a_kill_9(cluster: Cluster) -> None:
    first = await cluster.start("sweep")
    term, _ = await until_leader(cluster.db_url, "sweep", first.pid, 10)
    standby = await cluster.start("sweep")
    await asyncio.sleep(2)
    still = await leader_row(cluster.db_url, "sweep")
    # One leader: the standby waits. (On a starved machine the leader may miss a renewal and take its
    # own lease again, a new term of the same holder: still the one leader.)
    assert still is not None and still.holder == term.holder
    first.kill9()
    new, took = await until_leader(cluster.db_url, "sweep", standby.pid, 10)
    assert new.epoch > still.epoch
    assert took < 10


@pytest.mark.postgres
@pytest.mark.slow
async def test_role_processes_log_json_lines_as_the_systemd_units_set(cluster: Cluster) -> None:
    json_logs = {"HOTLINE_DESK__LOG_FORMAT": "json"}
    api = await cluster.start("api", env=json_logs)
    sweep = await cluster.start("sweep", env=json_logs)
    async with httpx.AsyncClient() as client:
        refused = await client.get(api.base + "/api/tickets", headers={"X-Request-ID": "role-api-1"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "role-api-1"
    await sweep.out.wait_for(r'"event": "sweep: leading \(term \d+', anywhere=True)
    await api.out.wait_for(r'"request_id": "role-api-1"', anywhere=True)
    for node in (api, sweep):
        await node.stop()
        await node.out.wait_for(r'"event": "Finished server process', anywhere=True)
        lines = [json.loads(line) for line in node.out.lines]  # every line, from start to finish
        assert lines[0]["event"] == f"roles: {node.roles[0]}"
        assert all(line["timestamp"].endswith("Z") and line["logger"] for line in lines)
    access = [line for line in (json.loads(text) for text in api.out.lines) if line["logger"] == "uvicorn.access"]
    assert [line["event"].split('"')[1] for line in access if line.get("request_id") == "role-api-1"] == [
        "GET /api/tickets HTTP/1.1"]
