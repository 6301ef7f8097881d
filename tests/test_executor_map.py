"""Executor.map, as the chapter shows it in "Experimenting with Executor.map".

Every claim runs against a thread pool and a process pool (the ``executor`` fixture).
Tasks are held back by gates, so the order in which they finish is set by the test.
"""

from collections.abc import Iterator
from concurrent import futures
from concurrent.futures import Executor

import pytest

from tests.executor_tasks import SHORT, TIMEOUT, WORKERS, Gate, MakeGates, held


def started(gate: Gate) -> bool:
    return gate.started.wait(TIMEOUT)


def finished(gate: Gate) -> bool:
    return gate.finished.wait(TIMEOUT)


def test_map_returns_before_any_task_finishes(
    executor: Executor, make_gates: MakeGates
) -> None:
    """map returns a generator at once; it does not wait for the tasks."""
    gates = make_gates(WORKERS)
    results = executor.map(held, range(WORKERS), gates)
    assert [gate.finished.is_set() for gate in gates] == [False] * WORKERS
    for gate in gates:
        gate.release.set()
    assert list(results) == [0, 10, 20, 30]


def test_map_submits_every_task_at_call_time(
    executor: Executor, make_gates: MakeGates
) -> None:
    """map consumes its input and submits every call before its first result is read."""
    count = WORKERS + 2  # two more than can run at once: they wait in the queue
    gates = make_gates(count)
    consumed = []

    def numbers() -> Iterator[int]:
        for n in range(count):
            consumed.append(n)
            yield n

    results = executor.map(held, numbers(), gates)
    assert consumed == list(range(count))
    for gate in gates:
        gate.release.set()
    # Without a single next(results), even the queued tasks run to the end.
    assert all(finished(gate) for gate in gates)
    assert list(results) == [n * 10 for n in range(count)]


def test_map_yields_results_in_input_order_when_tasks_finish_in_reverse(
    executor: Executor, make_gates: MakeGates
) -> None:
    """Results come in the order of the calls, not in the order the tasks finish."""
    gates = make_gates(WORKERS)
    results = executor.map(held, range(WORKERS), gates)
    for gate in reversed(gates):
        gate.release.set()
        assert finished(gate)
    assert list(gates[0].record) == [3, 2, 1, 0]
    assert list(results) == [0, 10, 20, 30]


def test_map_blocks_on_the_earliest_unfinished_task(
    executor: Executor, make_gates: MakeGates
) -> None:
    """The generator waits for result 0 although results 1 to 3 are ready.

    map's own ``timeout`` (counted from the call) turns the wait into an error, so the
    test shows the blocking without hanging.
    """
    gates = make_gates(WORKERS)
    results = executor.map(held, range(WORKERS), gates, timeout=SHORT)
    for gate in gates[1:]:
        gate.release.set()
        assert finished(gate)
    with pytest.raises(futures.TimeoutError):
        next(results)
    assert not gates[0].finished.is_set()


def test_map_raises_the_exception_of_task_k_when_result_k_is_reached(
    executor: Executor, make_gates: MakeGates
) -> None:
    """Results before the failed call are delivered; the error comes in its place."""
    gates = make_gates(WORKERS, fail_at=2)
    results = executor.map(held, range(WORKERS), gates)
    gates[2].release.set()  # the failing task ends first, before 0 and 1 are done
    assert finished(gates[2])
    for gate in gates:
        gate.release.set()
    assert next(results) == 0
    assert next(results) == 10
    with pytest.raises(ValueError, match='task 2 failed'):
        next(results)


def test_leaving_the_with_block_waits_for_every_task(
    executor: Executor, make_gates: MakeGates
) -> None:
    """``with`` calls shutdown(wait=True): it returns only when every task is done."""
    gates = make_gates(WORKERS)
    with executor:
        executor.map(held, range(WORKERS), gates)  # the results are never read
        assert all(started(gate) for gate in gates)
        for gate in gates:
            gate.release.set()
    assert [gate.finished.is_set() for gate in gates] == [True] * WORKERS
    assert sorted(gates[0].record) == [0, 1, 2, 3]
