"""Experimenting with Executor.map: when map submits its calls and yields their results.

Every claim runs on every kind of executor (the ``executor`` fixture): threads,
processes started by fork, forkserver and spawn, and interpreters (3.14+). Tasks are
held back by gates, so the order in which they finish is set by the test. The pools are
shared by the tests of a worker and left idle; the one claim about shutting a pool down
takes a pool of its own.
"""

import itertools
from collections.abc import Iterator
from concurrent import futures
from concurrent.futures import Executor

import pytest

from tests.executor_tasks import WORKERS, Gate, MakeGates, held, square
from tests.support import SHORT_TIMEOUT, needs_python, older_python


def started(gate: Gate) -> bool:
    return gate.started.wait(SHORT_TIMEOUT)


def finished(gate: Gate) -> bool:
    return gate.finished.wait(SHORT_TIMEOUT)


@pytest.mark.claims('C10', 'C28')
def test_map_returns_before_any_task_finishes(
    executor: Executor, make_gates: MakeGates
) -> None:
    """map returns a generator at once: it does not wait for the tasks."""
    gates = make_gates(WORKERS)
    results = executor.map(held, range(WORKERS), gates)
    assert [gate.finished.is_set() for gate in gates] == [False] * WORKERS
    for gate in gates:
        gate.release.set()
    assert list(results) == [n * 10 for n in range(WORKERS)]


@pytest.mark.claims('C28')
def test_map_submits_every_task_at_call_time(
    executor: Executor, make_gates: MakeGates
) -> None:
    """map takes its whole input and submits every call before a result is read."""
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


@pytest.mark.claims('C08', 'C30')
def test_map_yields_results_in_input_order_when_tasks_finish_in_reverse(
    executor: Executor, make_gates: MakeGates
) -> None:
    """Results come in the order of the calls, not in the order the tasks finish."""
    gates = make_gates(WORKERS)
    results = executor.map(held, range(WORKERS), gates)
    for gate in reversed(gates):
        gate.release.set()
        assert finished(gate)
    assert list(gates[0].record) == list(reversed(range(WORKERS)))
    assert list(results) == [n * 10 for n in range(WORKERS)]


@pytest.mark.claims('C30')
def test_map_blocks_on_the_earliest_unfinished_task(
    executor: Executor, make_gates: MakeGates
) -> None:
    """The generator waits for result 0 although the later results are ready.

    map's own ``timeout`` counts from the call; 0 turns the wait for a result not yet
    there into an error at once, so the test shows the blocking without waiting.
    """
    gates = make_gates(WORKERS)
    results = executor.map(held, range(WORKERS), gates, timeout=0)
    for gate in gates[1:]:
        gate.release.set()
        assert finished(gate)
    with pytest.raises(futures.TimeoutError):
        next(results)
    assert not gates[0].finished.is_set()


@pytest.mark.claims('C10')
def test_map_raises_the_exception_of_task_k_when_result_k_is_reached(
    executor: Executor, make_gates: MakeGates
) -> None:
    """Results before the failed call are delivered; the error comes in its place."""
    gates = make_gates(3, fail_at=2)
    results = executor.map(held, range(3), gates)
    for n in [1, 2]:  # the failing task ends before task 0 is done
        gates[n].release.set()
        assert finished(gates[n])
    assert not gates[0].finished.is_set()
    gates[0].release.set()
    assert next(results) == 0
    assert next(results) == 10
    with pytest.raises(ValueError, match='task 2 failed'):
        next(results)


@pytest.mark.claims('C09')
def test_leaving_the_with_block_waits_for_every_task(
    fresh_executor: Executor, make_gates: MakeGates
) -> None:
    """``with`` calls shutdown(wait=True): it returns only when every task is done.

    That includes a task still queued when the block ends: the pool has one worker.
    """
    gates = make_gates(2)
    with fresh_executor:
        fresh_executor.map(held, range(2), gates)  # the results are never read
        assert started(gates[0])
        assert not gates[1].started.is_set()  # queued behind task 0
        for gate in gates:
            gate.release.set()
    assert [gate.finished.is_set() for gate in gates] == [True, True]


@pytest.mark.claims('C15', 'C17')
def test_as_completed_yields_futures_in_the_order_they_finish(
    executor: Executor, make_gates: MakeGates
) -> None:
    """submit returns futures at once; as_completed yields each one as it finishes."""
    gates = make_gates(3)  # one more than the workers: task 2 starts when 1 is done
    to_do = {executor.submit(held, n, gate): n for n, gate in enumerate(gates)}
    done = futures.as_completed(to_do, timeout=SHORT_TIMEOUT)
    order = []
    for n in [1, 0, 2]:
        gates[n].release.set()  # only this task can finish now
        order.append(to_do[next(done)])
    assert order == [1, 0, 2]
    assert list(done) == []


# --- Python 3.14: map with a bounded buffer -------------------------------------------


@needs_python(3, 14)
@pytest.mark.claims('C28')
def test_map_with_buffersize_submits_only_that_many_calls_ahead(
    executor: Executor, make_gates: MakeGates
) -> None:
    """With buffersize=N, map takes N arguments at once and one more per result taken.

    Contrast with the chapter's map, which submits every call at once: here the
    input is read only as fast as the loop reads results.
    """
    count = 5
    gates = make_gates(count)
    consumed: list[int] = []

    def numbers() -> Iterator[int]:
        for n in range(count):
            consumed.append(n)
            yield n

    results = executor.map(held, numbers(), gates, buffersize=2)  # type: ignore[call-arg]
    assert consumed == [0, 1]
    for gate in gates:
        gate.release.set()
    assert next(results) == 0
    assert consumed == [0, 1, 2]  # asking for result 0 submitted call 2 first
    assert next(results) == 10
    assert consumed == [0, 1, 2, 3]
    assert not gates[4].started.is_set()
    assert list(results) == [n * 10 for n in range(2, count)]


@needs_python(3, 14)
def test_map_with_buffersize_works_on_an_endless_input(executor: Executor) -> None:
    """An infinite iterable is fine when map submits only buffersize calls ahead."""
    results = executor.map(square, itertools.count(), buffersize=WORKERS)  # type: ignore[call-arg]
    assert list(itertools.islice(results, 10)) == [n * n for n in range(10)]


@older_python(3, 14)  # this map takes a buffersize
@pytest.mark.claims('C28')
def test_map_has_no_buffersize_before_python_3_14() -> None:
    """Before 3.14 map takes every argument at once, and buffersize is a TypeError."""
    with futures.ThreadPoolExecutor(1) as pool, pytest.raises(TypeError):
        pool.map(square, [1], buffersize=1)  # type: ignore[call-arg]
