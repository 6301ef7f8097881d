"""Multicore prime checker redux: proc_pool.py checks the numbers on a process pool.

A reader runs the script with the platform's default start method, and the spec runs
it under each of the three: the workers of ``spawn`` and ``forkserver`` import the
script afresh, so only a script written for them works there. Those runs check a few
small numbers instead of the chapter's 20, which take half a minute: ``check_numbers``
defaults to ``primes.NUMBERS``, the very list the wrapper below changes in place.
"""

import re
import signal
import sys
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import pool_support
import proc_pool
from harness import stop
from proc_pool import PrimeResult, check, check_numbers
from tests.executor_tasks import square
from tests.support import (
    CHAPTER,
    EXIT_INTERRUPTED,
    LONG_TIMEOUT,
    ctrl_c,
    run_script,
    start_script,
)

# Decided at once: three primes, a prime's square, an even and an odd composite.
SMALL = [97, 2, 10_007**2, 100, 10_007, 91]
SMALL_PRIMES = {97, 2, 10_007}
# Trial division would take minutes on this prime: a check that never ends in a test.
ENDLESS = 100_000_000_000_000_000_039
LINE = re.compile(r'(?P<n>[ \d]{16,})  (?P<flag>[P ]) (?P<elapsed>[ \d]{2}\.\d{6})s')
SCRIPT = str(CHAPTER / 'proc_pool.py')
# ``python proc_pool.py ARGS``, with a start method (or the default: '') and numbers.
# The script runs as __main__ with its path as __file__, as Python runs it: that is
# where the workers of spawn and forkserver find it, to import it as __mp_main__.
RUN = f"""
import multiprocessing, pathlib, sys
start_method, numbers, *args = sys.argv[1:]
if start_method:
    multiprocessing.set_start_method(start_method)
sys.path.insert(0, {str(CHAPTER)!r})
import primes
primes.NUMBERS[:] = map(int, numbers.split(','))
__file__ = {SCRIPT!r}
sys.argv = [__file__, *args]
exec(compile(pathlib.Path(__file__).read_text(), __file__, 'exec'))
"""


def rows(out: str) -> list[tuple[int, bool]]:
    """(n, is prime) of each result line of check_numbers, in the order printed."""
    matches = map(LINE.fullmatch, out.splitlines())
    return [(int(m['n']), m['flag'] == 'P') for m in matches if m]


EXPECTED_ROWS = [(n, n in SMALL_PRIMES) for n in sorted(SMALL, reverse=True)]


class FakeTime:
    """The ``time`` module as proc_pool sees it: perf_counter reads the test's clock."""

    def __init__(self, *readings: float) -> None:
        self.readings = list(readings)

    def perf_counter(self) -> float:
        return self.readings.pop(0)


@pytest.mark.claims('C24', 'C26')
def test_check_returns_the_number_its_primality_and_the_time_it_took(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """check(n) is what crosses the process boundary: a small picklable tuple.

    The time is perf_counter after is_prime minus perf_counter before it.
    """
    monkeypatch.setattr(proc_pool, 'time', FakeTime(100.0, 100.25, 200.0, 200.5))
    assert check(10_007) == PrimeResult(10_007, True, 0.25)
    assert check(10_007**2)[:2] == (10_007**2, False)


@pytest.mark.claims('C20', 'C26')
def test_check_numbers_prints_each_number_largest_first_with_its_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Any Executor will do: the report lists the numbers in descending order.

    It opens with the count and the workers' label and ends with the total time; the
    results are returned as PrimeResult tuples, in the order printed.
    """
    with ThreadPoolExecutor(4) as executor:
        results = check_numbers(executor, '4 workers', SMALL)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == 'Checking 6 numbers with 4 workers:'
    assert re.fullmatch(r'Total time: \d+\.\d\ds', lines[-1])
    assert len(lines) == 2 + len(SMALL)
    assert rows(out) == EXPECTED_ROWS
    assert [result[:2] for result in results] == EXPECTED_ROWS
    assert all(isinstance(result, PrimeResult) for result in results)


class InterruptedMap(ThreadPoolExecutor):
    """An executor whose map yields one result, then gets Ctrl-C in the wait."""

    def map(self, fn: Any, *iterables: Any, **options: Any) -> Any:
        yield check(2)
        raise KeyboardInterrupt


def test_check_numbers_on_ctrl_c_stops_the_workers_and_reports_the_count(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C: the pool is stopped without waiting, and one line says what was done.

    The line counts the results printed, and the exit status is 130, as a shell
    reports a program stopped by Ctrl-C.
    """
    stopped: list[Executor] = []
    monkeypatch.setattr(proc_pool, 'stop_workers', stopped.append)
    with InterruptedMap(1) as executor, pytest.raises(SystemExit) as exited:
        check_numbers(executor, '1 worker', [2, 3, 4])
    assert exited.value.code == EXIT_INTERRUPTED
    assert stopped == [executor]
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == 'Checking 3 numbers with 1 worker:'
    assert len(out.splitlines()) == 2  # no total time
    assert rows(out) == [(2, True)]
    assert err == '*** Interrupted: 1 of 3 numbers checked.\n'


def test_stop_workers_shuts_any_executor_down_without_waiting() -> None:
    """A thread pool (or Dask's executor) is shut down; queued work is not awaited."""
    with ThreadPoolExecutor(1) as executor:
        executor.submit(square, 2).result()
        pool_support.stop_workers(executor)
        with pytest.raises(RuntimeError, match='after shutdown'):
            executor.submit(square, 3)


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], Any]]:
    """main()'s calls of ProcessPoolExecutor, and check_numbers never checking.

    No task is submitted, so no worker process ever starts.
    """
    made: list[tuple[tuple[Any, ...], Any]] = []

    def make(*args: Any, **kwargs: Any) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(*args, **kwargs)
        made.append(((args, kwargs), pool))
        return pool

    def no_checks(executor: Executor, workers: str) -> list[PrimeResult]:
        print(f'check_numbers({type(executor).__name__}, {workers!r})')
        return []

    monkeypatch.setattr(proc_pool, 'ProcessPoolExecutor', make)
    monkeypatch.setattr(proc_pool, 'check_numbers', no_checks)
    return made


@pytest.mark.claims('C25')
def test_main_builds_a_pool_of_the_given_size_whose_workers_ignore_ctrl_c(
    pools: list[tuple[tuple[Any, ...], Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """``proc_pool.py 2`` checks the numbers with two processes that ignore SIGINT.

    Ctrl-C in a terminal reaches the workers too; ignore_ctrl_c as the initializer
    leaves it to the main process, which stops them.
    """
    proc_pool.main(['2'])
    [((args, kwargs), pool)] = pools
    assert args == (2,)
    assert kwargs == {'initializer': pool_support.ignore_ctrl_c}
    assert vars(pool)['_max_workers'] == 2  # private: the pool's only record of it
    out = capsys.readouterr().out
    assert out == "check_numbers(ProcessPoolExecutor, '2 processes')\n"


@pytest.mark.claims('C21', 'C25')
def test_main_prints_the_actual_default_worker_count(
    pools: list[tuple[tuple[Any, ...], Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without an argument the pool picks its size; the script prints that number."""
    proc_pool.main([])
    [((args, _), pool)] = pools
    assert args == (None,)
    actual = vars(pool)['_max_workers']  # private, as in the book: no public way
    out = capsys.readouterr().out
    assert out == f"check_numbers(ProcessPoolExecutor, '{actual} processes')\n"


def test_ignore_ctrl_c_makes_a_process_ignore_sigint() -> None:
    """The initializer sets SIGINT to SIG_IGN in the process that runs it."""
    previous = signal.getsignal(signal.SIGINT)
    try:
        pool_support.ignore_ctrl_c()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    'start_method',
    [
        pytest.param('fork', id='fork'),
        pytest.param('forkserver', id='forkserver'),
        pytest.param('spawn', id='spawn'),
    ],
)
@pytest.mark.claims('C25')
def test_the_script_works_under_every_start_method(
    start_method: str, tmp_path: Path
) -> None:
    """proc_pool.py checks its numbers whether workers are forked or started afresh.

    Under spawn and forkserver each worker imports the script as ``__mp_main__``: the
    ``__main__`` guard keeps it from starting a pool of its own there.
    """
    numbers = ','.join(map(str, SMALL))
    done = run_script('-c', RUN, start_method, numbers, '2', cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, '')
    lines = done.stdout.splitlines()
    assert lines[0] == 'Checking 6 numbers with 2 processes:'
    assert len(lines) == 2 + len(SMALL)
    assert rows(done.stdout) == EXPECTED_ROWS
    assert re.fullmatch(r'Total time: \d+\.\d\ds', lines[-1])


def test_ctrl_c_stops_the_workers_and_reports_the_count(tmp_path: Path) -> None:
    """Ctrl-C ends a run at once: ``*** Interrupted: K of N numbers checked.``, 130.

    The pool's second number would take minutes; the run still ends, with the one
    result printed, because the script stops its workers instead of waiting. Each
    line comes as it is printed, even into a pipe: the script flushes it.
    """
    numbers = ','.join(map(str, [ENDLESS + 1, ENDLESS, 3, 2]))
    child, out, err = start_script(
        '-c', RUN, '', numbers, '2', cwd=tmp_path, unbuffered=False
    )
    try:
        assert out.wait_until(lambda lines: len(lines) >= 2, LONG_TIMEOUT)
        status = ctrl_c(child)
    finally:
        stop(child)
    assert status == EXIT_INTERRUPTED
    lines = out.text().splitlines()
    assert lines[0] == 'Checking 4 numbers with 2 processes:'
    assert len(lines) == 2  # no total time
    assert rows(out.text()) == [(ENDLESS + 1, False)]
    # The script counts a result before it prints it: once a line is out, it counts.
    assert err.text() == '*** Interrupted: 1 of 4 numbers checked.\n'


def test_help_explains_the_optional_worker_count(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``proc_pool.py -h`` shows the usage and the default: one process per CPU."""
    monkeypatch.setattr(sys, 'argv', ['proc_pool.py'])
    with pytest.raises(SystemExit) as exited:
        proc_pool.main(['-h'])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: proc_pool.py [-h] [WORKERS]\n')
    assert 'number of processes (default: one per CPU)' in out


BAD_WORKERS = [
    pytest.param(['0'], "argument WORKERS: expected a whole number from 1 to 256, "
                 "not '0'",
                 id='zero'),
    pytest.param(['257'], "argument WORKERS: expected a whole number from 1 to 256, "
                 "not '257'", id='too-many'),
    pytest.param(['-1'], "argument WORKERS: expected a whole number from 1 to 256, "
                 "not '-1'", id='negative'),
    pytest.param(['two'], "argument WORKERS: expected a whole number from 1 to 256, "
                 "not 'two'", id='word'),
    pytest.param(['1.5'], "argument WORKERS: expected a whole number from 1 to 256, "
                 "not '1.5'", id='fraction'),
    pytest.param(['2', '3'], 'unrecognized arguments: 3', id='two-counts'),
]  # fmt: skip


@pytest.mark.parametrize(('argv', 'message'), BAD_WORKERS)
def test_a_bad_worker_count_is_a_usage_error(
    argv: list[str],
    message: str,
    pools: list[tuple[tuple[Any, ...], Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad WORKERS gets argparse's usage and error line, exit 2, and no pool."""
    monkeypatch.setattr(sys, 'argv', ['proc_pool.py'])
    with pytest.raises(SystemExit) as exited:
        proc_pool.main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert (
        err == f'usage: proc_pool.py [-h] [WORKERS]\nproc_pool.py: error: {message}\n'
    )
    assert pools == []


def test_a_usage_error_has_no_traceback(tmp_path: Path) -> None:
    """Run as a script, a bad worker count gets the usage and one error line."""
    done = run_script('proc_pool.py', '0', cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, '')
    assert done.stderr == (
        'usage: proc_pool.py [-h] [WORKERS]\n'
        'proc_pool.py: error: argument WORKERS: expected a whole number from 1 to 256, '
        "not '0'\n"
    )
    assert list(tmp_path.iterdir()) == []
