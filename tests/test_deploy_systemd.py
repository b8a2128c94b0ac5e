"""deploy/systemd: the unit runs `hotline serve --role <instance>`, and every role the example
layout enables is one the CLI accepts."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from agent_desk.roles import ALL_ROLES
from agent_desk.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "systemd"


def test_the_unit_serves_its_instance_as_the_role() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)  # keys come lower-cased
    unit.read(DEPLOY / "hotline@.service", encoding="utf-8")
    service = unit["Service"]
    assert service["execstart"].endswith(" serve --role %i")
    assert service["killsignal"] == "SIGINT"  # uvicorn's graceful shutdown
    assert service["restart"] == "always"


def test_the_unit_logs_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(DEPLOY / "hotline@.service", encoding="utf-8")
    for assignment in unit["Service"]["environment"].split():
        name, value = assignment.split("=", 1)
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOTLINE_CONFIG", "/nonexistent/hotline.toml")
    assert load_settings().desk.log_format == "json"


def test_the_layout_enables_only_real_roles() -> None:
    enabled = set(re.findall(r"hotline@(\w+)", (DEPLOY / "README.md").read_text("utf-8")))
    assert enabled == ALL_ROLES
