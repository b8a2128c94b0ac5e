"""The OpenAPI document is complete, and a schemathesis run over it finds no 500s and no schema
violations. The app runs in a real uvicorn (own thread and loop) on a fresh seeded SQLite file."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import positive_data_acceptance
from sqlalchemy import text

from agent_desk.accounts import NewUser, add_api_client, add_user
from agent_desk.app import create_app
from agent_desk.settings import load_settings
from tests.agent_desk.conftest import PASSWORD, free_port
from tests.conftest import PG_URL, _pg_reachable
from ticketing.db import make_engine, make_session_factory
from ticketing.models import Base, Role
from ticketing.seed import seed_reference_data

STREAMS = r"^/api/(wallboard/stream|agent/screen-pop)$"


async def _prepare(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        sessions = make_session_factory(engine)
        await seed_reference_data(sessions)
        await add_user(sessions, NewUser("admin", Role.ADMIN, PASSWORD))
        await add_user(sessions, NewUser("agent", Role.AGENT, PASSWORD, agent_interface="Local/agent1@agents"))
        await add_api_client(sessions, "fuzz")
    finally:
        await engine.dispose()


async def _create_pg_database(name: str, drop: bool = False) -> None:
    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' if drop
                                    else f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pg_name = None
    if request.param == "postgres":
        if not _pg_reachable(PG_URL):
            pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
        pg_name = f"hotline_openapi_{uuid.uuid4().hex[:8]}"
        asyncio.run(_create_pg_database(pg_name))
        url = PG_URL.rsplit("/", 1)[0] + "/" + pg_name
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('openapi') / 'hotline.db'}"
    asyncio.run(_prepare(url))
    config = load_settings(db={"url": url}, desk={"auth": {"jwt_secret": "schemathesis-secret-of-32-bytes!!",
                                                           "login_attempts": 10_000}})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config, run_sweep=False), host="127.0.0.1", port=port,
                                           log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)
    if pg_name:
        asyncio.run(_create_pg_database(pg_name, drop=True))


@pytest.fixture(scope="module")
def admin_headers(api_server: str) -> dict[str, str]:
    response = httpx.post(f"{api_server}/api/auth/login", json={"username": "admin", "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def api_schema(api_server: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{api_server}/openapi.json").exclude(path_regex=STREAMS)


@pytest.mark.timeout(600)  # 25 examples per operation: it grows with the API (~1.5 s an operation on 2 busy cores)
def test_api_conforms_to_its_schema(api_schema: schemathesis.BaseSchema, admin_headers: dict[str, str]) -> None:
    """Every operation, with generated (also invalid) input: no 5xx, responses match the schema,
    invalid input is rejected."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        def run(case: schemathesis.Case) -> None:
            # Semantically wrong but schema-valid input (an unknown region, a forged cursor) is
            # rightly refused with 400, so the positive-acceptance heuristic is off; all else is on.
            case.call_and_validate(headers=admin_headers, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except BaseException as exc:  # noqa: BLE001  # collect all, so one run reports every broken operation
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert operations >= 30
    assert not failures, "\n\n".join(failures)


def test_openapi_document_is_complete(api_server: str) -> None:
    document = httpx.get(f"{api_server}/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["type"] == "http"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary") or operation.get("description"), where
            secured = "security" in operation
            if secured:
                assert {"401", "403"} <= set(operation["responses"]), where
            if path.startswith("/open311/"):
                assert not secured, where
    for name in ("ErrorBody", "TicketView", "Open311Error", "ServiceRequest", "WallboardSnapshot", "Page_TicketView_"):
        assert name in document["components"]["schemas"], name


def test_bundled_page_assets_exist() -> None:
    static = Path(__file__).resolve().parents[2] / "agent_desk" / "static"
    assert {p.name for p in static.iterdir()} >= {"wallboard.html", "wallboard.js", "wallboard.css"}


# What the probes of issue 10 sent to every list: dates past the calendar once their offset is
# applied, and cursors holding a 300-digit number or a boolean. Each must answer a documented 4xx.
HOSTILE = {
    "date-time": ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"],
    "cursor": [base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
               for key in ([int("9" * 300)], [True])],
}


def test_hostile_dates_and_cursors_conform(api_schema: schemathesis.BaseSchema, admin_headers: dict[str, str]) -> None:
    """Every operation with a date-time or cursor query parameter, called with the hostile values
    through schemathesis's own checks: no 5xx, and the 4xx is one the operation documents."""
    failures: list[str] = []
    probed = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        path_parameters = {p.name: ("json" if p.name == "fmt" else 1) for p in operation.path_parameters}
        for parameter in operation.query:
            schema = str(parameter.definition.get("schema"))
            kind = "cursor" if parameter.name == "cursor" else "date-time" if "date-time" in schema else None
            if kind is None:
                continue
            for value in HOSTILE[kind]:
                probed += 1
                case = operation.Case(path_parameters=path_parameters, query={parameter.name: value})
                try:
                    response = case.call_and_validate(headers=admin_headers,
                                                      excluded_checks=[positive_data_acceptance])
                    assert 400 <= response.status_code < 500, response.status_code
                except BaseException as exc:  # noqa: BLE001  # report every operation at once
                    failures.append(
                        f"{operation.method.upper()} {operation.path} {parameter.name}={value}: {exc}"[:800])
    assert probed >= 30
    assert not failures, "\n\n".join(failures)
