"""Multicore prime checker redux: proc_pool.py checks the numbers on a process pool.

A reader runs the script with the platform's default start method, and the spec runs
it under each of the three: the workers of ``spawn`` and ``forkserver`` import the
script afresh, so only a script written for them works there. Runs to the end check a
few small numbers instead of the chapter's 20, which take half a minute:
``check_numbers`` defaults to ``primes.NUMBERS``, the very list the wrapper below
changes in place. Runs that end early (Ctrl-C, SIGTERM, SIGKILL, a closed pipe) are
the reader's own, with the 20 numbers: the second takes seconds, so calls are still
pending in the pool when the ending comes, as in a real run.
"""

import io
import re
import sys
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

import proc_pool
from harness import stop
from primes import NUMBERS
from proc_pool import PrimeResult, check, check_numbers
from tests.support import (
    CHAPTER,
    EXIT_CLOSED_PIPE,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    LONG_TIMEOUT,
    ctrl_c,
    nothing_left,
    run_into_head,
    run_script,
    start_script,
    started_by,
)

# Decided at once: three primes, a prime's square, an even and an odd composite.
SMALL = [97, 2, 10_007**2, 100, 10_007, 91]
SMALL_PRIMES = {97, 2, 10_007}
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


def test_check_numbers_on_ctrl_c_reports_the_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C: one line says how many numbers were checked, and the status is 130.

    Here, in a test, Ctrl-C is Python's KeyboardInterrupt; in a script it is the stop
    of stopping.py, which prints the same line (see the runs of the script below).
    """
    with InterruptedMap(1) as executor, pytest.raises(SystemExit) as exited:
        check_numbers(executor, '1 worker', [2, 3, 4])
    assert exited.value.code == EXIT_INTERRUPTED
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == 'Checking 3 numbers with 1 worker:'
    assert len(out.splitlines()) == 2  # no total time
    assert rows(out) == [(2, True)]
    assert err == '*** Interrupted: 1 of 3 numbers checked.\n'


class PipeWatchingMap(ThreadPoolExecutor):
    """An executor whose map runs each check when its result is asked for, having
    noted what a pipe had received by then."""

    def __init__(self, pipe: io.BytesIO) -> None:
        super().__init__(1)
        self.pipe = pipe
        self.seen: list[str] = []  # the pipe's text as each check began

    def map(self, fn: Any, *iterables: Any, **options: Any) -> Any:
        for n in iterables[0]:
            self.seen.append(self.pipe.getvalue().decode())
            yield fn(n)


def test_check_numbers_shows_each_line_at_once_even_through_a_pipe() -> None:
    """Each line reaches stdout as it is printed, even when stdout is a pipe
    (``| tee run.log``), which holds text back until a buffer fills: the header
    before the first check, and each result before the next check."""
    pipe = io.BytesIO()
    stdout = io.TextIOWrapper(pipe, encoding='utf-8')  # block-buffered, as a pipe's
    with PipeWatchingMap(pipe) as executor, redirect_stdout(stdout):
        check_numbers(executor, '1 worker', [2, 97, 91])
    header = 'Checking 3 numbers with 1 worker:'
    assert [text.splitlines()[:1] for text in executor.seen] == [[header]] * 3
    assert [rows(text) for text in executor.seen] == [
        [],
        [(97, True)],
        [(97, True), (91, False)],
    ]


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
def test_main_builds_a_pool_of_the_given_size(
    pools: list[tuple[tuple[Any, ...], Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """``proc_pool.py 2`` checks the numbers with two processes, as the book's does:
    a plain ProcessPoolExecutor(2), with nothing added for Ctrl-C."""
    proc_pool.main(['2'])
    [((args, kwargs), pool)] = pools
    assert args == (2,)
    assert kwargs == {}
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


START_METHODS = [
    pytest.param('fork', id='fork'),
    pytest.param('forkserver', id='forkserver'),
    pytest.param('spawn', id='spawn'),
]
HEADER = 'Checking 20 numbers with 2 processes:'
FIRST = f'{max(NUMBERS):16}     '  # the first result: not prime, known at once


def start_the_real_run(tmp_path: Path, start_method: str = '') -> Any:
    """``proc_pool.py 2`` with the chapter's 20 numbers, once its first result is
    out: the second, a prime, takes seconds, and 18 calls are pending."""
    env = started_by(start_method, tmp_path) if start_method else {}
    child, out, err = start_script('proc_pool.py', '2', cwd=tmp_path, env=env)
    if not out.wait_until(lambda lines: any(FIRST in ln for ln in lines), LONG_TIMEOUT):
        stop(child)
        pytest.fail(f'no first result: {out.lines} {err.lines}')
    return child, out, err


@pytest.mark.parametrize('start_method', START_METHODS)
def test_ctrl_c_reports_the_count_and_ends_every_worker(
    start_method: str, tmp_path: Path
) -> None:
    """Ctrl-C, which a terminal sends to the workers too, ends a real run at once:
    ``*** Interrupted: 1 of 20 numbers checked.``, status 130, and no process of the
    run left, whatever started the workers."""
    child, out, err = start_the_real_run(tmp_path, start_method)
    try:
        status = ctrl_c(child)
        left = nothing_left(child)
    finally:
        stop(child)
    assert status == EXIT_INTERRUPTED, err.text()
    assert err.text() == '*** Interrupted: 1 of 20 numbers checked.\n'
    assert [line[:21] for line in out.text().splitlines()] == [HEADER[:21], FIRST]
    assert left == []


def test_sigterm_to_the_script_alone_stops_it_as_ctrl_c_does(tmp_path: Path) -> None:
    """SIGTERM to the main process only (``kill``, ``timeout``, an IDE's stop button)
    gets the same report, status 143, and the script ends its workers itself."""
    child, _, err = start_the_real_run(tmp_path)
    try:
        child.terminate()
        status = child.wait(LONG_TIMEOUT)
        left = nothing_left(child)
    finally:
        stop(child)
    assert (status, err.text()) == (
        EXIT_TERMINATED,
        '*** Interrupted: 1 of 20 numbers checked.\n',
    )
    assert left == []


@pytest.mark.parametrize('start_method', START_METHODS)
def test_sigkill_to_the_script_ends_its_workers_too(
    start_method: str, tmp_path: Path
) -> None:
    """SIGKILL cannot be caught, yet no worker outlives the script: each watches
    the script's process and ends with it, and so do the forkserver and the
    resource tracker, once nothing holds their pipes."""
    child, _, _ = start_the_real_run(tmp_path, start_method)
    try:
        child.kill()
        child.wait(LONG_TIMEOUT)
        left = nothing_left(child)
    finally:
        stop(child)
    assert left == []


def test_a_closed_stdout_ends_the_run_quietly(tmp_path: Path) -> None:
    """``proc_pool.py 2 | head -1``: once head has its line and leaves, the script's
    next line finds the pipe closed; it ends at once with status 141, as SIGPIPE ends
    a coreutils program, and no traceback."""
    status, head, err = run_into_head('proc_pool.py', '2', lines=1, cwd=tmp_path)
    assert (status, err) == (EXIT_CLOSED_PIPE, '')
    assert head == f'{HEADER}\n'


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
