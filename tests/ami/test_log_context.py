"""While the live model hands on a change of a call, log lines carry the call's Linkedid: a recorded
capture through the parser and the model, rendered by the JSON formatter `hotline serve` uses."""

from __future__ import annotations

import logging
from pathlib import Path

from ami.clock import StreamClock
from ami.events import CallUpdated, ChangeEvent
from ami.model import LiveModel
from ami.parser import AmiParser
from tests.ami.helpers import recorded_chunks
from tests.json_logs import json_lines

LINKEDID = "1795868623.2"  # the one call of ami/call_answered
CALLER = "13800138000"


def test_lines_about_a_call_carry_its_linkedid_and_never_the_callers_number(fixtures_dir: Path) -> None:
    model = LiveModel(clock=StreamClock())

    def failing(event: ChangeEvent) -> None:
        if isinstance(event, CallUpdated) and event.call.final:
            raise RuntimeError("listener broke")

    model.listen(failing)
    with json_lines("ami") as lines:
        parser = AmiParser(wants=model.wants)
        for chunk in recorded_chunks(fixtures_dir / "ami" / "call_answered"):
            for message in parser.feed(chunk):
                model.apply("pbx1", message)
        logging.getLogger("ami.model").info("after the capture")

    ended = [line for line in lines if line["event"] == f"call {LINKEDID} on pbx1 ended: answered"]
    assert len(ended) == 1 and ended[0]["linkedid"] == LINKEDID
    assert ended[0]["logger"] == "ami.model" and ended[0]["level"] == "debug"
    failed = [line for line in lines if line["event"] == "event listener failed on CallUpdated"]
    assert len(failed) == 1 and failed[0]["linkedid"] == LINKEDID
    assert "RuntimeError: listener broke" in failed[0]["exception"]
    assert "linkedid" not in lines[-1]  # cleared once the call's change is handed on
    assert CALLER not in str(lines)
