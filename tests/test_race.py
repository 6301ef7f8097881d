"""Beyond the book: race.py, the chapter's approaches raced against their ideal times.

It documents the arithmetic of the ideal times (the chapter's back-of-the-envelope
model: N requests of d seconds take N x d one after the other and ceil(N / W) x d with
W workers; CPU-bound tasks take at least their sum divided by W, and never less than
the longest one), how rounds become a table row (the median, and a warning when the
rounds spread too wide), the table and the bar chart, the reports it reads, its command
line, a short race end to end, and Ctrl-C in the middle of a race.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness import ideal_cpu, ideal_io, parse_report, still_running, stop
from race import cpu_ideal, main
from race_report import (
    Round,
    Rounds,
    Run,
    bar_chart,
    busy_warnings,
    format_table,
    io_title,
    ratio,
    summarize,
)
from tests.support import (
    EXIT_INTERRUPTED,
    LONG_TIMEOUT,
    ctrl_c,
    needs_python,
    nothing_left,
    run_script,
    start_script,
)

# Three codes, so only the flags2 clients race; a tiny delay; only the first number, 2.
SHORT_RACE = ['--delay', '0.01', '--numbers', '1', '--rounds', '1', 'CN', 'IN', 'US']
FLAGS2 = ['flags2_sequential.py', 'flags2_threadpool.py', 'flags2_asyncio.py']
IO_COUNTS = ['OK', '404', 'errors']


def make_run(approach: str, workers: int, elapsed: float | None, ideal: float) -> Run:
    return Run(approach, workers, elapsed, ideal, (20, 0, 0))


def timed(*elapsed: float | None) -> list[Round]:
    """Rounds that took these times; None is a round that reported none."""
    return [Round(t, (20, 0, 0), t is not None) for t in elapsed]


def table_rows(output: str) -> dict[str, list[str]]:
    """The table rows of a race's output: approach -> workers, elapsed, ..., counts."""
    lines = [line.split() for line in output.splitlines()]
    return {row[0]: row[1:] for row in lines if len(row) > 1 and row[1].isdigit()}


def alive(pid: int) -> bool:
    """Whether a process exists (POSIX: signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid is reused
        return False
    return True


def server_pid(output: str) -> int:
    match = re.search(r'^Flag server \(pid (\d+)\)', output, re.MULTILINE)
    assert match, output
    return int(match[1])


# --- the ideal times ------------------------------------------------------------------


def test_ideal_io_is_one_delay_per_request_when_sequential() -> None:
    """20 requests of 0.2 s one after the other take 4 s, as flags.py does."""
    assert ideal_io(20, 1, 0.2) == pytest.approx(4.0)


def test_ideal_io_counts_rounds_of_workers_rounding_up() -> None:
    """6 workers need 4 rounds for 20 requests, as the last round is not full."""
    assert ideal_io(20, 6, 0.2) == pytest.approx(0.8)
    assert ideal_io(18, 6, 0.2) == pytest.approx(0.6)


def test_ideal_io_is_one_delay_when_workers_outnumber_requests() -> None:
    """With 30 threads for 20 flags, every request is in flight at once."""
    assert ideal_io(20, 30, 0.2) == pytest.approx(0.2)


def test_ideal_cpu_of_balanced_tasks_is_their_sum_over_the_workers() -> None:
    """Four 1 s tasks on two processes take 2 s."""
    assert ideal_cpu([1.0, 1.0, 1.0, 1.0], 2) == pytest.approx(2.0)


def test_ideal_cpu_is_never_below_the_longest_task() -> None:
    """A 3 s task cannot be split: 3 s, although the sum over two workers is 2.5 s."""
    assert ideal_cpu([3.0, 1.0, 1.0], 2) == pytest.approx(3.0)


def test_ideal_cpu_with_one_worker_is_the_sum() -> None:
    """With one worker, the CPU ideal is the sum of the task times."""
    assert ideal_cpu([3.0, 1.0, 1.0], 1) == pytest.approx(5.0)


def test_ideal_cpu_of_no_tasks_is_zero() -> None:
    """No tasks take no time, and do not crash the arithmetic."""
    assert ideal_cpu([], 2) == 0.0


def test_cpu_ideal_takes_each_task_at_its_fastest_over_the_sequential_rounds() -> None:
    """The CPU ideal takes each task at its fastest over the sequential rounds, so a
    round slowed by a busy machine cannot stretch it."""
    sequential = [
        Round(2.0, (2, 1), True, (1.5, 0.5)),
        Round(2.1, (2, 1), True, (1.0, 1.1)),
    ]
    rounds: Rounds = {('sequential', 1): sequential, ('ThreadPoolExecutor', 2): []}
    assert cpu_ideal(rounds, 1) == pytest.approx(1.5)  # 1.0 + 0.5
    assert cpu_ideal(rounds, 2) == pytest.approx(1.0)  # the longest task


def test_cpu_ideal_is_unknown_before_a_sequential_round_finishes() -> None:
    """Before a sequential round finishes, the CPU ideal is unknown."""
    assert cpu_ideal({('sequential', 1): []}, 2) is None


def test_efficiency_and_speedup_divide_by_the_elapsed_time() -> None:
    """Efficiency is ideal / elapsed; speedup is baseline / elapsed."""
    assert ratio(0.8, 1.0) == pytest.approx(0.8)
    assert ratio(4.0, 0.5) == pytest.approx(8.0)


@pytest.mark.parametrize(
    'elapsed',
    [pytest.param(None, id='failed'), pytest.param(0.0, id='too-short-to-time')],
)
def test_a_ratio_over_no_time_is_unknown(elapsed: float | None) -> None:
    """A failed run, or one too short for the report's two decimals, has no ratio."""
    assert ratio(1.0, elapsed) is None


# --- from rounds to a row -------------------------------------------------------------


@pytest.mark.parametrize(
    ('elapsed', 'median'),
    [
        pytest.param([3.0, 1.0, 2.0], 2.0, id='odd-count'),
        pytest.param([1.0, 4.0, 2.0, 10.0], 3.0, id='even-count'),
        pytest.param([5.0], 5.0, id='one-round'),
    ],
)
def test_a_row_reports_the_median_time_of_its_rounds(
    elapsed: list[float], median: float
) -> None:
    """A row's time is the median of its rounds, which one slow round moves little."""
    assert summarize('threads', 4, 1.0, timed(*elapsed)).elapsed == median


def test_a_round_without_a_time_is_left_out_of_the_median() -> None:
    """A round that reported no time is left out of the median; its counts show."""
    rounds = [*timed(1.0, 3.0), Round(None, (17, 0, 3), False)]
    row = summarize('threads', 4, 1.0, rounds)
    assert row.elapsed == 2.0
    assert row.counts == (17, 0, 3)


def test_a_row_shows_the_counts_of_its_worst_round() -> None:
    """A row shows the counts of its round with the fewest successes: no error hides."""
    rounds = [Round(1.0, (20, 0, 0), True), Round(1.1, (18, 1, 1), False)]
    assert summarize('threads', 4, 1.0, rounds).counts == (18, 1, 1)


def test_an_approach_with_no_finished_round_shows_dashes() -> None:
    """An approach with no finished round keeps its row, '-' for every measurement."""
    row = summarize('asyncio', 4, 1.0, [])
    assert (row.elapsed, row.counts, row.spread) == (None, (), 0.0)
    assert format_table([row], IO_COUNTS)[1].split() == [
        'asyncio', '4', '-', '1.00s', '-', '-', '-', '-', '-',
    ]  # fmt: skip
    assert bar_chart([row]) == ['asyncio  -']


def test_the_spread_of_a_row_is_max_minus_min_over_the_median() -> None:
    """A row's spread is (max - min) / median: 0.5 / 1.2 for 1.0, 1.2 and 1.5 s."""
    row = summarize('threads', 4, 1.0, timed(1.5, 1.0, 1.2))
    assert row.spread == pytest.approx(0.5 / 1.2)


@pytest.mark.parametrize(
    ('spread', 'warned'),
    [
        pytest.param(0.5, True, id='wide'),
        pytest.param(0.25, False, id='at-the-limit'),
        pytest.param(0.1, False, id='narrow'),
    ],
)
def test_rounds_spread_more_than_a_quarter_warn_the_machine_was_too_busy(
    spread: float, warned: bool
) -> None:
    """Rounds spread by more than 25 % of their median add a line: the machine was too
    busy for a fair comparison of that row."""
    runs = [
        Run('steady', 1, 1.0, 1.0, (4, 4)),
        Run('pool', 2, 1.0, 1.0, (4, 4), spread),
    ]
    expected = [
        'The machine was too busy for a fair comparison of pool: its rounds spread'
        ' over 50% of their median time.'
    ]
    assert busy_warnings(runs) == (expected if warned else [])


# --- the table and the chart ----------------------------------------------------------


def test_table_shows_ideal_efficiency_and_speedup_against_the_sequential_run() -> None:
    """One line per run under a header; a failed run has no time and no ratios."""
    runs = [
        make_run('serial', 1, 4.0, 4.0),
        make_run('threads', 6, 1.0, 0.8),
        make_run('broken', 6, None, 0.8),
    ]
    assert format_table(runs, IO_COUNTS) == [
        'approach  workers  elapsed  ideal  efficiency  speedup  OK  404  errors',
        'serial          1    4.00s  4.00s        100%     1.0x  20    0       0',
        'threads         6    1.00s  0.80s         80%     4.0x  20    0       0',
        'broken          6        -  0.80s           -        -  20    0       0',
    ]


def test_speedup_is_against_the_first_sequential_run_that_finished() -> None:
    """flags.py failing (a server error stops it) hands the baseline to the next one."""
    runs = [
        make_run('flags.py', 1, None, 4.0),
        make_run('flags2_sequential.py', 1, 5.0, 4.0),
        make_run('flags2_threadpool.py', 30, 0.5, 0.2),
    ]
    speedups = [row.split()[5] for row in format_table(runs, IO_COUNTS)[1:]]
    assert speedups == ['-', '1.0x', '10.0x']


def test_bar_chart_scales_the_slowest_run_to_the_full_width() -> None:
    """Bars are proportional to elapsed time; a failed run says so instead."""
    runs = [
        make_run('slow', 1, 4.0, 4.0),
        make_run('fast', 4, 1.0, 1.0),
        make_run('gone', 4, None, 1.0),
    ]
    assert bar_chart(runs, width=8) == [
        'slow  ######## 4.00s',
        'fast  ## 1.00s',
        'gone  failed',
    ]


def test_bar_chart_of_runs_too_short_to_time_has_no_bars() -> None:
    """Reports round to 0.00s on a fast enough machine, with no division by zero."""
    runs = [make_run('a', 1, 0.0, 0.0), make_run('b', 2, 0.0, 0.0)]
    assert bar_chart(runs) == ['a   0.00s', 'b   0.00s']


@pytest.mark.parametrize(
    ('codes', 'error_rate', 'title'),
    [
        pytest.param(1, 0.0, 'I/O race: 1 flag, a 0.2s delay.', id='one-flag'),
        pytest.param(20, 0.0, 'I/O race: 20 flags, a 0.2s delay.', id='flags'),
        pytest.param(
            20, 0.25, 'I/O race: 20 flags, a 0.2s delay and 25% errors.', id='errors'
        ),
    ],
)
def test_the_io_title_counts_flags_in_words(
    codes: int, error_rate: float, title: str
) -> None:
    """`race.py QQ` races for 1 flag, not "1 flags", and says what the server fails."""
    assert io_title(codes, 0.2, error_rate) == title


# --- the reports the race reads -------------------------------------------------------


@pytest.mark.parametrize(
    ('errors_line', 'errors'),
    [
        pytest.param('0 errors.', 0.0, id='none'),
        pytest.param('1 error: HTTP 418 (1).', 1.0, id='one'),
        pytest.param('3 errors: HTTP 418 (2), ReadTimeout (1).', 3.0, id='causes'),
    ],
)
def test_report_of_a_flags2_client_gives_time_and_counts(
    errors_line: str, errors: float
) -> None:
    """The flags2 clients end with their counts, the causes of errors, and the time."""
    output = f'17 flags downloaded.\n2 not found.\n{errors_line}\nElapsed time: 0.85s\n'
    assert parse_report(output) == {
        'ok': 17.0,
        'not found': 2.0,
        'errors': errors,
        'elapsed': 0.85,
    }


def test_report_of_the_first_series_gives_the_time_only() -> None:
    """flags.py and its variants print the codes, then 'N downloads in T s'."""
    output = 'BD BR CD CN\n4 downloads in 0.42s\n'
    assert parse_report(output) == {'elapsed': 0.42}


# --- the command line -----------------------------------------------------------------


@pytest.mark.parametrize(
    'argv',
    [
        pytest.param(['--delay', 'soon'], id='delay-not-a-number'),
        pytest.param(['--delay', '-1'], id='delay-negative'),
        pytest.param(['--delay', 'nan'], id='delay-nan'),
        pytest.param(['--error-rate', '1.5'], id='error-rate-above-1'),
        pytest.param(['--max-req', '0'], id='max-req-zero'),
        pytest.param(['--max-req', '1001'], id='max-req-above-the-clients-limit'),
        pytest.param(['--workers', '-2'], id='workers-negative'),
        pytest.param(['--numbers', '21'], id='more-numbers-than-there-are'),
        pytest.param(['--rounds', '0'], id='no-rounds'),
        pytest.param(['--all', 'BR'], id='all-and-codes'),
        pytest.param(['1Z'], id='code-with-a-digit'),
        pytest.param(['ABC'], id='code-of-three-letters'),
        pytest.param(['--no-such-option'], id='unknown-option'),
    ],
)
def test_bad_input_is_a_usage_error_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad option or code is argparse's usage error: status 2, nothing on stdout, and
    no server started."""
    with pytest.raises(SystemExit) as exc_info:
        main(argv)
    assert exc_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert err.startswith('usage: ')
    assert ': error: ' in err.splitlines()[-1]


# --- end to end -----------------------------------------------------------------------


@pytest.fixture(scope='module')
def short_race(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One short race, run to its end in an empty folder, for the claims below."""
    cwd = tmp_path_factory.mktemp('short_race')
    return run_script('race.py', *SHORT_RACE, cwd=cwd), cwd


def test_a_short_race_runs_every_flags2_client_and_every_cpu_approach(
    short_race: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """A short race runs every flags2 client and every CPU approach, each with success,
    and exits with status 0."""
    done, _ = short_race
    assert done.returncode == 0, done.stdout + done.stderr
    rows = table_rows(done.stdout)
    for client in FLAGS2:
        assert rows[client][-3:] == ['3', '0', '0']  # OK, not found, errors
    # The same concurrency for both concurrent clients: like is compared with like.
    assert rows['flags2_threadpool.py'][0] == rows['flags2_asyncio.py'][0] == '4'
    for approach in ['sequential', 'ThreadPoolExecutor', 'ProcessPoolExecutor']:
        assert rows[approach][-2:] == ['1', '1']  # checked, primes
    assert 'The flags.py series sits out' in done.stdout


@needs_python(3, 14)
def test_a_short_race_has_an_interpreter_pool_row_from_python_3_14(
    short_race: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """From Python 3.14 the CPU race has an InterpreterPoolExecutor row, with as many
    workers as the process pool."""
    rows = table_rows(short_race[0].stdout)
    assert rows['InterpreterPoolExecutor'][0] == rows['ProcessPoolExecutor'][0]
    assert rows['InterpreterPoolExecutor'][-2:] == ['1', '1']  # checked, primes


def test_a_short_race_leaves_no_server_and_no_files(
    short_race: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """A race leaves no file in its working folder, and no flag server running."""
    done, cwd = short_race
    assert list(cwd.iterdir()) == []
    if sys.platform != 'win32':  # there, os.kill(pid, 0) would send a Ctrl-C event
        assert not alive(server_pid(done.stdout))


def one_run_finished(lines: list[str]) -> bool:
    return any(line.startswith('  flags2_sequential.py') for line in lines)


def start_a_race_with_a_downloader_running(folder: Path) -> Any:
    """A race of three codes, once its second downloader runs: its flag server and
    that downloader, each a process the race started, are running."""
    argv = ['--delay', '0.1', '--numbers', '1', '--rounds', '1', 'CN', 'IN', 'US']
    race, out, err = start_script(
        'race.py', *argv, cwd=folder, env={'TMPDIR': str(folder)}
    )
    assert out.wait_until(one_run_finished, LONG_TIMEOUT), out.lines
    deadline = time.monotonic() + LONG_TIMEOUT
    while not any('flags2_threadpool.py' in p for p in still_running(race)):
        assert time.monotonic() < deadline, 'the second downloader did not start'
        time.sleep(0.01)
    return race, out, err


@pytest.fixture(scope='module')
def interrupted_race(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[int, str, str, list[str]]:
    """A race stopped by Ctrl-C while its second downloader runs: its exit status,
    its stdout and stderr, and what it left: processes, then files in its TMPDIR."""
    folder = tmp_path_factory.mktemp('interrupted_race')
    race, out, err = start_a_race_with_a_downloader_running(folder)
    try:
        status = ctrl_c(race)
        left = nothing_left(race) + [p.name for p in folder.glob('race-*')]
        return status, out.text(), err.text(), left
    finally:
        stop(race)  # after reading all it printed: this closes the pipes


@pytest.mark.skipif(sys.platform != 'linux', reason='reads the process table in /proc')
def test_ctrl_c_mid_race_exits_130_and_leaves_nothing_behind(
    interrupted_race: tuple[int, str, str, list[str]],
) -> None:
    """Ctrl-C in the middle of a download exits with status 130: neither the server
    nor the downloader survives, and the race's temporary folder is gone."""
    status, out, err, left = interrupted_race
    assert status == EXIT_INTERRUPTED, out + err
    assert left == []


@pytest.mark.skipif(sys.platform != 'linux', reason='reads the process table in /proc')
def test_sigkill_mid_race_leaves_no_process_behind(tmp_path: Path) -> None:
    """SIGKILL cannot be caught, yet the race's flag server and its downloader end
    with it: each watches the process that started it (STOP_WITH_PID)."""
    race, _, _ = start_a_race_with_a_downloader_running(tmp_path)
    try:
        race.kill()
        race.wait(LONG_TIMEOUT)
        left = nothing_left(race)
    finally:
        stop(race)
    assert left == []


@pytest.mark.skipif(sys.platform != 'linux', reason='reads the process table in /proc')
def test_ctrl_c_mid_race_prints_the_table_of_the_runs_that_finished(
    interrupted_race: tuple[int, str, str, list[str]],
) -> None:
    """After Ctrl-C the race prints the table of the runs that finished, with '-' for
    those cut short or never started, and no table for a race not begun."""
    _, out, _, _ = interrupted_race
    rows = table_rows(out)
    assert re.fullmatch(r'\d+\.\d\ds', rows['flags2_sequential.py'][1])
    assert rows['flags2_asyncio.py'][1:] == ['-', '0.10s', '-', '-', '-', '-', '-']
    assert 'I/O race: 3 flags, a 0.1s delay.' in out.splitlines()
    assert 'CPU race' not in out


@pytest.mark.skipif(sys.platform != 'linux', reason='reads the process table in /proc')
def test_ctrl_c_mid_race_says_so_in_one_line_on_stderr(
    interrupted_race: tuple[int, str, str, list[str]],
) -> None:
    """After Ctrl-C, stderr holds one line, '*** Interrupted: ...': no traceback, and
    nothing from the children."""
    _, _, err, _ = interrupted_race
    assert err.splitlines() == ['*** Interrupted: the race stopped all it started.']
