"""One call in progress: its channel, what the caller chose, and the variables it leaves behind."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from structlog.contextvars import bind_contextvars

from ivr import variables as var
from ivr.backend import CallInfo, IvrBackend, WaitEstimator
from ivr.channel import AgiChannel, Input, Playback
from ivr.errors import AgiError
from ivr.prompts import PromptCatalogue
from ivr.settings import IvrSettings
from ticketing.vocabulary import clip_path

log = logging.getLogger(__name__)

Result = Literal["report", "progress", "enterprise", "agent", "message"]


@dataclass
class Deps:
    """What every flow may use. Built once by `IvrApp`, shared by all calls."""

    backend: IvrBackend
    settings: IvrSettings
    prompts: PromptCatalogue
    clock: Callable[[], datetime]
    tz: ZoneInfo  # local time: service hours, dates read to callers
    wait_estimator: WaitEstimator | None = None


@dataclass
class Call:
    channel: AgiChannel
    deps: Deps
    path: list[str] = field(default_factory=list)
    result: Result | None = None
    queue: str | None = None
    priority: int = 0
    draft_id: int | None = None
    ticket_id: int | None = None
    typeahead: str = ""  # keys that came with the menu choice, for the next question
    _linkedid: str | None = None

    @property
    def settings(self) -> IvrSettings:
        return self.deps.settings

    def step(self, name: str) -> None:
        self.path.append(name)

    def path_text(self, earlier: str | None = None) -> str:
        """The call's path: an earlier session's path (if any), then this session's steps."""
        text = ">".join([earlier, *self.path] if earlier else self.path)
        return clip_path(text)

    async def info(self) -> CallInfo:
        """The caller and the call's Linkedid (asked once: it joins the AMI call record)."""
        env = self.channel.env
        if self._linkedid is None:
            linkedid = None
            try:
                linkedid = await self.channel.get_full_variable("${CHANNEL(linkedid)}")
            except AgiError as exc:
                log.debug("no linkedid for %s: %s", env.uniqueid, exc)
            self._linkedid = linkedid or env.uniqueid
            bind_contextvars(linkedid=self._linkedid)  # the session's later lines (ivr.server binds uniqueid)
        return CallInfo(
            uniqueid=env.uniqueid, linkedid=self._linkedid, channel=env.channel,
            caller_number=env.caller_number, caller_name=env.caller_name, server=self.settings.server_name,
        )

    # ---- prompts -------------------------------------------------------------------------

    async def play(self, prompt_id: str, escape_digits: str = "") -> Playback:
        return await self.channel.stream_file(self.deps.prompts.name(prompt_id), escape_digits)

    async def ask(self, prompt_id: str, timeout_ms: int, max_digits: int) -> Input:
        return await self.channel.get_data(self.deps.prompts.name(prompt_id), timeout_ms, max_digits)

    # ---- outcome -------------------------------------------------------------------------

    def send_to_queue(self, result: Result, queue: str, priority: int) -> None:
        self.result = result
        self.queue = queue
        self.priority = priority

    async def set(self, name: str, value: str | int) -> None:
        """Set a channel variable now; allowed even after the caller hung up."""
        await self.channel.set_variable(name, value)

    async def finish(self) -> None:
        """Leave the outcome on the channel for the dialplan and the call record. Never raises.

        A call can run several sessions (the IVR, then a message after the queue, then the
        survey): each appends its steps to the call's IVR_PATH, and IVR_RESULT keeps the first
        decision, so the call record (the last VarSet of each) describes the whole call.
        """
        if self.channel.closed:
            return
        try:
            if self.queue:
                await self.channel.set_variable(var.HOTLINE_QUEUE, self.queue)
                await self.channel.set_variable(var.HOTLINE_PRIORITY, self.priority)
                await self.channel.set_variable(var.QUEUE_PRIO, self.priority)
            earlier = await self.channel.get_variable(var.IVR_PATH)
            await self.channel.set_variable(var.IVR_PATH, self.path_text(earlier))
            if self.result and not await self.channel.get_variable(var.IVR_RESULT):
                await self.channel.set_variable(var.IVR_RESULT, self.result)
        except AgiError as exc:
            log.info("call %s: could not leave its variables: %s", self.channel.env.uniqueid, exc)
