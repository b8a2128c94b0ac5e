"""The wire format against every recorded FastAGI byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.errors import AgiEnvironmentError, AgiProtocolError
from ivr.protocol import (
    AgiReply,
    command_line,
    parse_environment,
    parse_environment_line,
    parse_reply,
    quote,
    status_code,
)
from tests.ivr.peer import Transcript, parse_args

TRANSCRIPTS = ["agi/fastagi_session", "agi/fastagi_session_en", "agi/call_answered_quick_ivr",
               "sip/sip_call.agi", "sip/sip_ivr.agi"]


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_every_recorded_environment_parses(name: str) -> None:
    transcript = Transcript.load(name)
    lines = transcript.environment.decode().split("\n")
    env = parse_environment(lines)
    assert env.script == "ivr"
    assert env.uniqueid and env.channel and env.get("version") == "22.10.1"
    assert env.get("accountcode") == ""  # "agi_accountcode: " (empty value) is kept, not dropped
    assert env.caller_number in ("13800138000", "13900000001")
    assert env.args == []


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_every_recorded_reply_line_is_understood(name: str) -> None:
    transcript = Transcript.load(name)
    for unit in transcript.replies:
        *notices, last = unit.decode().rstrip("\n").split("\n")
        assert all(n == "HANGUP" for n in notices)
        code = status_code(last)
        assert code in (200, 511), last
        if code == 200:
            assert parse_reply(last).raw == last


def test_reply_fields() -> None:
    assert parse_reply("200 result=12631 (timeout) endpos=75118") == AgiReply("12631", "timeout", 75118)
    assert parse_reply("200 result=0 endpos=3404") == AgiReply("0", None, 3404)
    assert parse_reply("200 result=1234").result == "1234"
    assert parse_reply("200 result=53").digit == "5"
    assert parse_reply("200 result=-1").failed
    assert parse_reply("200 result= (timeout)") == AgiReply("", "timeout", None)
    assert parse_reply("200 result=1 (13800138000|code=1234;choice=5|Local/ivr@caller-sim-00000008;1)").data == (
        "13800138000|code=1234;choice=5|Local/ivr@caller-sim-00000008;1")
    assert parse_reply("200 result=-1 (hangup) endpos=8000") == AgiReply("-1", "hangup", 8000)
    assert parse_reply("200 result=-1 Gosub label not found").failed
    with pytest.raises(AgiProtocolError):
        parse_reply("200 resultat=1")
    assert status_code("520-Invalid command syntax.  Proper usage follows:") == 520
    assert status_code("HANGUP") is None


def test_environment_lines() -> None:
    assert parse_environment_line("agi_accountcode: ") == ("agi_accountcode", "")
    assert parse_environment_line("agi_accountcode:") == ("agi_accountcode", "")
    assert parse_environment_line("") is None
    for garbage in ("GET / HTTP/1.1", "agi network: yes", "200 result=0", "\x00\x01"):
        with pytest.raises(AgiEnvironmentError):
            parse_environment_line(garbage)
    with pytest.raises(AgiEnvironmentError):
        parse_environment(["agi_channel: SIP/x", ""])


def test_script_name_drops_query_and_slashes() -> None:
    env = parse_environment(["agi_network_script: survey?ticket=42", "agi_request: agi://h/survey?ticket=42",
                             "agi_arg_1: 42", "agi_arg_2: x"])
    assert (env.script, env.query, env.args) == ("survey", {"ticket": "42"}, ["42", "x"])
    assert parse_environment(["agi_network_script: hotline/ivr", "agi_request: agi://h/hotline/ivr"]).script == "ivr"


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"), max_size=60))
def test_quoting_survives_asterisks_parser(value: str) -> None:
    assert parse_args(f"SET VARIABLE X {quote(value)}") == ["SET", "VARIABLE", "X", value]


def test_quote_flattens_newlines_and_command_line_refuses_them() -> None:
    assert parse_args("VERBOSE " + quote("a\nb")) == ["VERBOSE", "a b"]
    with pytest.raises(ValueError):
        command_line("VERBOSE", "a\nb")
