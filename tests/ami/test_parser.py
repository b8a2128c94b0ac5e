"""The AMI parser on real bytes and on damaged input."""

from __future__ import annotations

from pathlib import Path

import pytest

from ami.parser import AmiParser, message_kind, parse_headers

GOOD = b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
NEXT = b"Event: QueueCallerJoin\r\nQueue: q1\r\nUniqueid: 1.1\r\nPosition: 1\r\n\r\n"


def feed_all(parser: AmiParser, *chunks: bytes) -> list[dict[str, str]]:
    out = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return out


def test_banner_and_empty_values_are_kept() -> None:
    parser = AmiParser()
    msgs = feed_all(parser, b"Asterisk Call Manager/11.0.0\r\n",
                    b"Event: Newchannel\r\nAccountCode: \r\nExten: 12345\r\n\r\n")
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert msgs == [{"Event": "Newchannel", "AccountCode": "", "Exten": "12345"}]


def test_originate_response_is_an_event_by_its_first_line() -> None:
    msg = parse_headers("Event: OriginateResponse\r\nActionID: a-1\r\nResponse: Success\r\nReason: 4")
    assert message_kind(msg) == "event"
    assert message_kind(parse_headers("Response: Success\r\nActionID: a-1")) == "response"


def test_command_output_lines_are_joined() -> None:
    msg = parse_headers("Response: Success\r\nActionID: c\r\nOutput: line one\r\nOutput: line two")
    assert msg["Output"] == "line one\nline two"


@pytest.mark.parametrize("damage", [
    b"garbage line without colon\r\n\x00\xff junk\r\n\r\n",
    b"Event: Truncated\r\nKey: val",  # a truncated message directly followed by a new one
])
def test_garbage_never_loses_the_next_message(damage: bytes) -> None:
    parser = AmiParser(expect_banner=False)
    msgs = feed_all(parser, GOOD, damage + b"\r\n" + NEXT if damage.endswith(b"val") else damage, NEXT)
    assert msgs[0]["Event"] == "FullyBooted"
    assert msgs[-1] == {"Event": "QueueCallerJoin", "Queue": "q1", "Uniqueid": "1.1", "Position": "1"}


def test_missing_blank_line_splits_at_the_next_event() -> None:
    parser = AmiParser(expect_banner=False)
    msgs = parser.feed(b"Event: A\r\nX: 1\r\nEvent: B\r\nY: 2\r\n\r\n")
    assert [m["Event"] for m in msgs] == ["A", "B"]
    assert msgs[1] == {"Event": "B", "Y": "2"}


def test_one_megabyte_header_is_dropped_and_memory_stays_bounded() -> None:
    parser = AmiParser(expect_banner=False, max_message_bytes=256 * 1024)
    huge = b"Event: Huge\r\nBlob: " + b"x" * (1 << 20)
    msgs = []
    for start in range(0, len(huge), 4096):
        msgs += parser.feed(huge[start:start + 4096])
        assert len(parser._buffer) <= 256 * 1024 + 4096
    msgs += parser.feed(b"\r\n\r\n" + NEXT)
    assert [m["Event"] for m in msgs] == ["QueueCallerJoin"]
    assert parser.stats.oversized == 1


def test_non_utf8_bytes_decode_as_gb18030_without_raising() -> None:
    parser = AmiParser(expect_banner=False)
    name = "张三".encode("gb18030")
    msgs = parser.feed(b"Event: Newchannel\r\nCallerIDName: " + name + b"\r\n\r\n" + NEXT)
    assert msgs[0]["CallerIDName"] == "张三"
    assert msgs[1]["Event"] == "QueueCallerJoin"
    msgs = parser.feed(b"Event: X\r\nName: \xff\xfe\x80\r\n\r\n")
    assert msgs[0]["Event"] == "X"


def test_filter_skips_unwanted_events_but_counts_them(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "ami" / "call_answered.recv").read_bytes()
    everything = AmiParser().feed(data)
    only_queue = AmiParser(wants=lambda name, raw: name.startswith("Queue"))
    picked = only_queue.feed(data)
    assert [m for m in everything if m.get("Event", "").startswith("Queue")
            or message_kind(m) == "response"] == picked
    assert only_queue.stats.skipped == sum(1 for m in everything if "Event" in m
                                           and not m["Event"].startswith("Queue"))


def test_byte_by_byte_equals_whole(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "ami" / "agent_ops.recv").read_bytes()
    whole = AmiParser().feed(data)
    parser = AmiParser()
    pieces = [m for i in range(len(data)) for m in parser.feed(data[i:i + 1])]
    assert pieces == whole
    assert sum(1 for m in whole if "Event" in m) == data.count(b"\r\nEvent: ") + data.startswith(b"Event")
