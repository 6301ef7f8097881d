"""A Dask cluster behind the Executor interface: Client.get_executor(), cluster_pool.py.

The chapter's point is that executors are interchangeable. dask.distributed keeps the
contract of concurrent.futures across processes and machines: same results, ``map`` in
input order, plain ``concurrent.futures.Future`` objects, exceptions where they belong.

Dask is optional. The tests marked ``cluster`` skip where it is not installed; the tox
env ``cluster`` installs it and runs them. The last test, unmarked, shows the message a
reader without Dask gets; it hides Dask from the script, so it means the same anywhere.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import pytest

from primes import is_prime
from proc_pool import check_numbers

SCRIPT = Path(__file__).resolve().parents[1] / 'chapter20' / 'cluster_pool.py'
SMALL_NUMBERS = [2, 3, 4, 9, 25, 7919, 7921, 1_000_003]  # 7921 is 89 squared
WAIT_TIMEOUT = 20  # seconds; generous, so that only a bug ever reaches it
SCRIPT_TIMEOUT = 60  # seconds for a script run in a subprocess
FAST_FAILURE = 15  # seconds; Dask's default connect timeout alone is 30

# Runs the script on SMALL_NUMBERS: a wrapper, as a subprocess cannot be monkeypatched.
RUN_SMALL = f"""
import sys
sys.path.insert(0, {str(SCRIPT.parent)!r})
import cluster_pool
cluster_pool.NUMBERS = {SMALL_NUMBERS!r}
cluster_pool.main(sys.argv[1:])
"""
# Makes `import distributed` fail, as it does where Dask is not installed.
RUN_WITHOUT_DASK = f"""
import runpy, sys
sys.modules['distributed'] = None
sys.path.insert(0, {str(SCRIPT.parent)!r})  # what running the script by path does
runpy.run_path({str(SCRIPT)!r}, run_name='__main__')
"""


def run_in_own_group(
    args: Sequence[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` in a new process group; fail if any of it outlives it."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=SCRIPT_TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert_group_gone(proc.pid)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def assert_group_gone(pgid: int) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
    pytest.fail(f'processes of group {pgid} were left behind')


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

    if wait_for is not None and not Event(wait_for).wait(WAIT_TIMEOUT):
        raise TimeoutError(f'event {wait_for!r} was never set')
    if then_set is not None:
        Event(then_set).set()
    return value


@pytest.fixture(scope='session')
def client() -> Iterator[Any]:
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
    _, alive = psutil.wait_procs(workers, timeout=WAIT_TIMEOUT)
    assert alive == [], 'worker processes outlived their cluster'


@pytest.fixture
def executor(client: Any) -> Iterator[concurrent.futures.Executor]:
    with client.get_executor() as dask_executor:
        assert isinstance(dask_executor, concurrent.futures.Executor)
        yield dask_executor


@pytest.mark.cluster
def test_dask_gives_the_same_flags_as_a_process_pool(
    executor: concurrent.futures.Executor,
    mp_context: BaseContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Swapping the executor changes where check runs, not what it finds."""
    through_dask = check_numbers(executor, '2 workers', SMALL_NUMBERS)
    with ProcessPoolExecutor(2, mp_context=mp_context) as pool:
        through_processes = check_numbers(pool, '2 processes', SMALL_NUMBERS)
    assert [r[:2] for r in through_dask] == [r[:2] for r in through_processes]
    assert [r.n for r in through_dask] == sorted(SMALL_NUMBERS, reverse=True)
    out = capsys.readouterr().out
    assert out.startswith(f'Checking {len(SMALL_NUMBERS)} numbers with 2 workers:\n')


@pytest.mark.cluster
def test_map_yields_results_in_input_order_when_later_tasks_finish_first(
    client: Any, executor: concurrent.futures.Executor
) -> None:
    """Executor.map on Dask, like the pools of the chapter, keeps the input order."""
    from distributed import Event

    release_first, second_done = event_name(), event_name()
    results = executor.map(task, [1, 2], [release_first, None], [None, second_done])
    # The first task cannot end before the second has: it waits for this release.
    assert Event(second_done, client=client).wait(WAIT_TIMEOUT)
    Event(release_first, client=client).set()
    assert list(results) == [1, 2]


@pytest.mark.cluster
def test_as_completed_yields_the_dask_futures_in_completion_order(
    client: Any, executor: concurrent.futures.Executor
) -> None:
    """Dask's executor hands out plain concurrent.futures.Future objects."""
    from distributed import Event

    release = event_name()
    futures = [executor.submit(task, 1, wait_for=release), executor.submit(task, 2)]
    assert all(type(f) is concurrent.futures.Future for f in futures)
    done = concurrent.futures.as_completed(futures, timeout=WAIT_TIMEOUT)
    record = [next(done).result()]
    Event(release, client=client).set()
    record += [f.result() for f in done]
    assert record == [2, 1]


@pytest.mark.cluster
def test_map_raises_a_task_exception_when_its_result_is_reached(
    executor: concurrent.futures.Executor,
) -> None:
    """Results before the failing task arrive; its exception comes in its place."""
    results = executor.map(math.isqrt, [4, 9, -1, 16])
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

    run = run_in_own_group(['-c', RUN_SMALL, '2'], tmp_path)

    assert run.returncode == 0, run.stderr
    where, heading, *lines = run.stdout.splitlines()
    assert where.startswith('Running on a local Dask cluster at tcp://127.0.0.1:')
    assert heading == f'Checking {len(SMALL_NUMBERS)} numbers with 2 workers:'
    assert flags(lines) == flags(expected[1:])
    assert lines[-1].startswith('Total time: ')


def wait_for_address(scheduler_file: Path) -> str:
    """The address `dask scheduler` writes to its scheduler file once it listens."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while time.monotonic() < deadline:
        if scheduler_file.exists():
            try:
                return str(json.loads(scheduler_file.read_text())['address'])
            except (ValueError, KeyError):
                pass  # caught half-written
        time.sleep(0.05)
    pytest.fail('the Dask scheduler did not start')


@pytest.mark.cluster
def test_the_script_sends_its_modules_to_a_running_cluster(tmp_path: Path) -> None:
    """--scheduler: the script runs on a `dask scheduler` + `dask worker` cluster.

    The worker runs in a directory without the scripts, as on another machine: the check
    runs there only because the script uploads primes.py and proc_pool.py.
    """
    pytest.importorskip('distributed')
    scheduler_file = tmp_path / 'scheduler.json'
    started = []
    try:
        for command in (
            ['dask_scheduler', '--host', '127.0.0.1', '--port', '0', '--no-dashboard'],
            ['dask_worker', '--nworkers', '1', '--nthreads', '1', '--no-dashboard'],
        ):
            started.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        '-m',
                        f'distributed.cli.{command[0]}',
                        *command[1:],
                        '--scheduler-file',
                        str(scheduler_file),
                    ],
                    cwd=tmp_path,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        address = wait_for_address(scheduler_file)
        run = run_in_own_group(['-c', RUN_SMALL, '--scheduler', address], tmp_path)
    finally:
        for proc in reversed(started):
            proc.terminate()
            proc.wait(WAIT_TIMEOUT)
            assert_group_gone(proc.pid)

    assert run.returncode == 0, run.stderr
    where, heading, *lines = run.stdout.splitlines()
    assert where.startswith(f'Running on the Dask cluster at {address} ')
    assert heading == f'Checking {len(SMALL_NUMBERS)} numbers with 1 workers:'
    expected = [(n, is_prime(n)) for n in sorted(SMALL_NUMBERS, reverse=True)]
    assert flags(lines) == expected


@pytest.mark.cluster
def test_a_scheduler_nobody_answers_fails_fast_with_status_2(tmp_path: Path) -> None:
    """An unreachable cluster is reported in one line within seconds, not a hang."""
    pytest.importorskip('distributed')
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))  # bound, never listening: connections are refused
        address = f'tcp://127.0.0.1:{sock.getsockname()[1]}'
        t0 = time.monotonic()
        run = run_in_own_group([str(SCRIPT), '--scheduler', address], tmp_path)
        elapsed = time.monotonic() - t0
    assert run.returncode == 2
    assert run.stdout == ''
    assert run.stderr.startswith('*** Cannot use the Dask scheduler: ')
    assert address in run.stderr
    assert run.stderr.count('\n') == 1
    assert elapsed < FAST_FAILURE


@pytest.mark.cluster
@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['0'], 'expected a positive integer'),
        (['--scheduler', 'localhost'], 'missing port number'),
        (['2', '--scheduler', 'tcp://127.0.0.1:8786'], 'not both'),
    ],
    ids=['zero', 'no-port', 'both'],
)
def test_bad_arguments_get_one_line_and_status_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """Bad input is reported in one line with exit status 2, no traceback."""
    pytest.importorskip('distributed')
    run = run_in_own_group([str(SCRIPT), *args], tmp_path)
    assert (run.returncode, run.stdout) == (2, '')
    assert message in run.stderr
    assert run.stderr.count('\n') == 1


def test_without_dask_the_script_names_the_install_command(tmp_path: Path) -> None:
    """Dask is optional: without it the script says how to install it, status 2."""
    run = run_in_own_group(['-c', RUN_WITHOUT_DASK, '2'], tmp_path)
    assert (run.returncode, run.stdout) == (2, '')
    assert run.stderr == '*** cluster_pool.py needs Dask: pip install distributed\n'
