"""What Python 3.14 adds: InterpreterPoolExecutor, and what can travel to its workers.

Each worker is a thread running its own interpreter, with its own modules and module
globals. ``Interpreter.call`` documents what goes across: "shareable" objects (such as
``concurrent.interpreters`` queues), "stateless" functions (no closure, no globals),
whose code is copied, and otherwise what pickle can send, where a function travels by
name and the worker imports its module. The limits: a function that is neither
stateless nor importable, an argument that is neither shareable nor picklable (a
``threading.Event``), and a worker's sys.path, which is the interpreter's initial one.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import executor_tasks
from tests.executor_tasks import counter_value, square
from tests.support import SHORT_TIMEOUT, needs_python

if TYPE_CHECKING:
    from tests.conftest import SharedPools

pytestmark = needs_python(3, 14)
NOT_SHAREABLE = 'does not support cross-interpreter data'  # the error's message ends so


@pytest.fixture
def one_interpreter(
    executor_pools: SharedPools, request: pytest.FixtureRequest
) -> Iterator[Executor]:
    """A new pool of one worker interpreter that can import the tests' modules."""
    from tests.conftest import new_executor

    executor_pools.before_interpreters()
    with new_executor('interpreter', 1, request) as pool:
        yield pool


@pytest.fixture(scope='module')
def bare_interpreter(executor_pools: SharedPools) -> Iterator[Executor]:
    """A pool of one worker interpreter with no initializer."""
    from concurrent.futures import InterpreterPoolExecutor  # type: ignore[attr-defined]

    executor_pools.before_interpreters()
    pool: Executor = InterpreterPoolExecutor(1)
    with pool:
        yield pool


def not_shareable_error() -> type[Exception]:
    from concurrent import interpreters  # type: ignore[attr-defined]

    error: type[Exception] = interpreters.NotShareableError
    return error


def causes(error: BaseException) -> list[str]:
    """The messages of the exceptions that led to error, the first cause first."""
    messages = []
    cause: BaseException | None = error.__cause__
    while cause is not None:
        messages.append(str(cause))
        cause = cause.__cause__
    return messages[::-1]


def adder(k: int) -> Callable[[int], int]:
    return lambda n: n + k


def test_module_state_is_per_interpreter(
    one_interpreter: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker interpreter imports the task's module anew: its globals are its own.

    ``counter_value`` adds to a module global. The test's copy holds 100; the worker's
    starts at 0 and counts up over the calls, and the test's stays at 100.
    """
    monkeypatch.setattr(executor_tasks, 'COUNTER', 100)
    assert list(one_interpreter.map(counter_value, [1, 1, 1])) == [1, 2, 3]
    assert executor_tasks.COUNTER == 100


def test_threads_share_module_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """In contrast, the threads of a ThreadPoolExecutor share the test's module."""
    monkeypatch.setattr(executor_tasks, 'COUNTER', 100)
    with ThreadPoolExecutor(1) as pool:
        assert list(pool.map(counter_value, [1, 1, 1])) == [101, 102, 103]
    assert executor_tasks.COUNTER == 103


def test_a_self_contained_lambda_runs_in_an_interpreter_not_in_a_process(
    executor_pools: SharedPools,
) -> None:
    """A lambda that uses no globals is stateless: its code goes to the interpreter.

    A process pool pickles the call instead, and pickle cannot send a lambda.
    """
    interpreter = executor_pools.get('interpreter')
    assert interpreter.submit(lambda n: n * n, 7).result(SHORT_TIMEOUT) == 49
    process = executor_pools.get('process-forkserver')
    future = process.submit(lambda n: n * n, 7)
    with pytest.raises(pickle.PicklingError, match="Can't pickle local object"):
        future.result(SHORT_TIMEOUT)


@pytest.mark.parametrize(
    'function',
    [
        pytest.param(lambda n: square(n), id='uses-a-global'),
        pytest.param(adder(1), id='closure'),
    ],
)
def test_a_lambda_with_state_cannot_be_sent_to_an_interpreter(
    function: Callable[[int], int], executor_pools: SharedPools
) -> None:
    """A lambda that uses a global or a closure is neither stateless nor picklable.

    The future fails with concurrent.interpreters.NotShareableError, a TypeError.
    """
    future = executor_pools.get('interpreter').submit(function, 7)
    with pytest.raises(not_shareable_error()) as raised:
        future.result(SHORT_TIMEOUT)
    assert isinstance(raised.value, TypeError)
    assert causes(raised.value)[0].endswith(NOT_SHAREABLE)
    assert '<lambda>' in causes(raised.value)[0]


def test_a_threading_event_cannot_be_sent_to_an_interpreter(
    executor_pools: SharedPools,
) -> None:
    """An Event holds locks of this interpreter: it is neither shareable nor picklable.

    That is why the spec's gates use ``concurrent.interpreters`` queues instead.
    """
    event = threading.Event()
    future = executor_pools.get('interpreter').submit(square, event)  # type: ignore[arg-type]
    with pytest.raises(not_shareable_error(), match=NOT_SHAREABLE) as raised:
        future.result(SHORT_TIMEOUT)
    assert causes(raised.value)[0] == f'{event!r} {NOT_SHAREABLE}'


def test_a_worker_interpreter_does_not_see_sys_path_changes(
    bare_interpreter: Executor, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Workers start from the initial sys.path, not the one pytest changed at run time.

    ``counter_value`` uses a global, so it travels by name, and the worker cannot
    import ``tests.executor_tasks``: the future fails with NotShareableError, caused by
    the worker's ModuleNotFoundError (sent back as text). The ``interpreter_paths``
    fixture, as the initializer's argument, fixes that.
    """
    monkeypatch.chdir(tmp_path)  # the initial sys.path may hold '', this directory
    future = bare_interpreter.submit(counter_value, 1)
    with pytest.raises(not_shareable_error(), match='args not shareable') as raised:
        future.result(SHORT_TIMEOUT)
    remote = causes(raised.value)[0]
    assert remote.startswith("ModuleNotFoundError: No module named 'tests'")
    assert remote.endswith('NotShareableError: object could not be unpickled')


def test_a_stateless_function_needs_no_import_in_the_worker(
    bare_interpreter: Executor,
) -> None:
    """``square`` uses no globals, so its code is copied: no import, no initializer."""
    assert bare_interpreter.submit(square, 7).result(SHORT_TIMEOUT) == 49
