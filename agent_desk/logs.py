"""What `hotline serve` logs: one line per record on stderr, at `desk.log_level`, in `desk.log_format`.

- `plain` (the default, `make run`): `2026-12-02 18:20:01,234 INFO ivr.app: IVR ivr session of call …`
- `json` (role deployments, `deploy/systemd/`): one JSON object per line, rendered by structlog's
  `ProcessorFormatter` from the same stdlib records: `timestamp` (ISO 8601, UTC), `level`,
  `logger`, `event` (the message), `exception` when there is one, and the context bound with
  `structlog.contextvars` where the line was logged: `request_id` (`agent_desk.request_ids`),
  `ticket` (its number), `linkedid` and `uniqueid` (a call).

One configuration for the product's loggers (`ami.*`, `ivr.*`, `asr.*`, `ticketing.*`,
`agent_desk.*`) and uvicorn's, applied in the serving process and in every `--workers` process
(uvicorn applies the same dictionary there, so it names its factories by import path).
Access lines name the path without its query string, which can hold a caller's number.
"""

from __future__ import annotations

import logging.config
from typing import Any, Literal

import structlog

LogFormat = Literal["plain", "json"]
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )


class PathWithoutQuery(logging.Filter):
    """uvicorn's access line without the query string (`?caller_number=…`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, str(path).split("?", 1)[0], version, status)
        return True


def log_config(level: str, log_format: LogFormat = "plain") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary (uvicorn's `log_config` takes the same)."""
    formatter = {"format": FORMAT} if log_format == "plain" else {"()": f"{__name__}.json_formatter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"lines": formatter},
        "filters": {"no_query": {"()": f"{__name__}.PathWithoutQuery"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "lines",
                                "filters": ["no_query"], "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        # uvicorn's own loggers go through the root's handler, in the same format.
        "loggers": {name: {"level": level, "handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def configure_logging(level: str, log_format: LogFormat = "plain") -> dict[str, Any]:
    """Apply the configuration now (before uvicorn starts) and return it for uvicorn."""
    config = log_config(level, log_format)
    logging.config.dictConfig(config)
    logging.captureWarnings(True)  # a Python warning is a line like the others (`py.warnings`)
    return config
