"""What `hotline serve` logs: plain human-readable lines on stderr, at the level `desk.log_level` sets.

One configuration for the product's loggers (`ami.*`: the AMI link going down and up; `ivr.*`: the
FastAGI server and each IVR session; `asr.*`, `agent_desk.*`) and uvicorn's, applied in the serving
process and in every `--workers` process.
"""

from __future__ import annotations

import logging.config
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary (uvicorn's `log_config` takes the same)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        # uvicorn's own loggers go through the root's handler, in the same format.
        "loggers": {name: {"level": level, "handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def configure_logging(level: str) -> dict[str, Any]:
    """Apply the configuration now (before uvicorn starts) and return it for uvicorn."""
    config = log_config(level)
    logging.config.dictConfig(config)
    return config
