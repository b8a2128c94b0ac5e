"""A serving process settles its garbage collector once warm (`agent_desk.heap`); an app built
otherwise (tests, tools) leaves the process's collector alone. Each case runs in its own interpreter:
the collector's settings belong to the whole process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import asyncio, gc, json, sys
from agent_desk.app import create_app
from agent_desk.settings import load_settings

async def main() -> None:
    app = create_app(load_settings(), run_sweep=False, settle_heap=sys.argv[1] == "settle")
    async with app.router.lifespan_context(app):
        warm = next(t for t in asyncio.all_tasks() if t.get_name() == "kb-segmenter")
        await warm
        print(json.dumps({"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}))

asyncio.run(main())
"""


def _probe(tmp_path: Path, mode: str) -> dict[str, object]:
    env = {"HOTLINE_DB__URL": f"sqlite+aiosqlite:///{tmp_path}/probe.db", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("mode", ["settle", "leave"])
def test_a_serving_process_freezes_its_warm_heap_and_collects_in_full_less_often(tmp_path: Path, mode: str) -> None:
    from agent_desk import heap

    seen = _probe(tmp_path, mode)
    if mode == "settle":
        assert seen["threshold"] == [heap.GEN0, heap.GEN1, heap.FULL_AFTER]
        assert isinstance(seen["frozen"], int) and seen["frozen"] > 100_000  # the modules and the app at least
    else:
        assert seen["threshold"] == [heap.GEN0, heap.GEN1, 10]
        assert seen["frozen"] == 0
