"""Shared fixtures: ``executor`` (every kind of pool), ``client`` (flags2), servers.

The chapter's point is that the pools implement the same ``Executor`` interface, so
each generic claim is written once and runs against each kind (ids ``thread``,
``process-fork``, ``process-forkserver``, ``process-spawn``, ``interpreter``); the
pools are shared by the tests of a worker, since starting workers is what such a test
mostly waits for. Task functions live in ``executor_tasks.py``, which workers import
by name. ``client`` does the same for the three flags2 downloaders: sequential,
threadpool and asyncio, each a module with the same ``download_many``. ``flag_server``
is one slow_server.py shared by the tests of a worker; helpers and timeouts are in
``support.py``.
"""

from __future__ import annotations

import importlib
import multiprocessing
import signal
import site
import threading
import warnings
from collections.abc import Callable, Iterator, MutableSequence
from concurrent import futures
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.context import BaseContext
from multiprocessing.managers import SyncManager
from pathlib import Path
from types import ModuleType

import pytest

from harness import FlagServer
from tests.executor_tasks import (
    WORKERS,
    Event,
    Gate,
    MakeGates,
    QueueEvent,
    QueueRecord,
    Record,
    square,
)
from tests.support import BASE, CHAPTER, ROOT, SHORT_TIMEOUT, needs_python

# A suite started in the background (`tox &`, nohup) inherits Ctrl-C ignored, and so
# would the scripts it starts. The spec presses Ctrl-C as a reader at a terminal does:
# Python's own handler first, which the scripts then inherit as the default.
signal.signal(signal.SIGINT, signal.default_int_handler)

# The fork server imports once what every worker of a pool needs, then forks them.
WORKER_MODULES = ['concurrent.futures.process', 'multiprocessing.managers']
multiprocessing.get_context('forkserver').set_forkserver_preload(
    ['__main__', *WORKER_MODULES, 'tests.executor_tasks']
)


@pytest.fixture(scope='session')
def mp_context() -> BaseContext:
    """A start method that is safe in a process with threads (pytest-xdist, our pools).

    The default on Linux before 3.14, fork, copies a multi-threaded process in an
    inconsistent state, and Python 3.12+ warns about it (warnings are errors here).
    """
    return multiprocessing.get_context('forkserver')


@pytest.fixture(scope='session')
def manager(mp_context: BaseContext) -> Iterator[SyncManager]:
    """Events and lists that worker processes can share with the test, as proxies."""
    with mp_context.Manager() as sync_manager:
        yield sync_manager


@pytest.fixture(scope='session')
def interpreter_paths(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder whose .pth file puts the repository and chapter20/ on sys.path.

    Worker interpreters start from the interpreter's initial sys.path, not from the
    one pytest changed: ``site.addsitedir`` on this folder, as their initializer,
    lets them import ``tests.executor_tasks`` and the scripts.
    """
    folder = tmp_path_factory.mktemp('interpreter_paths')
    (folder / 'spec.pth').write_text(f'{ROOT}\n{CHAPTER}\n')
    return str(folder)


# Fork in a process with threads (pytest's own watchdog is one) is deprecated from 3.12
# on; the fork pools fork before a test's threads start, and only run executor_tasks.
FORK_WARNING = 'This process .* is multi-threaded'
FORK_IN_THREADS = f'ignore:{FORK_WARNING}:DeprecationWarning'
EXECUTOR_KINDS = [
    pytest.param('thread', id='thread'),
    pytest.param('process-fork', id='process-fork',
                 marks=pytest.mark.filterwarnings(FORK_IN_THREADS)),
    pytest.param('process-forkserver', id='process-forkserver'),
    pytest.param('process-spawn', id='process-spawn'),
    pytest.param('interpreter', id='interpreter', marks=needs_python(3, 14)),
]  # fmt: skip


def new_executor(kind: str, workers: int, request: pytest.FixtureRequest) -> Executor:
    """A pool of one of the EXECUTOR_KINDS, with workers that can run the tasks."""
    if kind == 'thread':
        return ThreadPoolExecutor(workers)
    if kind.startswith('process-'):
        context = multiprocessing.get_context(kind.removeprefix('process-'))
        return ProcessPoolExecutor(workers, mp_context=context)
    paths = request.getfixturevalue('interpreter_paths')
    return futures.InterpreterPoolExecutor(  # type: ignore[attr-defined,no-any-return]
        workers, initializer=site.addsitedir, initargs=(paths,)
    )


def start_fork_workers(pool: Executor) -> None:
    """Fork a fork pool's workers now: it forks them all at its first task."""
    with warnings.catch_warnings():  # whichever test comes first, see FORK_IN_THREADS
        warnings.filterwarnings('ignore', FORK_WARNING, DeprecationWarning)
        pool.submit(square, 0).result(SHORT_TIMEOUT)


class SharedPools:
    """One pool of each kind for all the tests of a worker session, made on first use.

    Starting workers is what a pool test mostly waits for (a spawn pool takes about
    0.25 s), and a pool starts them at its first tasks. So tests share these pools and
    leave them idle: every task released (``make_gates`` opens the gates at teardown),
    nothing shut down. A claim about the end of a pool takes ``fresh_executor``.

    One order matters: a process forked while sub-interpreters exist is broken (on 3.14
    and 3.15 each worker of a fork pool dies at once: BrokenProcessPool). So the fork
    pool forks its workers before any interpreter starts (call ``before_interpreters``
    before making an interpreter pool of your own, and shut that down at the end of
    the module), and a fresh fork pool is made only once the shared interpreter pool
    is shut down (``close``).
    """

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._pools: dict[str, Executor] = {}

    def before_interpreters(self) -> None:
        """Fork the shared fork pool's workers, if that is not done yet."""
        self.get('process-fork')

    def get(self, kind: str) -> Executor:
        if kind not in self._pools:
            if kind == 'interpreter':
                self.before_interpreters()
            self._pools[kind] = new_executor(kind, WORKERS, self._request)
            if kind == 'process-fork':
                start_fork_workers(self._pools[kind])
        return self._pools[kind]

    def kind(self, pool: Executor) -> str:
        return next(kind for kind, shared in self._pools.items() if shared is pool)

    def close(self, kind: str) -> None:
        """Shut down the pool of this kind, if any; get() makes a new one."""
        if kind in self._pools:
            self._pools.pop(kind).shutdown(cancel_futures=True)

    def shutdown(self) -> None:
        for kind in list(self._pools):
            self.close(kind)


@pytest.fixture(scope='session')
def executor_pools(request: pytest.FixtureRequest) -> Iterator[SharedPools]:
    """The pools the ``executor`` fixture hands out, shut down at the end."""
    pools = SharedPools(request)
    yield pools
    pools.shutdown()


@pytest.fixture(params=EXECUTOR_KINDS)
def executor(request: pytest.FixtureRequest, executor_pools: SharedPools) -> Executor:
    """A pool of WORKERS workers of each kind, shared with the other tests (idle).

    The chapter's point is that every kind implements the same Executor interface,
    so each generic claim is written once and runs on threads, on processes started
    each of the three ways, and (3.14+) on interpreters. Do not shut it down.
    """
    return executor_pools.get(request.param)


@pytest.fixture
def fresh_executor(
    executor: Executor, executor_pools: SharedPools, request: pytest.FixtureRequest
) -> Iterator[Executor]:
    """A new pool of one worker, of the same kind as ``executor``, for a test that
    shuts it down. Ask for it before ``make_gates``, so that the gates open first."""
    kind = executor_pools.kind(executor)
    if kind == 'process-fork':
        executor_pools.close('interpreter')  # see SharedPools
    pool = new_executor(kind, 1, request)
    if kind == 'process-fork':
        start_fork_workers(pool)
    yield pool
    pool.shutdown(cancel_futures=True)


def is_interpreter_pool(executor: Executor) -> bool:
    """InterpreterPoolExecutor (3.14+) is a subclass of ThreadPoolExecutor."""
    pool_class = getattr(futures, 'InterpreterPoolExecutor', None)
    return pool_class is not None and isinstance(executor, pool_class)


@pytest.fixture
def make_gates(
    executor: Executor, request: pytest.FixtureRequest
) -> Iterator[MakeGates]:
    """Builds gates that suit the executor; at teardown, opens every gate left shut
    and waits for the tasks that started, so the shared pool is idle again."""
    new_event: Callable[[], Event]
    record: Record | MutableSequence[int]
    if is_interpreter_pool(executor):
        from concurrent import interpreters  # type: ignore[attr-defined]

        def new_event() -> Event:
            return QueueEvent(interpreters.create_queue())

        record = QueueRecord(interpreters.create_queue())
    elif isinstance(executor, ProcessPoolExecutor):
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
    for gate in made:  # a failed test must not leave tasks blocking the shared pool
        gate.release.set()
    for gate in made:
        if gate.started.is_set():
            gate.finished.wait(SHORT_TIMEOUT)


@pytest.fixture(params=['sequential', 'threadpool', 'asyncio'])
def client(request: pytest.FixtureRequest) -> ModuleType:
    """Each flags2 downloader in turn, for the claims the three approaches share."""
    return importlib.import_module(f'flags2_{request.param}')


@pytest.fixture(scope='session')
def flag_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlagServer]:
    """slow_server.py with no delay and no errors, shared by the tests of a worker.

    Tests run one after the other in a worker, so ``flag_server.mark()`` at the start
    of a test lets it read the requests it made, and only those.
    """
    with FlagServer(cwd=tmp_path_factory.mktemp('flag_server')) as server:
        yield server


@pytest.fixture
def flag_server_factory(tmp_path: Path) -> Iterator[Callable[..., FlagServer]]:
    """Starts slow_server.py with the given options; each server stops at teardown."""
    started: list[FlagServer] = []

    def start(*options: str) -> FlagServer:
        started.append(FlagServer(*options, cwd=tmp_path))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def flags_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """flags.py downloads from BASE, which respx answers, into tmp_path."""
    import flags

    monkeypatch.setattr(flags, 'BASE_URL', BASE)
    monkeypatch.setattr(flags, 'DEST_DIR', tmp_path)
    return tmp_path


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh working directory: the scripts write ./downloaded under it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
