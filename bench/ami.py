"""AMI throughput: load.recv looped to >= 1,000,000 events through parse -> model -> call records
-> in-memory store, on one core, without and with the desk's live board listening to the model;
and Panoramisk 1.4's own parser alone on the same bytes.

Run: .venv/bin/python bench/ami.py [--events 1000000] [--chunk 4096]
Prints a small table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from panoramisk.ami_protocol import AMIProtocol

from agent_desk.live.board import LiveBoard
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.parser import AmiParser
from ami.sink import InMemoryCallStore

LOAD = ROOT / "tests" / "fixtures" / "asterisk" / "ami" / "load.recv"


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def ours(chunks: list[bytes], loops: int, *, board: bool = False) -> tuple[float, int, int]:
    store = InMemoryCallStore()
    records = 0

    def on_call(call):
        nonlocal records
        store.put(call.record_fields())
        records += call.final

    model = LiveModel(clock=StreamClock(), on_call=on_call)
    if board:
        LiveBoard(model)
    apply = model.apply
    start = time.perf_counter()
    for _ in range(loops):
        parser = AmiParser(wants=model.wants)
        feed = parser.feed
        for chunk in chunks:
            for message in feed(chunk):
                apply("pbx1", message)
    return time.perf_counter() - start, records, len(store.records)


def ours_parse_everything(chunks: list[bytes], loops: int) -> tuple[float, int]:
    """Our parser with no event filter: every header of every event is split."""
    count = 0
    start = time.perf_counter()
    for _ in range(loops):
        feed = AmiParser().feed
        for chunk in chunks:
            count += len(feed(chunk))
    return time.perf_counter() - start, count


class _Factory:
    events = 0
    forgetable_actions = ()
    awaiting_actions: tuple[object, ...] = ()

    def dispatch(self, message: object) -> None:
        self.events += 1


class _Transport:
    def close(self) -> None:
        pass


def panoramisk_parse(chunks: list[bytes], loops: int) -> tuple[float, int]:
    factory = _Factory()
    start = time.perf_counter()
    for _ in range(loops):
        protocol = AMIProtocol()
        protocol.connection_made(_Transport())
        protocol.factory = factory
        protocol.encoding = "utf8"
        for chunk in chunks:
            protocol.data_received(chunk)
    return time.perf_counter() - start, factory.events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per simulated TCP read")
    args = parser.parse_args()
    data = LOAD.read_bytes()
    per_loop = data.count(b"\r\nEvent: ") + data.startswith(b"Event: ")
    loops = -(-args.events // per_loop)
    events = per_loop * loops
    chunks = chunks_of(data, args.chunk)
    full_seconds, records, distinct = ours(chunks, loops)
    board_seconds, _, _ = ours(chunks, loops, board=True)
    raw_seconds, raw_events = panoramisk_parse(chunks, loops)
    all_seconds, all_messages = ours_parse_everything(chunks, loops)
    result = {
        "events": events, "loops": loops, "bytes": len(data) * loops, "chunk_bytes": args.chunk,
        "full_path_seconds": round(full_seconds, 3),
        "full_path_events_per_s": round(events / full_seconds),
        "with_board_seconds": round(board_seconds, 3),
        "with_board_events_per_s": round(events / board_seconds),
        "call_records_finished": records, "distinct_records_stored": distinct,
        "panoramisk_parse_seconds": round(raw_seconds, 3),
        "panoramisk_parse_events_per_s": round(raw_events / raw_seconds),
        "ratio_full_path_to_panoramisk_parse": round(raw_seconds / full_seconds, 2),
        "our_parse_all_headers_seconds": round(all_seconds, 3),
        "our_parse_all_headers_messages_per_s": round(all_messages / all_seconds),
        "target_events_per_s": 50_000,
    }
    print(f"{'path':<42}{'seconds':>10}{'events/s':>12}")
    print(f"{'parse+model+records+store (ours)':<42}{full_seconds:>10.2f}{events / full_seconds:>12,.0f}")
    print(f"{'the same, the desk board listening':<42}{board_seconds:>10.2f}{events / board_seconds:>12,.0f}")
    print(f"{'panoramisk 1.4 parse only':<42}{raw_seconds:>10.2f}{raw_events / raw_seconds:>12,.0f}")
    print(f"{'our parser, every header of every event':<42}{all_seconds:>10.2f}"
          f"{all_messages / all_seconds:>12,.0f}")
    print(f"ours is {raw_seconds / full_seconds:.2f}x panoramisk's parse-only speed; "
          f"{records} call records ({distinct} distinct keys)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
