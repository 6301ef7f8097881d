"""Tasks the executor spec hands to pools, and the gates that hold them back.

A process pool and an interpreter pool send a function that uses globals by reference:
each worker imports this module to find it. So it lives outside the test files and
imports nothing at run time (the types are for mypy only): every worker process and
every worker interpreter pays for this import, and ``typing`` plus ``dataclasses``
would cost it more than 30 ms. A gate is made of three events: ``threading`` events
for a thread pool, proxies of a ``multiprocessing`` manager for a process pool, and
``QueueEvent`` (a cross-interpreter queue) for an interpreter pool. All three have the
same methods, so one task serves every kind.
"""

from __future__ import annotations

TYPE_CHECKING = False  # mypy takes it as true; nothing here imports typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterator, MutableSequence
    from typing import Any, Protocol
else:
    Protocol = object

# The size of the pools of the ``executor`` fixture: this many tasks can run at once.
# Two are enough for one task to overtake another; each more costs a start-up.
WORKERS = 2
# How long a task waits to be released before it gives up (a bug, not a healthy run).
RELEASE_TIMEOUT = 10.0


class Event(Protocol):
    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Record(Protocol):
    def append(self, n: int) -> None: ...
    def __iter__(self) -> Iterator[int]: ...


class Gate:
    """Holds one task back until the test releases it, and reports its progress."""

    def __init__(
        self,
        started: Event,
        release: Event,
        finished: Event,
        record: Record | MutableSequence[int],  # shared by a test's gates
        fail: bool = False,
    ) -> None:
        self.started, self.release, self.finished = started, release, finished
        self.record = record  # the order in which the tasks finished
        self.fail = fail


class MakeGates(Protocol):
    """The type of the ``make_gates`` fixture: ``count`` gates, one of them failing."""

    def __call__(self, count: int, *, fail_at: int | None = None) -> list[Gate]: ...


def held(n: int, gate: Gate) -> int:
    """Start, wait for the release, then return n * 10 (or raise, if the gate says)."""
    gate.started.set()
    try:
        if not gate.release.wait(RELEASE_TIMEOUT):
            raise TimeoutError(f'task {n} was never released')
        if gate.fail:
            raise ValueError(f'task {n} failed')
        return n * 10
    finally:
        gate.record.append(n)
        gate.finished.set()


def square(n: int) -> int:
    return n * n


def whereabouts() -> tuple[int, int]:
    """The process and the thread that run the call (imports paid for by the caller)."""
    import os
    import threading

    return os.getpid(), threading.get_ident()


def held_whereabouts(n: int, gate: Gate) -> tuple[int, int]:
    """``held``, then where it ran: which worker took the call."""
    held(n, gate)
    return whereabouts()


def counter_value(increment: int) -> int:
    """Add to a module global and return it: module state is per interpreter."""
    global COUNTER
    COUNTER += increment
    return COUNTER


COUNTER = 0


class QueueEvent:
    """An event that interpreters share: set means one item waits in the queue.

    ``concurrent.interpreters`` queues are shareable, so this object can be passed to
    a task in another interpreter and still be the same event there.
    """

    def __init__(self, queue: Any) -> None:
        self.queue = queue  # a concurrent.interpreters.Queue of maxsize 1

    def set(self) -> None:
        if self.queue.empty():
            self.queue.put(True)

    def is_set(self) -> bool:
        return not self.queue.empty()

    def wait(self, timeout: float | None = None) -> bool:
        try:
            self.queue.put(self.queue.get(timeout=timeout))  # look, then put back
        except Exception:  # concurrent.interpreters.QueueEmpty: time ran out
            return False
        return True


class QueueRecord:
    """A list of ints that interpreters append to, read back by the test."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.seen: list[int] = []

    def append(self, n: int) -> None:
        self.queue.put(n)

    def __iter__(self) -> Iterator[int]:
        while not self.queue.empty():
            self.seen.append(self.queue.get())
        return iter(list(self.seen))
