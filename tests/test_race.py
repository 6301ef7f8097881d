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
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness import (
    FlagServer,
    Request,
    ideal_cpu,
    ideal_io,
    parse_report,
    still_running,
    stop,
)
from proc_pool import check
from race import POOLS, cpu_ideal, main
from race_report import (
    CPU_RACE,
    IO_RACE,
    Round,
    Rounds,
    Run,
    bar_chart,
    busy_warnings,
    format_table,
    io_title,
    ratio,
    summarize,
    too_small,
)
from race_timeline import (
    CHECKS,
    REQUESTS,
    Chart,
    Span,
    Timeline,
    checks,
    code_of,
    draw,
    requests,
    timed_check,
)
from tests.support import (
    EXIT_INTERRUPTED,
    LONG_TIMEOUT,
    ctrl_c,
    needs_python,
    nothing_left,
    raw_get,
    run_script,
    start_script,
)

# Three codes, so only the flags2 clients race; a tiny delay; only the first number, 2.
SHORT_RACE = [
    *('--delay', '0.01', '--numbers', '1', '--rounds', '1', '--timeline'),
    *('CN', 'IN', 'US'),
]
FLAGS2 = ['flags2_sequential.py', 'flags2_threadpool.py', 'flags2_asyncio.py']
IO_COUNTS = IO_RACE.counted


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
    ('numerator', 'elapsed'),
    [
        pytest.param(1.0, None, id='failed'),
        pytest.param(1.0, 0.0, id='too-short-to-time'),
        pytest.param(1.0, 0.009, id='elapsed-under-a-hundredth'),
        pytest.param(0.009, 1.0, id='ideal-under-a-hundredth'),
    ],
)
def test_a_ratio_over_no_time_is_unknown(
    numerator: float, elapsed: float | None
) -> None:
    """A failed run has no ratio, nor has a time under 0.01 s, which the report shows
    as 0.00s: a ratio of such times would be noise, not a measure."""
    assert ratio(numerator, elapsed) is None


def test_a_ratio_of_a_hundredth_is_measured() -> None:
    """0.01 s is the smallest time the tables show, and a ratio of it is measured."""
    assert ratio(0.01, 0.02) == pytest.approx(0.5)
    assert ratio(0.02, 0.01) == pytest.approx(2.0)


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


def test_busy_warnings_leave_out_runs_too_short_to_measure() -> None:
    """Rounds of a few milliseconds spread widely by nature: no warning for a row
    whose median is under 0.01 s, which the table shows as 0.00s."""
    runs = [
        Run('tiny', 2, 0.009, 0.001, (1, 1), 2.0),
        Run('ok', 2, 0.01, 0.01, (1, 1), 2.0),
    ]
    assert [line.split(':')[0] for line in busy_warnings(runs)] == [
        'The machine was too busy for a fair comparison of ok'
    ]


def test_work_too_small_to_measure_shows_no_ratios_and_says_what_to_do() -> None:
    """`race.py -n 1` checks the number 2, in microseconds: the table shows no
    efficiency and no speedup for the times under 0.01 s, and a line under it says
    that the work is too small to measure and how to give the race more."""
    runs = [
        Run('sequential', 1, 0.0001, 0.00001, (1, 1)),
        Run('threads', 2, 0.002, 0.00001, (1, 1)),
        Run('processes', 2, 0.17, 0.00001, (1, 1)),
    ]
    table = format_table(runs, CPU_RACE.counted)
    assert [row.split()[4:6] for row in table[1:]] == [['-', '-']] * 3
    assert too_small(runs, CPU_RACE.more_work) == [
        'The work is too small to measure: where a time is under 0.01s, the table'
        ' shows no efficiency and no speedup. To compare, check more numbers (-n N).'
    ]
    measurable = [Run('sequential', 1, 0.01, 0.01, (1, 1))]
    assert too_small(measurable, CPU_RACE.more_work) == []


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


# --- the timelines -------------------------------------------------------------------

CHART = Chart('Title.', 'Legend.')


def logged(path: str, status: int, arrived: float, answered: float) -> Request:
    return Request('GET', path, status, answered - arrived, arrived, answered)


def test_the_requests_of_a_run_count_from_its_launch_in_order_of_arrival() -> None:
    """A run's timeline takes the server's log: each request from its arrival to its
    answer, in seconds from the moment the race started the downloader, sorted by
    arrival; an answer without a flag (404, 418) is marked failed."""
    log = [
        logged('/flags/br/br.gif', 200, 1000.5, 1000.75),
        logged('/flags/cn/cn.gif', 418, 1000.25, 1000.5),
        logged('/flags/qq/qq.gif', 404, 1000.75, 1001.0),
    ]
    assert requests(log, launched=1000.0, ended=1001.5) == Timeline(
        1.5,
        (
            Span('CN', 0.25, 0.5, failed=True),
            Span('BR', 0.5, 0.75),
            Span('QQ', 0.75, 1.0, failed=True),
        ),
    )


def test_a_flag_path_is_drawn_as_its_country_code() -> None:
    """The row of a request for /flags/cn/cn.gif is labelled CN."""
    assert code_of('/flags/cn/cn.gif') == 'CN'


def test_the_checks_of_a_run_name_their_workers_in_the_order_they_began() -> None:
    """A CPU run's timeline counts from the moment before its pool was made; its
    checks come in order of their start, and their workers are named w1, w2... in the
    order each began its first check."""
    ran = [
        Span('7', 12.0, 13.0, worker='4242.2'),
        Span('5', 10.5, 12.0, worker='4242.1'),
        Span('3', 11.0, 12.0, worker='4242.2'),
    ]
    assert checks(ran, started=10.0, ended=13.5) == Timeline(
        3.5,
        (
            Span('5', 0.5, 2.0, worker='w1'),
            Span('3', 1.0, 2.0, worker='w2'),
            Span('7', 2.0, 3.0, worker='w2'),
        ),
    )


def test_a_timed_check_is_proc_pools_check_timed_by_the_worker_that_ran_it() -> None:
    """timed_check returns check's own result, and a span on time.monotonic() (a
    clock every process shares) from before the check to after it, with the worker:
    its process and its thread."""
    before = time.monotonic()
    result, span = timed_check(7)
    after = time.monotonic()
    assert result[:2] == check(7)[:2] == (7, True)
    assert (span.label, span.worker) == ('7', f'{os.getpid()}.{threading.get_ident()}')
    assert before <= span.start <= span.end <= after


def test_a_timeline_draws_every_run_on_one_scale() -> None:
    """Every run of a race is drawn on one scale, the demo's: the latest moment fills
    the width. One row per span: # from its start to its end, x for an answer without
    a flag, | for a span shorter than a column; a heading per run; title and legend."""
    runs = [
        ('one, 1 worker', Timeline(4.0, (Span('BR', 0.5, 1.5), Span('CN', 1.5, 2.5)))),
        (
            'two, 2 workers',
            Timeline(2.0, (Span('BR', 0.5, 1.5), Span('CN', 0.5, 1.5, failed=True),
                           Span('IN', 1.5, 1.6))),
        ),
    ]  # fmt: skip
    assert draw(CHART, runs, width=8) == [
        'Title.',
        'Timeline over 4.00s, one column = 0.500s:',
        'one, 1 worker, 4.00s from its start to its end:',
        '  BR  ##',
        '  CN    ##',
        'two, 2 workers, 2.00s from its start to its end:',
        '  BR  ##',
        '  CN  xx',
        '  IN    |',
        'Legend.',
    ]


def test_a_timeline_of_checks_labels_each_row_with_its_number_and_worker() -> None:
    """In the CPU race a row names the number, right-aligned, then its worker."""
    run = Timeline(2.0, (Span('7', 0.0, 2.0, worker='w1'), Span('11', 0, 1, 'w12')))
    assert draw(CHART, [('threads, 2 workers', run)], width=4)[3:5] == [
        '   7 w1  ####',
        '  11 w12 ##',
    ]


def test_a_span_that_ends_after_its_run_widens_the_scale() -> None:
    """The scale reaches the latest moment of all, a span's end too, so that no bar
    runs past the width (the server logs its moments rounded)."""
    run = Timeline(1.0, (Span('BR', 0.0, 2.0),))
    assert draw(CHART, [('late', run)], width=4)[1:4] == [
        'Timeline over 2.00s, one column = 0.500s:',
        'late, 1.00s from its start to its end:',
        '  BR ####',
    ]


def test_the_requests_arrived_since_a_moment_are_those_of_one_run(
    flag_server_factory: Any,
) -> None:
    """harness's arrived_since(moment) gives the requests that arrived at the server
    from that moment on (time.monotonic(), shared by every process), once their
    answers have come: not those before, nor its own marks."""
    server: FlagServer = flag_server_factory('--delay', '0.01')  # arrivals 10 ms apart
    server.mark()
    raw_get(server.port, '/flags/br/br.gif')
    moment = time.monotonic()
    raw_get(server.port, '/flags/cn/cn.gif')
    raw_get(server.port, '/flags/qq/qq.gif')
    since = server.arrived_since(moment)
    assert [(r.path, r.status) for r in since] == [
        ('/flags/cn/cn.gif', 200),
        ('/flags/qq/qq.gif', 404),
    ]


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
        pytest.param(['--workers', '257'], id='workers-above-256'),
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
    assert (
        'The flags.py series sits out: it always downloads the flags of the 20 most'
        ' populous countries, not the codes given.'
    ) in done.stdout.splitlines()
    # Only the number 2 is checked, in microseconds: the CPU table says so.
    tables = [
        done.stdout[done.stdout.index(f'{race} race: ') :] for race in 'I/O CPU'.split()
    ]
    io_table, cpu_table = [table.split('\n\n')[0].splitlines() for table in tables]
    assert cpu_table[-1].startswith('The work is too small to measure: ')
    assert not any(line.startswith('The work is too small') for line in io_table)


def timeline_rows(output: str, chart: Chart) -> dict[str, list[str]]:
    """The rows of a timeline in a race's output: the heading of each run -> its rows,
    each a label, then the bar after its start."""
    lines = output.splitlines()
    start = lines.index(chart.title)
    end = lines.index(chart.legend, start)
    assert re.fullmatch(r'Timeline over \d+\.\d\ds, one column = \d\.\d{3}s:',
                        lines[start + 1])  # fmt: skip
    runs: dict[str, list[str]] = {}
    for line in lines[start + 2 : end]:
        if line.startswith('  '):
            runs[list(runs)[-1]].append(line.strip())
        else:
            runs[line] = []
    return runs


def test_a_short_race_draws_each_request_and_each_check_in_its_timeline(
    short_race: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """With --timeline each race draws, after its table, a timeline of its last round:
    a heading per approach, then a row per request as the server saw it (three codes,
    each answered with its flag) or per number checked, with the worker that checked
    it; every bar within the 60 columns of the scale, and a legend of the marks."""
    done, _ = short_race
    heading = r'(.+), (\d+) workers?, \d+\.\d\ds from its start to its end:'
    for chart, row, approaches in [
        (REQUESTS, r'(CN|IN|US) ( *)(#+|\|)', FLAGS2),
        (CHECKS, r'(2) w1 ( *)(#+|\|)', list(POOLS)),
    ]:
        runs = timeline_rows(done.stdout, chart)
        titles = [re.fullmatch(heading, title) for title in runs]
        assert [m and m[1] for m in titles] == approaches
        for title, rows in runs.items():
            matches = [re.fullmatch(row, line) for line in rows]
            assert all(matches), (title, rows)
            labels = sorted(m[1] for m in matches if m)
            assert labels == (['CN', 'IN', 'US'] if chart is REQUESTS else ['2'])
            assert all(len(m[2]) + len(m[3]) <= 61 for m in matches if m)
        # The legend under the chart says what each mark means: '# ...   | ...'.
        explained = re.findall(r'(?:^|   )(\S) ', chart.legend)
        assert {'#', '|'} <= set(explained)


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
    argv = ['--delay', '0.1', '--numbers', '1', '--rounds', '1', '--timeline']
    race, out, err = start_script(
        'race.py', *argv, 'CN', 'IN', 'US', cwd=folder, env={'TMPDIR': str(folder)}
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
        left = nothing_left(race) + [p.name for p in folder.iterdir()]
        return status, out.text(), err.text(), left
    finally:
        stop(race)  # after reading all it printed: this closes the pipes


@pytest.mark.skipif(sys.platform != 'linux', reason='reads the process table in /proc')
def test_ctrl_c_mid_race_exits_130_and_leaves_nothing_behind(
    interrupted_race: tuple[int, str, str, list[str]],
) -> None:
    """Ctrl-C in the middle of a download exits with status 130: neither the server
    nor the downloader survives, and nothing is left in the temporary folder."""
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
    those cut short or never started, and no table for a race not begun; with
    --timeline, the timeline of the runs that finished."""
    _, out, _, _ = interrupted_race
    rows = table_rows(out)
    assert re.fullmatch(r'\d+\.\d\ds', rows['flags2_sequential.py'][1])
    assert rows['flags2_asyncio.py'][1:] == ['-', '0.10s', '-', '-', '-', '-', '-']
    assert 'I/O race: 3 flags, a 0.1s delay.' in out.splitlines()
    [(title, requests)] = timeline_rows(out, REQUESTS).items()
    assert title.startswith('flags2_sequential.py, 1 worker, ')
    assert sorted(row.split()[0] for row in requests) == ['CN', 'IN', 'US']
    assert 'CPU race' not in out
    assert CHECKS.title not in out


@pytest.mark.skipif(sys.platform != 'linux', reason='reads the process table in /proc')
def test_ctrl_c_mid_race_says_so_in_one_line_on_stderr(
    interrupted_race: tuple[int, str, str, list[str]],
) -> None:
    """After Ctrl-C, stderr holds one line, '*** Interrupted: ...': no traceback, and
    nothing from the children."""
    _, _, err, _ = interrupted_race
    assert err.splitlines() == ['*** Interrupted: the race stopped all it started.']
