"""Where are the futures?: the ``Future`` API the chapter describes, on every pool.

A future stands for a call that may not have finished: ``done()`` says whether it has,
``result()`` waits for its value and ``exception()`` for its error, each up to an
optional timeout; ``add_done_callback`` runs a function when it finishes, and
``cancel()`` stops it only while it waits in the queue. Each claim runs on every kind
of executor (the ``executor`` fixture); gates hold the calls back until the test
releases them, so whether a call has started, runs or has finished is decided here.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent import futures
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest

from tests.executor_tasks import WORKERS, MakeGates, held, square, whereabouts
from tests.support import SHORT_TIMEOUT, needs_python, older_python

NOT_YET = 0.01  # s: how long result() may wait on a call held back by its gate


def running(executor: Executor, make_gates: MakeGates) -> list[futures.Future[int]]:
    """Occupy every worker with a held call; return their futures, once all started."""
    gates = make_gates(WORKERS)
    held_futures = [executor.submit(held, n, gate) for n, gate in enumerate(gates)]
    assert all(gate.started.wait(SHORT_TIMEOUT) for gate in gates)
    return held_futures


@pytest.mark.claims('C06')
def test_submit_runs_the_call_in_a_worker_of_the_pool(executor: Executor) -> None:
    """The call runs in one of the pool's workers, never in the thread that submits it.

    A thread pool's workers are other threads of this process; a process pool's are
    other processes; an interpreter pool's (3.14+) are other threads, each with its
    own interpreter.
    """
    here = (os.getpid(), threading.get_ident())
    pid, thread = executor.submit(whereabouts).result(SHORT_TIMEOUT)
    assert (pid, thread) != here
    assert (pid != here[0]) is isinstance(executor, ProcessPoolExecutor)


@pytest.mark.claims('C14')
def test_done_result_and_exception_wait_for_the_call_then_give_its_outcome(
    executor: Executor, make_gates: MakeGates
) -> None:
    """While the call runs, done() is False and result() or exception() with a
    timeout raise TimeoutError; once it returns, done() is True, result() gives its
    value and exception() None."""
    [gate] = make_gates(1)
    future = executor.submit(held, 4, gate)
    assert gate.started.wait(SHORT_TIMEOUT)
    record: list[object] = [future.done()]
    for wait in (future.result, future.exception):
        with pytest.raises(futures.TimeoutError):
            wait(timeout=NOT_YET)
    gate.release.set()
    record += [future.result(SHORT_TIMEOUT), future.done(), future.exception()]
    assert record == [False, 40, True, None]


@pytest.mark.claims('C14')
def test_result_blocks_until_the_call_returns(
    executor: Executor, make_gates: MakeGates
) -> None:
    """result() without a timeout waits for the call: it returns only after the gate
    that holds the call back has been opened."""
    [gate] = make_gates(1)
    future = executor.submit(held, 5, gate)
    assert gate.started.wait(SHORT_TIMEOUT)
    record: list[tuple[int, bool]] = []

    def wait_for_result() -> None:
        value = future.result()  # no timeout: this is the claim
        record.append((value, gate.release.is_set()))

    waiter = threading.Thread(target=wait_for_result)
    waiter.start()
    gate.release.set()
    waiter.join(SHORT_TIMEOUT)
    assert record == [(50, True)]


@pytest.mark.claims('C14')
def test_a_failed_call_gives_its_exception_and_result_raises_it(
    executor: Executor, make_gates: MakeGates
) -> None:
    """A call that raises finishes too: exception() returns the error, result()
    raises it, done() is True."""
    [gate] = make_gates(1, fail_at=0)
    future = executor.submit(held, 0, gate)
    gate.release.set()
    error = future.exception(SHORT_TIMEOUT)
    assert isinstance(error, ValueError)
    assert str(error) == 'task 0 failed'
    assert future.done()
    with pytest.raises(ValueError, match='task 0 failed'):
        future.result()


@needs_python(3, 11)
@pytest.mark.claims('C14')
def test_the_timeout_of_result_is_the_builtin_timeout_error_from_python_3_11() -> None:
    """From 3.11 the TimeoutError of result(timeout=...) is the built-in one."""
    assert futures.TimeoutError is TimeoutError  # type: ignore[comparison-overlap]


@older_python(3, 11)
@pytest.mark.claims('C14')
def test_the_timeout_of_result_is_a_class_of_its_own_before_python_3_11() -> None:
    """Before 3.11 concurrent.futures has a TimeoutError class of its own, which an
    ``except TimeoutError`` (the built-in) does not catch."""
    assert futures.TimeoutError is not TimeoutError  # type: ignore[comparison-overlap]
    assert not issubclass(futures.TimeoutError, TimeoutError)


@pytest.mark.claims('C15')
def test_submit_returns_a_future_before_the_call_has_run(
    executor: Executor, make_gates: MakeGates
) -> None:
    """submit hands back a concurrent.futures.Future at once, even when every worker
    is busy and the call can only wait: not done, not started."""
    busy = running(executor, make_gates)
    [gate] = make_gates(1)
    future = executor.submit(held, 9, gate)
    assert type(future) is futures.Future
    assert not future.done()
    assert not gate.started.is_set()
    assert not any(other.done() for other in busy)


@pytest.mark.claims('C18')
def test_a_callback_runs_once_when_the_future_finishes_in_the_calling_process(
    executor: Executor, make_gates: MakeGates
) -> None:
    """add_done_callback: the function runs once, when the call has finished, with the
    future as its argument, in this process even when a worker process ran the call."""
    [gate] = make_gates(1)
    future = executor.submit(held, 7, gate)
    calls: list[tuple[int, int]] = []
    called = threading.Event()

    def callback(done: futures.Future[int]) -> None:
        calls.append((os.getpid(), done.result()))
        called.set()

    future.add_done_callback(callback)
    assert gate.started.wait(SHORT_TIMEOUT)
    before = list(calls)
    gate.release.set()
    assert called.wait(SHORT_TIMEOUT)
    future.result(SHORT_TIMEOUT)
    assert before == []
    assert calls == [(os.getpid(), 70)]


@pytest.mark.claims('C18')
def test_a_callback_added_to_a_finished_future_runs_at_once_in_this_thread(
    executor: Executor,
) -> None:
    """On a future that is already done, add_done_callback calls the function before
    it returns, in the thread that adds it."""
    future = executor.submit(square, 6)
    future.result(SHORT_TIMEOUT)
    calls: list[tuple[int, int]] = []
    future.add_done_callback(
        lambda done: calls.append((threading.get_ident(), done.result()))
    )
    assert calls == [(threading.get_ident(), 36)]


@pytest.mark.claims('C18')
def test_cancel_stops_a_pending_future_but_not_a_running_one(
    executor: Executor, make_gates: MakeGates
) -> None:
    """cancel() is True for a call still in the queue, which then never runs, and
    False for a call that is running, which goes on to its result."""
    busy = running(executor, make_gates)
    # A process pool moves a few calls to its workers' queue ahead of time, marking
    # them running: the last of these is queued behind them all, still pending.
    queued = [executor.submit(square, n) for n in range(WORKERS + 3)]
    [gate] = make_gates(1)
    pending = executor.submit(held, 8, gate)
    outcome = [pending.cancel(), busy[0].cancel()]
    assert outcome == [True, False]
    assert pending.cancelled()
    assert busy[0].running()
    with pytest.raises(futures.CancelledError):
        pending.result()
    assert not gate.started.is_set()
    for future in queued:  # the workers have less to do once make_gates opens them
        future.cancel()


@pytest.mark.claims('C13')
def test_both_future_classes_answer_the_same_questions() -> None:
    """concurrent.futures.Future and asyncio.Future are two classes with the same
    core methods: done, result, exception, cancel, cancelled, add_done_callback."""
    assert not issubclass(asyncio.Future, futures.Future)
    core = ['done', 'result', 'exception', 'cancel', 'cancelled', 'add_done_callback']
    for cls in (futures.Future, asyncio.Future):
        assert [name for name in core if callable(getattr(cls, name, None))] == core


@pytest.mark.claims('C13')
def test_asyncio_wraps_a_pool_future_to_await_it() -> None:
    """asyncio.wrap_future turns a pool's concurrent future into an asyncio future,
    which a coroutine awaits; run_in_executor does both in one call."""
    record: list[Any] = []

    async def main(pool: ThreadPoolExecutor) -> None:
        wrapped = asyncio.wrap_future(pool.submit(square, 3))
        record.append(isinstance(wrapped, asyncio.Future))
        record.append(await wrapped)
        loop = asyncio.get_running_loop()
        record.append(await loop.run_in_executor(pool, square, 4))

    with ThreadPoolExecutor(1) as pool:
        asyncio.run(main(pool))
    assert record == [True, 9, 16]
