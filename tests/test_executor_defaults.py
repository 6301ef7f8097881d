"""Launching processes with concurrent.futures: the default number of workers per pool.

The chapter gives the rules: ThreadPoolExecutor uses ``min(32, CPUs + 4)`` workers,
ProcessPoolExecutor one process per CPU (at most 61 on Windows, which this spec does
not run on). Python 3.13 changed which CPU count both use: ``os.process_cpu_count()``
(the CPUs this process may run on) instead of ``os.cpu_count()``. From 3.14 an
InterpreterPoolExecutor, a subclass of ThreadPoolExecutor, has the thread pool's
default. The executors keep the number in a private attribute and offer no public way
to read it, so these tests read ``_max_workers``: the default itself is what they
check. No pool here starts a worker: each starts them at its first task.
"""

import os
import sys
from concurrent import futures
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.context import BaseContext

import pytest

from tests.support import needs_python

# The CPU count the pools of the running Python start from.
CPU_COUNT = 'process_cpu_count' if sys.version_info >= (3, 13) else 'cpu_count'


def max_workers(executor: Executor) -> int:
    size: int = vars(executor)['_max_workers']  # private, see the module docstring
    return size


@pytest.fixture
def cpus(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pretend the machine has 7 CPUs, 3 of which this process may use."""
    monkeypatch.setattr(os, 'cpu_count', lambda: 7)
    monkeypatch.setattr(os, 'process_cpu_count', lambda: 3, raising=False)  # 3.13+
    return 3 if CPU_COUNT == 'process_cpu_count' else 7


@pytest.fixture
def many_cpus(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pretend the pools see 100 CPUs."""
    monkeypatch.setattr(os, CPU_COUNT, lambda: 100, raising=False)
    return 100


@pytest.mark.claims('C11')
def test_thread_pool_default_is_the_cpu_count_plus_4() -> None:
    """ThreadPoolExecutor() leaves room for I/O-bound work: CPUs + 4 threads."""
    with ThreadPoolExecutor() as executor:
        assert max_workers(executor) == min(32, getattr(os, CPU_COUNT)() + 4)


@pytest.mark.claims('C11')
def test_thread_pool_default_is_32_at_most(many_cpus: int) -> None:
    """On a machine with many CPUs the thread pool stops at 32 threads."""
    with ThreadPoolExecutor() as executor:
        assert max_workers(executor) == 32


@pytest.mark.claims('C21')
def test_process_pool_default_is_the_cpu_count(mp_context: BaseContext) -> None:
    """ProcessPoolExecutor() starts one process per CPU."""
    # The start method does not change the default; forkserver keeps the test safe.
    with ProcessPoolExecutor(mp_context=mp_context) as executor:
        assert max_workers(executor) == getattr(os, CPU_COUNT)()


@pytest.mark.claims('C21')
def test_process_pool_default_has_no_cap_of_32(
    many_cpus: int, mp_context: BaseContext
) -> None:
    """Unlike the thread pool's, the process pool's default grows with the CPUs."""
    with ProcessPoolExecutor(mp_context=mp_context) as executor:
        assert max_workers(executor) == many_cpus


@pytest.mark.claims('C11', 'C21')
def test_pools_count_the_cpus_this_process_may_use_from_python_3_13(
    cpus: int, mp_context: BaseContext
) -> None:
    """From 3.13 both defaults follow os.process_cpu_count, before it os.cpu_count.

    With 7 CPUs of which this process may use 3, a pool of 3.13 or newer counts 3,
    one of 3.10 to 3.12 counts 7.
    """
    with ThreadPoolExecutor() as threads:
        assert max_workers(threads) == cpus + 4
    with ProcessPoolExecutor(mp_context=mp_context) as processes:
        assert max_workers(processes) == cpus


@needs_python(3, 14)
def test_interpreter_pool_default_is_the_thread_pool_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """InterpreterPoolExecutor() has the thread pool's default: CPUs + 4, 32 at most."""
    pool_class = futures.InterpreterPoolExecutor  # type: ignore[attr-defined]
    monkeypatch.setattr(os, 'cpu_count', lambda: 50)  # not the count it follows
    sizes = []
    for usable in (3, 100):
        monkeypatch.setattr(os, 'process_cpu_count', lambda usable=usable: usable)
        with pool_class() as executor:
            sizes.append(max_workers(executor))
    assert sizes == [3 + 4, 32]
