"""Shared fixtures: ``executor`` (a thread and a process pool) and ``client`` (flags2).

The chapter's point is that both pools implement the same ``Executor`` interface, so
each generic claim is written once and runs against both (ids ``thread``, ``process``).
Constants and task functions live in ``executor_tasks.py``: worker processes import that
module, and test modules import it by name (two files called conftest.py cannot both be
imported that way). ``client`` does the same for the three flags2 downloaders:
sequential, threadpool and asyncio, each a module with the same ``download_many``.
"""

from __future__ import annotations

import importlib
import multiprocessing
import threading
from collections.abc import Callable, Iterator, MutableSequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.context import BaseContext
from multiprocessing.managers import SyncManager
from types import ModuleType

import pytest

from tests.executor_tasks import WORKERS, Event, Gate, MakeGates


@pytest.fixture(scope='session')
def mp_context() -> BaseContext:
    """A start method that is safe in a process with threads (pytest-xdist, our pools).

    The default on Linux before 3.14, fork, copies a multi-threaded process in an
    inconsistent state, and Python 3.12+ warns about it (warnings are errors here).
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context(
        'forkserver' if 'forkserver' in methods else 'spawn'
    )


@pytest.fixture(scope='session')
def manager(mp_context: BaseContext) -> Iterator[SyncManager]:
    """Events and lists that worker processes can share with the test, as proxies."""
    with mp_context.Manager() as sync_manager:
        yield sync_manager


@pytest.fixture(params=['thread', 'process'])
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    """A fresh pool of WORKERS workers of each kind, shut down after the test."""
    pool: Executor
    if request.param == 'thread':
        pool = ThreadPoolExecutor(WORKERS)
    else:
        pool = ProcessPoolExecutor(
            WORKERS, mp_context=request.getfixturevalue('mp_context')
        )
    with pool:
        yield pool


@pytest.fixture
def make_gates(
    executor: Executor, request: pytest.FixtureRequest
) -> Iterator[MakeGates]:
    """Builds gates that suit the executor; opens every gate left shut at teardown."""
    new_event: Callable[[], Event]
    record: MutableSequence[int]
    if isinstance(executor, ProcessPoolExecutor):
        sync_manager: SyncManager = request.getfixturevalue('manager')
        new_event, record = sync_manager.Event, sync_manager.list()
    else:
        new_event, record = threading.Event, []
    made: list[Gate] = []

    def make(count: int, *, fail_at: int | None = None) -> list[Gate]:
        gates = [
            Gate(new_event(), new_event(), new_event(), record, fail=n == fail_at)
            for n in range(count)
        ]
        made.extend(gates)
        return gates

    yield make
    for gate in made:  # a failed test must not leave tasks blocking the pool's shutdown
        gate.release.set()


@pytest.fixture(params=['sequential', 'threadpool', 'asyncio'])
def client(request: pytest.FixtureRequest) -> ModuleType:
    """Each flags2 downloader in turn, for the claims the three approaches share."""
    return importlib.import_module(f'flags2_{request.param}')
