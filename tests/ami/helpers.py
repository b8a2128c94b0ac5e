from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ami.calldata import CallData
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.parser import AmiParser

AMI_STREAMS = ["ami/login_and_status", "ami/call_answered", "ami/call_answered_direct",
               "ami/call_abandoned", "ami/agent_ops", "ami/load", "queue_log/example",
               "sip/sip_call.ami", "sip/sip_ivr.ami", "agi/fastagi_session.ami",
               "agi/fastagi_session_en.ami", "ami/exit_with_key", "ami/redirect_waiting_to_queue",
               "ami/redirect_bridged_to_queue", "ami/redirect_to_agent", "ami/resync_during_join",
               "ami/asterisk_restart", "ami/callback_originate"]
# Every capture as a replay reads it: the journal (recorded timing) where there is one.
ALL_CAPTURES = [f"{name}.jsonl" if name != "queue_log/example" else f"{name}.recv" for name in AMI_STREAMS]


def recorded_chunks(base: Path) -> list[bytes]:
    chunks = []
    with Path(f"{base}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("dir") == "asterisk->client" and row.get("conn", "main") == "main":
                chunks.append(row["data"].encode("utf-8"))
    return chunks


def replay_chunks(chunks: Iterable[bytes], server: str = "pbx1") -> tuple[LiveModel, list[CallData]]:
    calls: list[CallData] = []
    model = LiveModel(clock=StreamClock(), on_call=lambda c: calls.append(c) if c.final else None)
    parser = AmiParser(wants=model.wants)
    for chunk in chunks:
        for message in parser.feed(chunk):
            model.apply(server, message)
    return model, calls


def records(calls: Iterable[CallData]) -> list[dict[str, Any]]:
    return sorted((c.to_dict() for c in calls), key=lambda r: r["linkedid"])


def summary(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["outcome"], record["queue"], record["agent"], record["wait_seconds"],
            record["talk_seconds"], record["entry_position"],
            tuple((l["queue"], l["outcome"], l["wait_seconds"], l["position"], l["agent"],
                   l["talk_seconds"]) for l in record["legs"]))
