"""The IVR as one long-running part: the FastAGI server plus the app, started and stopped together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.app import IvrApp
from ivr.backend import IvrBackend, WaitEstimator
from ivr.channel import CommandObserver
from ivr.prompts import catalogue_from_settings, report_missing_sounds
from ivr.server import FastAgiServer
from ivr.settings import IvrSettings
from ticketing.models import utcnow

log = logging.getLogger(__name__)


class IvrService:
    """`await start()` in the application's lifespan, `await stop()` on the way out."""

    def __init__(
        self,
        settings: IvrSettings,
        backend: IvrBackend,
        *,
        tz: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
        wait_estimator: WaitEstimator | None = None,
        observer: CommandObserver | None = None,
    ) -> None:
        self.settings = settings
        self.prompts = catalogue_from_settings(settings.prompts)
        self.app = IvrApp(backend, settings, prompts=self.prompts, tz=tz, clock=clock,
                          wait_estimator=wait_estimator)
        self.server = FastAgiServer(
            self.app.route, host=settings.host, port=settings.port,
            environment_timeout=settings.environment_timeout_seconds,
            reply_timeout=settings.reply_timeout_seconds, observer=observer,
            allowed_peers=settings.allowed_peers, max_sessions=settings.max_sessions,
        )
        self.missing_sounds: list[str] = []

    async def start(self) -> None:
        self.missing_sounds = report_missing_sounds(self.prompts, self.settings.prompts.sounds_dir,
                                                    self.settings.channel_language)
        await self.server.start()

    async def stop(self, grace: float = 5.0) -> None:
        await self.server.stop(grace)
