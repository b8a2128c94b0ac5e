"""Every line of an IVR session carries the call's ids: `uniqueid` from the `agi_*` block at once,
`linkedid` once the flow has asked the channel for it (Asterisk does not send it in the block)."""

from __future__ import annotations

import logging

import pytest

from tests.ivr.conftest import Harness
from tests.ivr.peer import Listen, Press, SimulatedChannel, Speak
from tests.json_logs import json_lines

pytestmark = pytest.mark.anyio
UNIQUEID = "1795868652.16"  # agi_uniqueid of agi/fastagi_session
LINKEDID = "1795868650.11"  # the call's first channel, before the Local channel the IVR runs on


async def test_the_session_line_carries_the_uniqueid_and_the_linkedid(harness: Harness) -> None:
    with json_lines("ivr", logging.INFO) as lines:
        await harness.call("ivr", SimulatedChannel([Listen(), Press("1"), Speak(samples=8000)], linkedid=LINKEDID))
    session = [line for line in lines if line["event"].startswith("IVR ivr session of call")]
    assert len(session) == 1 and session[0]["event"].endswith(": report, greeting>menu:1>record:timeout")
    assert (session[0]["uniqueid"], session[0]["linkedid"]) == (UNIQUEID, LINKEDID)
    listening = [line for line in lines if line["event"].startswith("FastAGI listening")]
    assert listening and "uniqueid" not in listening[0]  # the server's own lines belong to no call
    assert "13800138000" not in str(lines)  # agi_callerid
