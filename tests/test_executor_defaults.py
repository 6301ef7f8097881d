"""The default number of workers of each pool, as documented for the running Python.

The chapter gives the rules: ThreadPoolExecutor uses ``min(32, CPUs + 4)`` workers and
ProcessPoolExecutor one process per CPU. Python 3.13 changed which CPU count both use:
``os.process_cpu_count()`` (the CPUs this process may run on) instead of
``os.cpu_count()``. The executors keep the number in a private attribute and offer no
public way to read it, so these tests read ``_max_workers``: the default itself is
what they check.
"""

import os
import sys
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.context import BaseContext

import pytest

from proc_pool import default_workers


def cpu_count() -> int:
    """The CPU count the executors of the running Python start from."""
    if sys.version_info >= (3, 13):
        return os.process_cpu_count() or 1
    return os.cpu_count() or 1


def max_workers(executor: Executor) -> int:
    size: int = vars(executor)['_max_workers']  # private, see the module docstring
    return size


def test_thread_pool_default_is_cpu_count_plus_4_at_most_32() -> None:
    """ThreadPoolExecutor() leaves room for I/O-bound work: CPUs + 4, capped at 32."""
    with ThreadPoolExecutor() as executor:
        assert max_workers(executor) == min(32, cpu_count() + 4)


def test_process_pool_default_is_the_cpu_count(mp_context: BaseContext) -> None:
    """ProcessPoolExecutor() starts one process per CPU (61 at most on Windows)."""
    expected = min(cpu_count(), 61) if sys.platform == 'win32' else cpu_count()
    # The start method does not change the default; forkserver keeps the test safe.
    with ProcessPoolExecutor(mp_context=mp_context) as executor:
        assert max_workers(executor) == expected


def test_proc_pool_default_workers_matches_the_process_pool(
    mp_context: BaseContext,
) -> None:
    """proc_pool.py computes the default it prints by the documented rule."""
    with ProcessPoolExecutor(mp_context=mp_context) as executor:
        assert default_workers() == max_workers(executor)


@pytest.mark.skipif(sys.version_info < (3, 13), reason='os.process_cpu_count is 3.13+')
def test_process_pool_default_follows_the_cpus_this_process_may_use(
    mp_context: BaseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From 3.13 the default follows os.process_cpu_count, not os.cpu_count."""
    monkeypatch.setattr(os, 'process_cpu_count', lambda: 3)
    monkeypatch.setattr(os, 'cpu_count', lambda: 7)
    with ProcessPoolExecutor(mp_context=mp_context) as executor:
        assert max_workers(executor) == 3
    assert default_workers() == 3
