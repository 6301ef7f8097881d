"""Launching processes with concurrent.futures: CPU-bound work, the GIL and processes.

The chapter's reason for process pools: in one process the GIL lets one thread at a
time run Python code, so threads cannot spread CPU-bound work over several cores,
while the workers of a process pool each have an interpreter and a GIL of their own.
How much faster that makes the prime checks is measured in benchmarks/process_pool.py
(CPU seconds per wall second, speedup); what the spec can check without a clock is
here: two calls of a process pool run at the same moment in two processes, and two
threads never run Python code at the same moment.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import Executor, ThreadPoolExecutor

import pytest

from tests.executor_tasks import WORKERS, MakeGates, held_whereabouts
from tests.support import SHORT_TIMEOUT

FORK_IN_THREADS = 'ignore:This process .* is multi-threaded:DeprecationWarning'
PROCESS_KINDS = [
    pytest.param('process-fork', id='process-fork',
                 marks=pytest.mark.filterwarnings(FORK_IN_THREADS)),
    pytest.param('process-forkserver', id='process-forkserver'),
    pytest.param('process-spawn', id='process-spawn'),
]  # fmt: skip
LOOPS = 200_000  # steps of each busy loop: milliseconds of pure Python code
HAS_GIL = getattr(sys, '_is_gil_enabled', lambda: True)()  # 3.13+ can be built without


@pytest.mark.parametrize('executor', PROCESS_KINDS, indirect=True)
@pytest.mark.claims('C19', 'C27')
def test_two_calls_run_at_the_same_moment_in_two_worker_processes(
    executor: Executor, make_gates: MakeGates
) -> None:
    """A process pool runs two calls at once, each in a worker process of its own:
    both have started before either may finish, and neither runs in this process."""
    gates = make_gates(WORKERS)
    to_do = [executor.submit(held_whereabouts, n, g) for n, g in enumerate(gates)]
    both_started = all(gate.started.wait(SHORT_TIMEOUT) for gate in gates)
    for gate in gates:
        gate.release.set()
    pids = {future.result(SHORT_TIMEOUT)[0] for future in to_do}
    assert both_started
    assert len(pids) == WORKERS
    assert os.getpid() not in pids


@pytest.mark.skipif(not HAS_GIL, reason='a free-threaded build has no GIL')
@pytest.mark.claims('C19', 'C27')
def test_two_threads_never_run_python_code_at_the_same_moment() -> None:
    """Under the GIL, a thread that runs Python code keeps the other threads of its
    process out: with the switch interval set longer than the test, two busy loops
    started together on a thread pool run one after the other, never interleaved."""
    progress = [0, 0]
    seen: list[tuple[int, int]] = [
        (-1, -1),
        (-1, -1),
    ]  # the other's progress: before, after
    start = threading.Barrier(2)

    def busy(me: int) -> None:
        other = 1 - me
        start.wait(SHORT_TIMEOUT)
        before = progress[other]
        for _ in range(LOOPS):
            progress[me] += 1
        seen[me] = (before, progress[other])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)  # a thread gives the GIL up only when it blocks
    try:
        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(busy, 0), pool.submit(busy, 1)]:
                future.result(SHORT_TIMEOUT)
    finally:
        sys.setswitchinterval(interval)
    # Whichever ran first saw the other at 0 throughout; the second saw it finished.
    assert sorted(seen) == [(0, 0), (LOOPS, LOOPS)]
