"""How worker processes start: forked from a preloaded server where the platform has one."""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext


def worker_context(preload: list[str]) -> BaseContext:
    """Workers forked from a server that imported ``preload`` once, so that they start in seconds (spawned
    ones each import everything again: benchmarks/loader_start.py), and none is forked from a process whose
    thread pools already run (a fork after torch started its threads can deadlock). Spawned where the
    platform has no forkserver. The server is started once per process: the first preload list stands."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    return context
