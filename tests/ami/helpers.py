from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from ami.calldata import CallData
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.parser import AmiParser
from ticketing.db import make_engine

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


# Captures recorded together with Asterisk's own queue_log (the arbiter of call KPIs).
WITH_QUEUE_LOG = ["ami/exit_with_key", "ami/redirect_waiting_to_queue", "ami/redirect_bridged_to_queue",
                  "ami/redirect_to_agent", "ami/resync_during_join", "ami/asterisk_restart",
                  "ami/callback_originate", "queue_log/example"]
EMPTY_QUEUE: dict[str, Any] = {
    **dict.fromkeys(("offered", "answered", "abandoned", "timeout", "exit_with_key", "transferred",
                     "answered_within_15s", "answered_within_sl"), 0),
    "asa_seconds": None, "aht_seconds": None}
_FINAL = {"CONNECT": "answered", "ABANDON": "abandoned", "EXITWITHTIMEOUT": "timeout",
          "EXITEMPTY": "timeout", "EXITWITHKEY": "exit_with_key"}


def queue_log_truth(path: Path, service_level: int = 20) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """What Asterisk's queue_log alone says, by the rules the recordings' `truth.json` state: per
    queue the KPIs the product reports, and how many calls ended with each final outcome. Written
    independently of `ami.queue_log`; checked against every `truth.json`."""
    lines = [line.split("|") for line in path.read_text().splitlines() if line]
    queues: dict[str, dict[str, Any]] = {}
    waits: dict[str, list[int]] = {}
    talks: dict[str, list[int]] = {}
    last: dict[str, str] = {}
    for index, (_, callid, queue, _member, event, *params) in enumerate(lines):
        if callid in ("NONE", "MANAGER"):
            continue
        q = queues.setdefault(queue, dict(EMPTY_QUEUE))
        if event == "ENTERQUEUE":
            q["offered"] += 1
        elif event == "CONNECT":
            hold = int(params[0])
            q["answered"] += 1
            q["answered_within_15s"] += hold <= 15
            q["answered_within_sl"] += hold <= service_level
            waits.setdefault(queue, []).append(hold)
        elif event in ("COMPLETECALLER", "COMPLETEAGENT"):
            talks.setdefault(queue, []).append(int(params[1]))
        elif event == "ABANDON":
            again = any(l[1] == callid and l[4] == "ENTERQUEUE" for l in lines[index + 1:])
            q["transferred" if again else "abandoned"] += 1
        elif event in ("EXITWITHTIMEOUT", "EXITEMPTY"):
            q["timeout"] += 1
        elif event == "EXITWITHKEY":
            q["exit_with_key"] += 1
        if event in _FINAL:
            last[callid] = _FINAL[event]
    for name, q in queues.items():
        q["asa_seconds"] = round(sum(waits[name]) / len(waits[name]), 2) if waits.get(name) else None
        q["aht_seconds"] = round(sum(talks[name]) / len(talks[name]), 2) if talks.get(name) else None
    finals: dict[str, int] = {}
    for outcome in last.values():
        finals[outcome] = finals.get(outcome, 0) + 1
    return queues, finals


def asterisk_row(line: str, zone: str = "UTC") -> dict[str, str]:
    """A queue_log line as main/logger.c stores it in the realtime table with data1..data5 columns:
    time as '%F %T.%6q' (UTC with queue_log_realtime_use_gmt, else the PBX's zone), parameters split
    at '|' into at most five, the fifth keeping the rest, and '' for the ones not given."""
    epoch, callid, queue, agent, event, *params = line.split("|")
    data = "|".join(params).split("|", 4) if params else []
    data += [""] * (5 - len(data))
    at = datetime.fromtimestamp(int(epoch), ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S.%f")
    return {"time": at, "callid": callid, "queuename": queue, "agent": agent, "event": event,
            **{f"data{n}": value for n, value in enumerate(data, 1)}}


async def sqlite_queue_log(url: str, lines: list[str], zone: str = "UTC") -> None:
    """Asterisk's realtime queue_log table on SQLite (res_config_sqlite3 keeps `time` as text), filled
    with `lines` as the logger writes them."""
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text(
            "CREATE TABLE queue_log (id INTEGER PRIMARY KEY, time TEXT, callid TEXT, queuename TEXT, agent TEXT, "
            "event TEXT, data1 TEXT, data2 TEXT, data3 TEXT, data4 TEXT, data5 TEXT)"))
        await connection.execute(text(
            "INSERT INTO queue_log (time, callid, queuename, agent, event, data1, data2, data3, data4, data5) "
            "VALUES (:time, :callid, :queuename, :agent, :event, :data1, :data2, :data3, :data4, :data5)"),
            [asterisk_row(line, zone) for line in lines])
    await engine.dispose()
