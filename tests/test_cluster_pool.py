"""Beyond the book: a Dask cluster behind the Executor interface, and cluster_pool.py.

The chapter's point is that executors are interchangeable. dask.distributed keeps the
contract of concurrent.futures across processes and machines: same results, ``map`` in
input order, plain ``concurrent.futures.Future`` objects, exceptions where they belong.

Dask is optional: the tests marked ``cluster`` run only in the tox env ``cluster``,
which installs it. The others run everywhere: the message a reader without Dask gets,
and the script's own handling of its arguments, with a stand-in for ``Client``.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import logging
import math
import os
import re
import socket
import sys
import types
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import pytest

import proc_pool
from harness import Lines, stop
from primes import is_prime
from proc_pool import check_numbers
from tests.support import CHAPTER, LONG_TIMEOUT, SHORT_TIMEOUT, run_script, start_script

SCRIPT = CHAPTER / 'cluster_pool.py'
SMALL_NUMBERS = [2, 3, 4, 9, 25, 7919, 7921, 1_000_003]  # 7921 is 89 squared

# Runs the script on SMALL_NUMBERS: a wrapper, as a subprocess cannot be monkeypatched.
RUN_SMALL = f"""
import sys
sys.path.insert(0, {str(CHAPTER)!r})
import primes
primes.NUMBERS[:] = {SMALL_NUMBERS!r}  # in place: check_numbers's default
import cluster_pool
cluster_pool.main(sys.argv[1:])
"""
# Makes `import distributed` fail, as it does where Dask is not installed.
RUN_WITHOUT_DASK = f"""
import runpy, sys
sys.modules['distributed'] = None
sys.path.insert(0, {str(CHAPTER)!r})  # what running the script by path does
runpy.run_path({str(SCRIPT)!r}, run_name='__main__')
"""


def run_in_own_group(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run ``python ARGS`` as the leader of a process group, which stop() then ends."""
    child, out, err = start_script(*args, cwd=cwd, start_new_session=True)
    try:
        status = child.wait(LONG_TIMEOUT)
    finally:
        stop(child)
    return status, out.text(), err.text()


def flags(lines: Sequence[str]) -> list[tuple[int, bool]]:
    """(n, is prime) from check_numbers' result lines: `{n:16}  {P or blank} …s`."""
    matches = (re.fullmatch(r' *(\d+)  ([P ]) +[\d.]+s', line) for line in lines)
    return [(int(m[1]), m[2] == 'P') for m in matches if m]


def event_name() -> str:
    """A fresh name for a cluster-wide event: tests in one session never share one."""
    return f'event-{uuid.uuid4().hex}'


def task(value: int, wait_for: str | None = None, then_set: str | None = None) -> int:
    """Runs on a Dask worker: wait for one cluster-wide event, then set another."""
    from distributed import Event

    if wait_for is not None and not Event(wait_for).wait(SHORT_TIMEOUT):
        raise TimeoutError(f'event {wait_for!r} was never set')
    if then_set is not None:
        Event(then_set).set()
    return value


@pytest.fixture(scope='session')
def dask_client() -> Iterator[Any]:
    """A local cluster of 2 worker processes with 2 threads each, shared by the tests.

    Two threads per worker let a task wait for another without starving it of a slot.
    """
    distributed = pytest.importorskip('distributed')
    psutil = pytest.importorskip('psutil')
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=2,
        processes=True,
        dashboard_address=':0',
        silence_logs=logging.CRITICAL,
    )
    with cluster, distributed.Client(cluster, set_as_default=False) as dask_client:
        workers = [psutil.Process(pid) for pid in dask_client.run(os.getpid).values()]
        yield dask_client
    _, alive = psutil.wait_procs(workers, timeout=SHORT_TIMEOUT)
    assert alive == [], 'worker processes outlived their cluster'


@pytest.fixture
def dask_executor(dask_client: Any) -> Iterator[concurrent.futures.Executor]:
    """Client.get_executor(): a real concurrent.futures.Executor on the cluster."""
    with dask_client.get_executor() as dask_executor:
        assert isinstance(dask_executor, concurrent.futures.Executor)
        yield dask_executor


@pytest.mark.cluster
def test_dask_gives_the_same_flags_as_a_process_pool(
    dask_executor: concurrent.futures.Executor,
    mp_context: BaseContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Swapping the executor changes where check runs, not what it finds."""
    through_dask = check_numbers(dask_executor, '2 workers', SMALL_NUMBERS)
    with ProcessPoolExecutor(2, mp_context=mp_context) as pool:
        through_processes = check_numbers(pool, '2 processes', SMALL_NUMBERS)
    assert [r[:2] for r in through_dask] == [r[:2] for r in through_processes]
    assert [r.n for r in through_dask] == sorted(SMALL_NUMBERS, reverse=True)
    out = capsys.readouterr().out
    assert out.startswith(f'Checking {len(SMALL_NUMBERS)} numbers with 2 workers:\n')


@pytest.mark.cluster
def test_map_yields_results_in_input_order_when_later_tasks_finish_first(
    dask_client: Any, dask_executor: concurrent.futures.Executor
) -> None:
    """Executor.map on Dask, like the pools of the chapter, keeps the input order."""
    from distributed import Event

    release_first, second_done = event_name(), event_name()
    results = dask_executor.map(
        task, [1, 2], [release_first, None], [None, second_done]
    )
    # The first task cannot end before the second has: it waits for this release.
    assert Event(second_done, client=dask_client).wait(SHORT_TIMEOUT)
    Event(release_first, client=dask_client).set()
    assert list(results) == [1, 2]


@pytest.mark.cluster
def test_as_completed_yields_the_dask_futures_in_completion_order(
    dask_client: Any, dask_executor: concurrent.futures.Executor
) -> None:
    """Dask's executor hands out plain concurrent.futures.Future objects."""
    from distributed import Event

    release = event_name()
    futures = [
        dask_executor.submit(task, 1, wait_for=release),
        dask_executor.submit(task, 2),
    ]
    assert all(type(f) is concurrent.futures.Future for f in futures)
    done = concurrent.futures.as_completed(futures, timeout=SHORT_TIMEOUT)
    record = [next(done).result()]
    Event(release, client=dask_client).set()
    record += [f.result() for f in done]
    assert record == [2, 1]


@pytest.mark.cluster
def test_map_raises_a_task_exception_when_its_result_is_reached(
    dask_executor: concurrent.futures.Executor,
) -> None:
    """Results before the failing task arrive; its exception comes in its place."""
    results = dask_executor.map(math.isqrt, [4, 9, -1, 16])
    record = [next(results), next(results)]
    with pytest.raises(ValueError, match='nonnegative'):
        next(results)
    assert record == [2, 3]


@pytest.mark.cluster
def test_the_script_starts_a_local_cluster_and_prints_what_proc_pool_prints(
    tmp_path: Path, mp_context: BaseContext, capsys: pytest.CaptureFixture[str]
) -> None:
    """cluster_pool.py 2 prints what proc_pool.py 2 prints, from 2 Dask workers."""
    pytest.importorskip('distributed')
    with ProcessPoolExecutor(2, mp_context=mp_context) as pool:
        check_numbers(pool, '2 processes', SMALL_NUMBERS)
    expected = capsys.readouterr().out.splitlines()

    status, out, err = run_in_own_group('-c', RUN_SMALL, '2', cwd=tmp_path)

    assert status == 0, err
    where, heading, *lines = out.splitlines()
    assert where.startswith('Running on a local Dask cluster at tcp://127.0.0.1:')
    assert heading == f'Checking {len(SMALL_NUMBERS)} numbers with 2 workers:'
    assert flags(lines) == flags(expected[1:])
    assert lines[-1].startswith('Total time: ')


SCHEDULER_AT = re.compile(r'.*Scheduler at:\s+(tcp://\S+)')


@pytest.mark.cluster
def test_the_script_sends_its_modules_to_a_running_cluster(tmp_path: Path) -> None:
    """--scheduler: the script runs on a `dask scheduler` + `dask worker` cluster.

    The worker runs in a directory without the scripts, as on another machine: the check
    runs there only because the script uploads primes.py and proc_pool.py.
    """
    pytest.importorskip('distributed')
    started = []
    try:
        scheduler = start_script(
            '-m', 'distributed.cli.dask_scheduler', '--host', '127.0.0.1',
            '--port', '0', '--no-dashboard', cwd=tmp_path, start_new_session=True,
        )  # fmt: skip
        started.append(scheduler[0])
        log: Lines = scheduler[2]

        def announced(lines: list[str]) -> bool:
            return any(SCHEDULER_AT.match(line) for line in lines)

        assert log.wait_until(announced, LONG_TIMEOUT), log.lines
        match = next(filter(None, map(SCHEDULER_AT.match, log.lines)))
        address = match[1]
        worker = start_script(
            '-m', 'distributed.cli.dask_worker', address, '--nworkers', '1',
            '--nthreads', '1', '--no-dashboard', cwd=tmp_path, start_new_session=True,
        )  # fmt: skip
        started.append(worker[0])
        status, out, err = run_in_own_group(
            '-c', RUN_SMALL, '--scheduler', address, cwd=tmp_path
        )
    finally:
        for child in reversed(started):
            stop(child)

    assert status == 0, err
    where, heading, *lines = out.splitlines()
    assert where.startswith(f'Running on the Dask cluster at {address} ')
    assert heading == f'Checking {len(SMALL_NUMBERS)} numbers with 1 workers:'
    expected = [(n, is_prime(n)) for n in sorted(SMALL_NUMBERS, reverse=True)]
    assert flags(lines) == expected


@pytest.mark.cluster
@pytest.mark.parametrize(
    'address',
    [
        pytest.param('refused', id='nobody-listening'),
        pytest.param('localhost', id='no-port'),
    ],
)
def test_a_scheduler_it_cannot_use_is_one_line_and_status_1(
    address: str, tmp_path: Path
) -> None:
    """An unreachable or malformed scheduler address is reported in one line, exit 1.

    The connection is refused: the script gives up after its own 5 s timeout, not
    Dask's 30 s, and says so in a sentence with the address in it.
    """
    pytest.importorskip('distributed')
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))  # bound, never listening: connections are refused
        if address == 'refused':
            address = f'tcp://127.0.0.1:{sock.getsockname()[1]}'
        status, out, err = run_in_own_group(
            str(SCRIPT), '--scheduler', address, cwd=tmp_path
        )
    assert (status, out) == (1, '')
    assert err.startswith('*** Cannot use the Dask scheduler: ')
    assert address in err
    assert err.count('\n') == 1


@pytest.mark.cluster
def test_a_usage_error_has_no_traceback(tmp_path: Path) -> None:
    """With Dask installed, a bad WORKERS gets argparse's usage and error line, 2."""
    pytest.importorskip('distributed')
    status, out, err = run_in_own_group(str(SCRIPT), '0', cwd=tmp_path)
    assert (status, out) == (2, '')
    assert err.startswith('usage: cluster_pool.py [-h] [--scheduler tcp://HOST:PORT')
    assert err.endswith(
        '\ncluster_pool.py: error: argument WORKERS: expected a whole number from 1 to '
        "256, not '0'\n"
    )


def test_without_dask_the_script_names_the_install_command(tmp_path: Path) -> None:
    """Dask is optional: without it the script says how to install it, exit status 1."""
    done = run_script('-c', RUN_WITHOUT_DASK, '2', cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, '')
    assert done.stderr == '*** cluster_pool.py needs Dask: pip install distributed\n'


def test_without_dask_arguments_are_checked_before_the_missing_dask(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """-h and usage errors work without Dask; a valid run then names the install."""
    import cluster_pool

    monkeypatch.setattr(cluster_pool, 'Client', None)
    monkeypatch.setattr(sys, 'argv', ['cluster_pool.py'])
    with pytest.raises(SystemExit) as exited:
        cluster_pool.main(['0'])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        cluster_pool.main(['2'])
    assert (
        exited.value.code == '*** cluster_pool.py needs Dask: pip install distributed'
    )
    assert capsys.readouterr().out == ''


class StubClient:
    """A stand-in for distributed.Client: records how the script made it.

    Given an address it refuses it, as an unreachable scheduler would; given none it
    is a local cluster of two workers whose executor is a thread pool.
    """

    made: list[tuple[tuple[Any, ...], dict[str, Any]]]
    configured: list[dict[str, str]]  # dask.config.set's calls

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.made.append((args, kwargs))
        if args:
            raise OSError(f'Timed out trying to connect to {args[0]} after 5 s')
        self.scheduler = types.SimpleNamespace(address='tcp://127.0.0.1:8786')
        self.cluster = object()
        self.dashboard_link = 'http://127.0.0.1:8787/status'

    def nthreads(self) -> dict[str, int]:
        return {'tcp://127.0.0.1:1': 1, 'tcp://127.0.0.1:2': 1}

    def get_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(2)

    def __enter__(self) -> StubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """cluster_pool imported with StubClient as distributed.Client; no Dask needed."""
    fake = types.ModuleType('distributed')
    fake.Client = StubClient  # type: ignore[attr-defined]
    monkeypatch.setattr(StubClient, 'made', [], raising=False)
    monkeypatch.setitem(sys.modules, 'distributed', fake)
    monkeypatch.setattr(StubClient, 'configured', [], raising=False)
    dask = types.ModuleType('dask')
    dask.config = types.SimpleNamespace(  # type: ignore[attr-defined]
        set=StubClient.configured.append
    )
    monkeypatch.setitem(sys.modules, 'dask', dask)
    monkeypatch.setattr(sys, 'argv', ['cluster_pool.py'])
    previous = sys.modules.pop('cluster_pool', None)
    try:
        module = importlib.import_module('cluster_pool')
        monkeypatch.setattr(module, 'HAS_DASHBOARD', False)
        yield module
    finally:
        sys.modules.pop('cluster_pool', None)  # the real one for the cluster tests
        if previous is not None:
            sys.modules['cluster_pool'] = previous


def test_main_runs_check_numbers_on_the_clients_executor(
    stubbed: types.ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """cluster_pool.py 2 is proc_pool.py with one change: the executor of a Client.

    The local cluster has one single-threaded process per worker, like a process pool,
    and keeps its files in a folder of its own, which the run removes as it ends.
    """
    monkeypatch.setattr(proc_pool.check_numbers, '__defaults__', ([97, 91, 2],))
    stubbed.main(['2'])
    [(args, kwargs)] = StubClient.made
    assert args == ()
    assert kwargs == {
        'n_workers': 2, 'threads_per_worker': 1, 'processes': True,
        'dashboard_address': ':0', 'silence_logs': logging.ERROR,
    }  # fmt: skip
    [scratch] = [setting['temporary-directory'] for setting in StubClient.configured]
    assert Path(scratch).name.startswith('dask-')
    assert Path(scratch).is_dir()  # until this process exits, or a stop comes first
    out, err = capsys.readouterr()
    assert err == ''
    where, heading, *lines = out.splitlines()
    assert where == (
        'Running on a local Dask cluster at tcp://127.0.0.1:8786 '
        '(no dashboard: no bokeh).'
    )
    assert heading == 'Checking 3 numbers with 2 workers:'
    assert flags(lines) == [(97, True), (91, False), (2, True)]
    assert lines[-1].startswith('Total time: ')


def test_main_defaults_to_one_local_worker_per_cpu(
    stubbed: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without WORKERS the local cluster gets one worker process per CPU."""
    monkeypatch.setattr(proc_pool.check_numbers, '__defaults__', ([2],))
    monkeypatch.setattr(os, 'cpu_count', lambda: 3)
    stubbed.main([])
    [(_, kwargs)] = StubClient.made
    assert kwargs['n_workers'] == 3


def test_a_scheduler_it_cannot_reach_is_one_line_and_status_1(
    stubbed: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """--scheduler: an unreachable cluster is one sentence and exit status 1.

    The script asks Client to give up after 5 s: Dask's own default, 30 s, would look
    like a hang.
    """
    with pytest.raises(SystemExit) as exited:
        stubbed.main(['--scheduler', 'tcp://127.0.0.1:9'])
    assert exited.value.code == (
        '*** Cannot use the Dask scheduler: Timed out trying to connect to '
        'tcp://127.0.0.1:9 after 5 s.'
    )
    assert StubClient.made == [(('tcp://127.0.0.1:9',), {'timeout': 5})]
    assert capsys.readouterr() == ('', '')


BAD_ARGUMENTS = [
    pytest.param(['0'], "argument WORKERS: expected a whole number from 1 to 256, "
                 "not '0'", id='zero'),
    pytest.param(['257'], "argument WORKERS: expected a whole number from 1 to 256, "
                 "not '257'", id='too-many'),
    pytest.param(['2', '--scheduler', 'tcp://127.0.0.1:8786'],
                 'argument --scheduler: not allowed with argument WORKERS', id='both'),
    pytest.param(['--scheduler'], 'argument --scheduler: expected one argument',
                 id='no-address'),
]  # fmt: skip


@pytest.mark.parametrize(('argv', 'message'), BAD_ARGUMENTS)
def test_a_bad_argument_is_a_usage_error(
    argv: list[str],
    message: str,
    stubbed: types.ModuleType,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bad input gets argparse's usage and error line, exit status 2, and no cluster."""
    with pytest.raises(SystemExit) as exited:
        stubbed.main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ''
    # The usage line of an exclusive group differs between Python versions.
    assert err.startswith('usage: cluster_pool.py [-h] [--scheduler tcp://HOST:PORT')
    assert err.endswith(f'\ncluster_pool.py: error: {message}\n')
    assert StubClient.made == []


def test_help_explains_workers_and_scheduler(
    stubbed: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cluster_pool.py -h`` names both ways to run: local workers or a scheduler."""
    with pytest.raises(SystemExit) as exited:
        stubbed.main(['-h'])
    assert exited.value.code == 0
    out = ' '.join(capsys.readouterr().out.split())
    assert 'number of local worker processes (default: one per CPU)' in out
    assert 'use the running Dask cluster with this scheduler address' in out
