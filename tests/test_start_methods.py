"""Launching processes with concurrent.futures: how worker processes start, by default.

A ProcessPoolExecutor made without ``mp_context`` starts its workers with
multiprocessing's default start method. On Linux that was ``fork`` (a worker is a copy
of the parent) until Python 3.14 made it ``forkserver`` (a worker is a copy of a
clean server process, forked on request). pytest and the other tests of a worker may
have fixed the start method of this process, so the defaults are read in a fresh
Python. The generic claims under each start method run on the ``executor`` fixture's
kinds; what all three need, calls that pickle, is the last test.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from multiprocessing.managers import SyncManager
from typing import TYPE_CHECKING

import pytest

from tests.executor_tasks import Gate, held, square
from tests.support import (
    ROOT,
    SHORT_TIMEOUT,
    needs_python,
    older_python,
    run_script,
)

if TYPE_CHECKING:
    from tests.conftest import SharedPools

# The start method of a fresh Python, and the one of a pool made without mp_context:
# the pool keeps its context in the private ``_mp_context``; there is no public way.
REPORT = """
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
print(multiprocessing.get_start_method())
with ProcessPoolExecutor(1) as pool:
    print(pool._mp_context.get_start_method())
"""
ON_LINUX = pytest.mark.skipif(
    sys.platform != 'linux', reason='macOS and Windows default to spawn'
)
# The exception a process pool raises for a lambda: pickle's own from 3.14 on.
LAMBDA_ERROR = pickle.PicklingError if sys.version_info >= (3, 14) else AttributeError


@pytest.fixture(scope='module')
def fresh_python() -> list[str]:
    """The lines REPORT prints: the default start method, the pool's start method."""
    done = run_script('-c', REPORT, cwd=ROOT)
    assert (done.returncode, done.stderr) == (0, '')
    return done.stdout.splitlines()


@ON_LINUX
@older_python(3, 14)  # forkserver replaced fork as the default
@pytest.mark.claims('C19')
def test_the_default_start_method_is_fork_before_python_3_14(
    fresh_python: list[str],
) -> None:
    """Before 3.14 the default on Linux is fork: a worker is a copy of its parent."""
    assert fresh_python[0] == 'fork'


@ON_LINUX
@needs_python(3, 14)
@pytest.mark.claims('C19')
def test_the_default_start_method_is_forkserver_from_python_3_14(
    fresh_python: list[str],
) -> None:
    """From 3.14 the default on Linux is forkserver: workers are forked from a server.

    Forking a process that runs threads is unsafe; the server runs none.
    """
    assert fresh_python[0] == 'forkserver'


@pytest.mark.claims('C19')
def test_a_process_pool_without_mp_context_uses_the_default_start_method(
    fresh_python: list[str],
) -> None:
    """ProcessPoolExecutor() takes multiprocessing's default context.

    Read in the private ``_mp_context``: the pool has no public way to tell.
    """
    method, pool_method = fresh_python
    assert pool_method == method


@pytest.mark.claims('C24')
def test_a_lambda_cannot_be_sent_to_a_process_pool(
    executor_pools: SharedPools,
) -> None:
    """Calls travel to worker processes pickled, and pickle sends functions by name.

    A lambda has no importable name, so its future fails; a module-level function
    works. The error is pickle.PicklingError from 3.14 on, AttributeError before it
    ("Can't pickle local object", or "Can't get local object" on 3.13).
    """
    pool = executor_pools.get('process-forkserver')
    assert pool.submit(square, 3).result(SHORT_TIMEOUT) == 9
    future = pool.submit(lambda n: n * n, 3)
    with pytest.raises(
        (pickle.PicklingError, AttributeError), match=r"Can't (pickle|get) local object"
    ) as raised:
        future.result(SHORT_TIMEOUT)
    assert type(raised.value) is LAMBDA_ERROR


@needs_python(3, 14)
@pytest.mark.parametrize(
    ('end_workers', 'signum'),
    [
        pytest.param('terminate_workers', signal.SIGTERM, id='terminate_workers'),
        pytest.param('kill_workers', signal.SIGKILL, id='kill_workers'),
    ],
)
def test_a_process_pool_can_end_its_workers_without_waiting_for_their_calls(
    end_workers: str, signum: int, mp_context: BaseContext, manager: SyncManager
) -> None:
    """From 3.14 a ProcessPoolExecutor can end its workers at once, by SIGTERM
    (``terminate_workers``) or SIGKILL (``kill_workers``): the call a worker runs
    fails with BrokenProcessPool instead of being waited for."""
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(1, mp_context=mp_context)
    gate = Gate(manager.Event(), manager.Event(), manager.Event(), manager.list())
    running = pool.submit(held, 0, gate)
    assert gate.started.wait(SHORT_TIMEOUT)
    workers = set(multiprocessing.active_children()) - before
    getattr(pool, end_workers)()
    with pytest.raises(BrokenProcessPool):
        running.result(SHORT_TIMEOUT)
    for worker in workers:
        worker.join(SHORT_TIMEOUT)
    assert [worker.exitcode for worker in workers] == [-signum]
    assert not gate.finished.is_set()
