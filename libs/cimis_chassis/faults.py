"""Crash points for reliability tests: ``CIMIS_CRASH_POINT=<point>[:<detail>]`` kills the process.

A real SIGKILL at a named place proves recovery from exactly that place; the variable is never
set outside tests.
"""

from __future__ import annotations

import os
import signal


def crash_point(point: str, detail: str = "") -> None:
    wanted = os.environ.get("CIMIS_CRASH_POINT")
    if not wanted:
        return
    name, _, wanted_detail = wanted.partition(":")
    if name == point and (not wanted_detail or wanted_detail == detail):
        os.kill(os.getpid(), signal.SIGKILL)
