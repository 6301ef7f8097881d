"""Tasks the executor spec hands to pools, and the gates that hold them back.

A process pool sends a function by reference: each worker process imports this module
to find it. So it lives outside the test files and imports only the standard library,
which keeps worker start-up cheap. Gates carry ``threading`` events for a thread pool
and proxies of a ``multiprocessing`` manager for a process pool: both have the same
methods.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Protocol

# Generous limits for every blocking wait: a healthy run never comes near them, and a
# bug fails the test after this long instead of hanging the suite.
TIMEOUT = 10.0
SUBPROCESS_TIMEOUT = 30.0
# The size of the pools of the ``executor`` fixture: this many tasks can run at once.
WORKERS = 4
# How long Executor.map's own timeout lets a test wait for a result that cannot come.
SHORT = 0.05


class Event(Protocol):
    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class Gate:
    """Holds one task back until the test releases it, and reports its progress."""

    started: Event
    release: Event
    finished: Event
    record: MutableSequence[int]  # shared by all gates of a test: the finishing order
    fail: bool = False


class MakeGates(Protocol):
    """The type of the ``make_gates`` fixture: ``count`` gates, one of them failing."""

    def __call__(self, count: int, *, fail_at: int | None = None) -> list[Gate]: ...


def held(n: int, gate: Gate) -> int:
    """Start, wait for the release, then return n * 10 (or raise, if the gate says)."""
    gate.started.set()
    try:
        if not gate.release.wait(TIMEOUT):
            raise TimeoutError(f'task {n} was never released')
        if gate.fail:
            raise ValueError(f'task {n} failed')
        return n * 10
    finally:
        gate.record.append(n)
        gate.finished.set()


def square(n: int) -> int:
    return n * n
