"""The shipped Asterisk config (deploy/asterisk) agrees with what the product sends it.

No Asterisk runs here: `tests/asterisk_dialplan.py` looks extensions up with Asterisk's own rules
(ported from main/pbx.c). Every extension the product dials (queue members `Local/…@agents`),
redirects to (desk transfers) or originates to (call-backs) must reach exactly one extension, the
one meant for it; otherwise a real PBX answers `Extension does not exist`, or takes the caller to
"invalid extension" and drops the call while the desk has already said 202.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_desk.demo import _demo_users
from agent_desk.settings import load_settings
from agent_desk.telephony import extension_of
from ivr.app import SCRIPTS
from tests.asterisk_dialplan import (
    Dialplan,
    DialplanError,
    Extension,
    ext_cmp,
    matches,
    strip_fluff,
    substitute_exten,
)

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "asterisk"

# Agents log in as `Local/agent<N>@agents` (deploy/asterisk/README.md); the demo user is one of them.
AGENT_INTERFACES = sorted({f"Local/agent{n}@agents" for n in (1, 2, 9, 10, 42, 100, 2026)}
                          | {u.agent_interface for u in _demo_users() if u.agent_interface})


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


@pytest.fixture(scope="module")
def dialplan() -> Dialplan:
    return Dialplan.load(DEPLOY / "extensions.conf")


# ---- Asterisk's pattern rules (main/pbx.c), on their own ----------------------------------------


@pytest.mark.parametrize(("pattern", "dialled", "expected"), [
    ("_agent.", "agent1", False),  # n is [2-9]: "agent" itself never matches
    ("_agent.", "age7t1", True),
    ("_age[n]t.", "agent1", True),
    ("_age[n]t.", "agent", False),  # . is one or more
    ("_age[n]t.", "Agent1", False),  # plain letters compare case-sensitively
    ("_age[n]t!", "agent", True),  # ! is zero or more
    ("_nxx", "234", True),  # wildcard letters in either case
    ("_NXX", "134", False),
    ("_ZX", "05", False),
    ("_X.", "12345", True),
    ("_X.", "1", False),
    ("_[1-3]5", "25", True),
    ("_[1-3]5", "45", False),
    ("_[13-]X", "-5", False),  # a trailing - in a set is itself, but - in the string is skipped
    ("_1-800-NXX", "1800555", True),  # - is fluff in the pattern …
    ("_1800NXX", "1-800-555", True),  # … and in the string
    ("_X", "12", False),
    ("hotline-12345", "hotline12345", True),  # a plain extension ignores - too
    ("hotline-12345", "hotline-1234", False),
    ("agent1", "agent", False),
])
def test_pattern_matching(pattern: str, dialled: str, expected: bool) -> None:
    assert matches(strip_fluff(pattern), dialled) is expected


@pytest.mark.parametrize(("first", "then"), [
    ("333", "_XXX"),  # plain extensions before patterns
    ("_[5-9]", "_[2-8]"),  # the smaller set first
    ("_[2-4]", "_[5-7]"),  # same size: the lower first character
    ("_3", "_N"),
    ("_N", "_Z"),
    ("_Z", "_X"),
    ("_XX", "_X"),  # where one pattern ends, the other's character comes first
    ("_X.", "_X!"),  # . before !
    ("_age[n]t.", "_X."),
])
def test_the_order_asterisk_tries_extensions_in(first: str, then: str) -> None:
    assert ext_cmp(strip_fluff(first), strip_fluff(then)) < 0 < ext_cmp(strip_fluff(then), strip_fluff(first))


def test_the_first_match_with_the_priority_wins() -> None:
    plan = Dialplan.parse("""
[c]
exten => _X.,1,NoOp(any)
 same => n(done),Hangup()
exten => _1X.,2,NoOp(ones, no priority 1)
exten => 12345,1,NoOp(exact)
""")
    assert [e.name for e in plan.contexts["c"].extensions] == ["12345", "_1X.", "_X."]
    assert plan.find("c", "12345").first().data == "exact"  # type: ignore[union-attr]
    assert plan.find("c", "155").name == "_X."  # type: ignore[union-attr]  # _1X. has no priority 1
    assert plan.find("c", "155", 2).name == "_1X."  # type: ignore[union-attr]
    assert plan.find("c", "155", "done").name == "_X."  # type: ignore[union-attr]
    assert plan.find("c", "15", 2).name == "_X."  # type: ignore[union-attr]  # _1X. needs 3 characters
    assert plan.find("c", "x") is None and plan.find("nowhere", "1") is None


def test_names_that_compare_equal_are_one_extension() -> None:
    with pytest.raises(DialplanError, match="priority 1 already exists"):
        Dialplan.parse("[c]\nexten => hotline-12345,1,NoOp()\nexten => hotline12345,1,NoOp()\n")


def test_the_other_lookup_algorithm_is_refused() -> None:
    with pytest.raises(DialplanError, match="extenpatternmatchnew"):
        Dialplan.parse("[general]\nextenpatternmatchnew = yes\n[c]\nexten => 1,1,NoOp()\n")


# ---- the shipped dialplan against what the product sends ----------------------------------------


def the_only(dialplan: Dialplan, context: str, dialled: str) -> Extension:
    """The extension Asterisk runs for `dialled`, checked to be the only one that matches it."""
    assert context in dialplan.contexts, f"[{context}] is missing from extensions.conf"
    found = dialplan.find(context, dialled)
    assert found is not None, f"{dialled}@{context}: Asterisk would say the extension is invalid"
    every = [e.name for e in dialplan.matching(context, dialled)]
    assert every == [found.name], f"{dialled}@{context} matches {every}, not exactly one"
    return found


def dials_the_agent_phone(extension: Extension, dialled: str) -> bool:
    step = extension.first()
    return step.app == "Dial" and substitute_exten(step.data, dialled).split(",")[0] == f"PJSIP/{dialled}"


def queues_into(extension: Extension, queue: str) -> bool:
    step = extension.first()
    return step.app == "Queue" and step.data.split(",")[0] == queue


def local_channel(interface: str) -> tuple[str, str]:
    """`Local/agent1@agents[/n]` → (context, extension)."""
    match = re.fullmatch(r"Local/([^@/]+)@([^/]+)(?:/\w+)?", interface)
    assert match is not None, f"{interface} is not a Local channel into the dialplan"
    return match.group(2), match.group(1)


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


@pytest.mark.parametrize("interface", AGENT_INTERFACES)
def test_a_queue_member_rings_its_own_phone(dialplan: Dialplan, interface: str) -> None:
    context, exten = local_channel(interface)
    assert dials_the_agent_phone(the_only(dialplan, context, exten), exten)


@pytest.mark.parametrize("interface", AGENT_INTERFACES)
def test_transfer_and_callback_reach_every_agent(dialplan: Dialplan, interface: str) -> None:
    agents = load_settings().desk.agents
    exten = extension_of(interface)  # what the desk sends for an agent
    for context in (agents.transfer_context, agents.callback_context):
        assert dials_the_agent_phone(the_only(dialplan, context, exten), exten), (context, exten)


def test_transfer_reaches_every_queue_and_a_callback_the_supervisors_queue(dialplan: Dialplan) -> None:
    agents = load_settings().desk.agents
    for queue in agents.queues:
        assert queues_into(the_only(dialplan, agents.transfer_context, queue), queue)
        assert queues_into(the_only(dialplan, agents.callback_context, queue), queue)
    assert queues_into(the_only(dialplan, agents.callback_context, agents.callback_queue), agents.callback_queue)


def test_the_queue_exit_key_leaves_a_message(dialplan: Dialplan) -> None:
    contexts = {line.split("=", 1)[1].strip() for lines in sections(DEPLOY / "queues.conf").values()
                for line in lines if line.startswith("context")}
    assert contexts
    for context in contexts:
        step = the_only(dialplan, context, load_settings().ivr.queues.message_key).first()
        assert (step.app, step.data) == ("AGI", "${HOTLINE_AGI}/message")


def _goto_targets(dialplan: Dialplan) -> list[tuple[str, Extension, str | None, str | None, str]]:
    """(context, extension, target context, target extension, priority or label) of every Goto/GotoIf;
    None where the target leaves it out (the same context, the same extension)."""
    found = []
    for context in dialplan.contexts.values():
        for extension in context.extensions:
            for step in extension.steps.values():
                if step.app == "Goto":
                    targets = [step.data]
                elif step.app == "GotoIf":
                    targets = [t for t in step.data.rsplit("?", 1)[1].split(":") if t]
                else:
                    continue
                for target in targets:
                    parts: list[str | None] = [None, None, *(p.strip() for p in target.split(","))]
                    to_context, exten, priority = parts[-3:]
                    assert priority is not None
                    found.append((context.name, extension, to_context, exten, priority))
    return found


def test_every_goto_reaches_an_extension(dialplan: Dialplan) -> None:
    targets = _goto_targets(dialplan)
    assert len(targets) >= 5
    for context, extension, to_context, exten, priority in targets:
        wanted: int | str = int(priority) if priority.isdigit() else priority
        if exten is None:  # same extension: the label or priority must be in it
            assert (extension.steps.get(wanted) if isinstance(wanted, int) else extension.label(wanted)), (
                context, extension.name, priority)
        else:
            assert dialplan.find(to_context or context, exten, wanted) is not None, (context, exten, priority)


def test_every_agi_script_in_the_dialplan_is_served_by_the_ivr(dialplan: Dialplan) -> None:
    called = {m.group(1) for context in dialplan.contexts.values() for e in context.extensions
              for step in e.steps.values() if (m := re.fullmatch(r"\$\{HOTLINE_AGI\}/(\w+)", step.data))}
    assert called and called <= set(SCRIPTS)


def test_manager_user_matches_the_default_ami_username() -> None:
    from ami.settings import AmiServer

    assert AmiServer(name="pbx").username in sections(DEPLOY / "manager.conf")


# ---- queue_log in PostgreSQL: extconfig.conf, res_pgsql.conf, logger.conf, queue_log.sql ---------


def _settings(path: Path, section: str) -> dict[str, str]:
    return {key.strip(): value.strip() for key, sep, value in
            (re.split(r"(=>|=)", line, maxsplit=1) for line in sections(path)[section]) if sep}


def _sql_table(sql: str) -> tuple[str, list[str]]:
    match = re.search(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", sql, re.DOTALL)
    assert match is not None
    columns = [line.split()[0] for line in match.group(2).strip().splitlines()]
    return match.group(1), [c.rstrip(",") for c in columns]


def test_the_realtime_queue_log_configs_agree_with_each_other_and_the_reader() -> None:
    from ami.queue_log_table import DATA_COLUMNS, ROW_COLUMNS
    from ami.settings import QueueLogTable

    driver, database, table = _settings(DEPLOY / "extconfig.conf", "settings")["queue_log"].split(",")
    pgsql = _settings(DEPLOY / "res_pgsql.conf", "general")
    sql = (DEPLOY / "queue_log.sql").read_text("utf-8")
    name, columns = _sql_table(sql)
    assert (driver, database) == ("pgsql", pgsql["dbname"])
    assert table == name == QueueLogTable(url="postgresql+asyncpg://h/asterisk").table
    # Asterisk's columns (contrib/ast-db-manage/queue_log); data1..data5 make the logger split the
    # parameters ("adaptive"), and the reader needs every one it turns into a line
    assert columns == ["id", *ROW_COLUMNS, *DATA_COLUMNS]
    assert re.search(rf"CREATE INDEX IF NOT EXISTS \w+ ON {name} \(time\);", sql)
    logger = _settings(DEPLOY / "logger.conf", "general")
    assert logger["queue_log"] == "yes" and logger["queue_log_realtime_use_gmt"] == "yes"
    assert QueueLogTable(url="postgresql+asyncpg://h/asterisk").timezone == "UTC"
