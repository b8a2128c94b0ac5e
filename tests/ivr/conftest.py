"""IVR test fixtures: an in-memory backend (the `IvrBackend` seam) and a live FastAGI server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr.app import IvrApp
from ivr.backend import RecordedAudio, SurveyAnswer, SurveyOutcome, TicketProgress, WaitEstimator
from ivr.prompts import load_catalogue
from ivr.server import FastAgiServer
from ivr.settings import IvrSettings
from tests.ivr.peer import PeerLog, SimulatedChannel, Transcript, run_call
from ticketing.settings import CalendarSettings
from ticketing.vocabulary import TicketState

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # Saturday 10:00 in Shanghai
LOCAL = ZoneInfo(CalendarSettings().timezone)  # the product's default time zone


@dataclass
class MemoryBackend:
    """Keeps everything in lists; `fail_submit` makes the recording hand-over raise."""

    tickets: dict[str, TicketProgress] = field(default_factory=dict)
    open_by_caller: dict[str, TicketProgress] = field(default_factory=dict)
    recordings: list[RecordedAudio] = field(default_factory=list)
    surveys: list[SurveyAnswer] = field(default_factory=list)
    fail_submit: bool = False
    lookups: list[str] = field(default_factory=list)

    async def ticket_progress(self, digits: str) -> TicketProgress | None:
        self.lookups.append(digits)
        return self.tickets.get(digits)

    async def open_ticket_for_caller(self, caller_number: str, within: timedelta) -> TicketProgress | None:
        assert within == timedelta(days=7)
        return self.open_by_caller.get(caller_number)

    async def submit_recording(self, audio: RecordedAudio) -> int:
        if self.fail_submit:
            raise RuntimeError("ASR queue unavailable")
        self.recordings.append(audio)
        return 500 + len(self.recordings)

    async def record_survey(self, answer: SurveyAnswer) -> SurveyOutcome:
        self.surveys.append(answer)
        return SurveyOutcome(len(self.surveys), answer.ticket_id, answer.ticket_id is not None)


def handling_ticket(digits: str = "20261128000123", ticket_id: int = 123) -> TicketProgress:
    return TicketProgress(ticket_id, f"JS{digits[:8]}-{digits[8:]}", digits, TicketState.HANDLING,
                          due_at=datetime(2026, 12, 3, 9, 30, tzinfo=UTC))


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
def ivr_settings() -> IvrSettings:
    return IvrSettings(server_name="pbx0")


@pytest.fixture
def session() -> Transcript:
    return Transcript.load("agi/fastagi_session")


CATALOGUE = load_catalogue()


@asynccontextmanager
async def serving(router: Callable[..., object], **server_options: object) -> AsyncIterator[FastAgiServer]:
    server = FastAgiServer(router, host="127.0.0.1", port=0, **server_options)  # type: ignore[arg-type]
    await server.start()
    try:
        yield server
    finally:
        await server.stop(grace=2.0)


@dataclass
class Harness:
    """Run scripted calls against a live IVR server."""

    backend: MemoryBackend
    settings: IvrSettings
    session: Transcript
    clock: Callable[[], datetime] = lambda: NOW
    wait_estimator: WaitEstimator | None = None

    def app(self) -> IvrApp:
        return IvrApp(self.backend, self.settings, prompts=CATALOGUE, tz=LOCAL, clock=self.clock,
                      wait_estimator=self.wait_estimator)

    async def call(self, script: str, channel: SimulatedChannel, **env: str) -> PeerLog:
        async with serving(self.app().route) as server:
            log = await run_call(server.bound_port, self.session.environment_for(script, **env), channel)
            await server.stop(grace=2.0)
            self.last_stats = server.stats
        assert log.closed_by_server, "the server must end the call by closing the connection"
        for command in log.commands:  # every prompt the flows play is in the catalogue
            words = command.split(" ")
            if words[:2] in (["STREAM", "FILE"], ["GET", "DATA"]) and words[2].startswith("hotline/"):
                assert words[2].removeprefix("hotline/") in CATALOGUE.texts, command
        return log


@pytest.fixture
def harness(backend: MemoryBackend, ivr_settings: IvrSettings, session: Transcript) -> Harness:
    return Harness(backend, ivr_settings, session)
