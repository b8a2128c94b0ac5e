"""A serving process's garbage collector, settled once the process has warmed up.

With 1,000 open streams, CPython's full collections came every 1-10 s and each walked the whole heap
(the ~200,000 objects of the modules and the app, then the streams') for 0.1-0.5 s with nothing to
free, while every stream's change waited. Once warm, the process's heap so far is frozen out of
collection, and a full collection is considered after ten times as many younger ones
(docs/benchmarks.md, SSE).
"""

from __future__ import annotations

import gc

GEN0, GEN1 = gc.get_threshold()[:2]
FULL_AFTER = 100  # younger-generation collections before a full one is considered (CPython: 10)


def settle() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0, GEN1, FULL_AFTER)
