"""An importable app factory for multi-process serving (`hotline serve --workers N`, or any ASGI
server: `uvicorn --factory agent_desk.asgi:api_only`). Settings come from the environment and
hotline.toml. Each process is an API worker only: no adapters, no replay, no SLA sweep — run one
`hotline serve` (single worker) beside them for those, as docs/architecture.md describes."""

from __future__ import annotations

from fastapi import FastAPI

from agent_desk.app import create_app
from agent_desk.settings import load_settings


def api_only() -> FastAPI:
    return create_app(load_settings(), run_sweep=False, settle_heap=True)
