"""The shipped Asterisk config (deploy/asterisk) agrees with what the product sends it by default.

The dialplan is not run here (no Asterisk on this machine); these checks catch the drift that would
make a real PBX answer `Extension does not exist` or `Invalid/unknown queue`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_desk.settings import load_settings
from ivr.app import SCRIPTS

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "asterisk"


def sections(path: Path) -> dict[str, list[str]]:
    """`[name]` (templates too) → its non-comment lines."""
    result: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in path.read_text("utf-8").splitlines():
        line = raw.split(";", 1)[0].strip()
        if match := re.match(r"^\[([^\]]+)\]", line):
            current = result.setdefault(match.group(1), [])
        elif line:
            current.append(line)
    return result


def extensions(lines: list[str]) -> set[str]:
    return {m.group(1) for line in lines if (m := re.match(r"exten\s*=>\s*([^,]+),", line))}


@pytest.fixture(scope="module")
def dialplan() -> dict[str, list[str]]:
    return sections(DEPLOY / "extensions.conf")


def test_every_queue_the_product_uses_exists() -> None:
    settings = load_settings()
    queues = set(sections(DEPLOY / "queues.conf")) - {"general"}
    used = {*settings.desk.agents.queues, settings.desk.agents.callback_queue,
            settings.ivr.queues.main, settings.ivr.queues.enterprise}
    assert used <= queues


def test_the_desk_wrap_up_timer_matches_the_queues_wrapuptime() -> None:
    queues = sections(DEPLOY / "queues.conf")
    wrapup = {int(line.split("=", 1)[1]) for line in queues["hotline-template"] if line.startswith("wrapuptime")}
    assert wrapup == {load_settings().desk.agents.wrapup_seconds}


def test_transfer_and_callback_contexts_reach_every_queue_and_agent(dialplan: dict[str, list[str]]) -> None:
    agents = load_settings().desk.agents
    for context in (agents.transfer_context, agents.callback_context):
        assert context in dialplan, f"[{context}] is missing from extensions.conf"
        assert {*agents.queues, "_agent."} <= extensions(dialplan[context])


def test_every_agi_script_in_the_dialplan_is_served_by_the_ivr(dialplan: dict[str, list[str]]) -> None:
    called = {m.group(1) for lines in dialplan.values() for line in lines
              if (m := re.search(r"AGI\(\$\{HOTLINE_AGI\}/(\w+)\)", line))}
    assert called and called <= set(SCRIPTS)


def test_every_goto_target_context_exists(dialplan: dict[str, list[str]]) -> None:
    targets = {m.group(1) for lines in dialplan.values() for line in lines
               if (m := re.search(r"Goto\((\w[\w-]*),", line))}
    assert targets <= set(dialplan)


def test_queue_exit_context_exists(dialplan: dict[str, list[str]]) -> None:
    contexts = {line.split("=", 1)[1].strip() for lines in sections(DEPLOY / "queues.conf").values()
                for line in lines if line.startswith("context")}
    assert contexts and contexts <= set(dialplan)


def test_manager_user_matches_the_default_ami_username() -> None:
    from ami.settings import AmiServer

    assert AmiServer(name="pbx").username in sections(DEPLOY / "manager.conf")
