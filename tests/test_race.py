"""The race: its arithmetic, its command line, a short race end to end, and no leaks.

The ideal times are the chapter's back-of-the-envelope model: N requests of d seconds
take N x d one after the other and ceil(N / W) x d with W workers; CPU-bound tasks take
at least their sum divided by W, and never less than the longest one.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from race import (
    FLAGS2_MAX_REQ,
    Run,
    bar_chart,
    format_table,
    ideal_cpu,
    ideal_io,
    interrupts_held,
    main,
    parse_report,
    ratio,
)

RACE = Path(__file__).resolve().parent.parent / 'chapter20' / 'race.py'
RUN_TIMEOUT = 60  # seconds for a short race; it takes about two, idle
EXIT_TIMEOUT = 10  # seconds for the race to exit after Ctrl-C
START_TIMEOUT = 10  # seconds for the race to start its flag server
CHILD_TIMEOUT = 10  # seconds for the race to start its first downloader
POLL = 0.01  # seconds between looks at the process table

# A short race: three codes (so only the flags2 clients run), a tiny server delay, and
# only the first number, 2, for the CPU race.
SHORT_RACE = ['--delay', '0.01', '--numbers', '1', 'CN', 'IN', 'US']


def alive(pid: int) -> bool:
    """Whether a process exists (POSIX: signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process took the number: not ours
        return False
    return True


def server_pid(output: str) -> int:
    match = re.search(r'^Flag server \(pid (\d+)\)', output, re.MULTILINE)
    assert match, output
    return int(match[1])


def children(pid: int) -> set[int]:
    """The processes whose parent is pid, read from Linux's /proc."""
    found = set()
    for stat in Path('/proc').glob('[0-9]*/stat'):
        with contextlib.suppress(OSError):
            # Field 2, the command name, is in parentheses and may hold spaces.
            fields = stat.read_text().rpartition(')')[2].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def make_run(approach: str, workers: int, elapsed: float | None, ideal: float) -> Run:
    return Run(approach, workers, elapsed, ideal, (20, 0, 0), elapsed is not None)


# --- the arithmetic -------------------------------------------------------------------


def test_ideal_io_is_one_delay_per_request_when_sequential() -> None:
    """20 requests of 0.2 s one after the other: 4 s (the chapter's flags.py)."""
    assert ideal_io(20, 1, 0.2) == pytest.approx(4.0)


def test_ideal_io_counts_rounds_of_workers_rounding_up() -> None:
    """6 workers need 4 rounds for 20 requests: the last round is not full."""
    assert ideal_io(20, 6, 0.2) == pytest.approx(0.8)
    assert ideal_io(18, 6, 0.2) == pytest.approx(0.6)


def test_ideal_io_is_one_delay_when_workers_outnumber_requests() -> None:
    """30 threads for 20 flags: every request is in flight at once."""
    assert ideal_io(20, 30, 0.2) == pytest.approx(0.2)


def test_ideal_cpu_of_balanced_tasks_is_their_sum_over_the_workers() -> None:
    """Four 1 s tasks on two processes: 2 s."""
    assert ideal_cpu([1.0, 1.0, 1.0, 1.0], 2) == pytest.approx(2.0)


def test_ideal_cpu_is_never_below_the_longest_task() -> None:
    """A 3 s task cannot be split: 3 s, although the sum over two workers is 2.5 s."""
    assert ideal_cpu([3.0, 1.0, 1.0], 2) == pytest.approx(3.0)


def test_ideal_cpu_with_one_worker_is_the_sum() -> None:
    """The sequential run: one task after the other."""
    assert ideal_cpu([3.0, 1.0, 1.0], 1) == pytest.approx(5.0)


def test_ideal_cpu_of_no_tasks_is_zero() -> None:
    """An empty list has no work, and no crash."""
    assert ideal_cpu([], 2) == 0.0


def test_efficiency_and_speedup_divide_by_the_elapsed_time() -> None:
    """Efficiency is ideal / elapsed; speedup is baseline / elapsed."""
    assert ratio(0.8, 1.0) == pytest.approx(0.8)
    assert ratio(4.0, 0.5) == pytest.approx(8.0)


@pytest.mark.parametrize('elapsed', [None, 0.0])
def test_a_ratio_over_no_time_is_unknown(elapsed: float | None) -> None:
    """A failed run, or one too short for the report's two decimals, has no ratio."""
    assert ratio(1.0, elapsed) is None


# --- the table and the chart ----------------------------------------------------------


def test_table_shows_ideal_efficiency_and_speedup_against_the_sequential_run() -> None:
    """One line per run under a header; a failed run has no time and no ratios."""
    runs = [
        make_run('serial', 1, 4.0, 4.0),
        make_run('threads', 6, 1.0, 0.8),
        make_run('broken', 6, None, 0.8),
    ]
    assert format_table(runs, ['OK', '404', 'errors']) == [
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
    speedups = [
        row.split()[5] for row in format_table(runs, ['OK', '404', 'errors'])[1:]
    ]
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
    """Reports round to 0.00s on a fast enough machine: no division by zero."""
    runs = [make_run('a', 1, 0.0, 0.0), make_run('b', 2, 0.0, 0.0)]
    assert bar_chart(runs) == ['a   0.00s', 'b   0.00s']


def test_report_of_a_flags2_client_gives_time_and_counts() -> None:
    """The flags2 clients end with counts and 'Elapsed time'."""
    output = '17 flags downloaded.\n2 not found.\n1 error.\nElapsed time: 0.85s\n'
    assert parse_report(output) == {
        'ok': 17.0,
        'not found': 2.0,
        'errors': 1.0,
        'elapsed': 0.85,
    }


def test_report_of_the_first_series_gives_the_time_only() -> None:
    """flags.py and its variants print the codes, then 'N downloads in T s'."""
    output = 'BD BR CD CN\n4 downloads in 0.42s\n'
    assert parse_report(output) == {'elapsed': 0.42}


# --- the child processes -------------------------------------------------------------


def test_ctrl_c_while_a_child_starts_is_held_until_its_pid_is_known() -> None:
    """Between fork and Popen's return, Ctrl-C is noted, not raised: no orphan."""
    before = signal.getsignal(signal.SIGINT)
    with interrupts_held() as caught:
        signal.raise_signal(signal.SIGINT)
    assert caught == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is before


# --- the command line -----------------------------------------------------------------


@pytest.mark.parametrize(
    'argv',
    [
        ['--delay', 'soon'],
        ['--delay', '-1'],
        ['--delay', 'nan'],
        ['--error-rate', '1.5'],
        ['--max-req', '0'],
        ['--max-req', '1001'],
        ['--workers', '-2'],
        ['--numbers', '21'],
        ['--all', 'BR'],
        ['1Z'],
        ['ABC'],
        ['--no-such-option'],
    ],
)
def test_bad_input_gets_one_line_and_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistake on the command line is reported in one line, before any server runs."""
    with pytest.raises(SystemExit) as exc_info:
        main(argv)
    assert exc_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert len(err.splitlines()) == 1
    assert ': error: ' in err


# --- end to end -----------------------------------------------------------------------


def test_short_race_runs_every_approach_and_stops_its_server(tmp_path: Path) -> None:
    """Both races run, each ends with its table, and the flag server is gone after."""
    proc = subprocess.run(
        [sys.executable, str(RACE), *SHORT_RACE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # A table row: approach, workers, elapsed, ideal, efficiency, speedup, counts.
    lines = [line.split() for line in proc.stdout.splitlines()]
    rows = {row[0]: row[1:] for row in lines if len(row) > 1 and row[1].isdigit()}
    assert rows['flags2_sequential.py'][0] == '1'
    # The same concurrency for both clients: the race compares like with like.
    assert rows['flags2_threadpool.py'][0] == str(FLAGS2_MAX_REQ)
    assert rows['flags2_asyncio.py'][0] == str(FLAGS2_MAX_REQ)
    for client in ['flags2_sequential.py', 'flags2_threadpool.py', 'flags2_asyncio.py']:
        assert rows[client][-3:] == ['3', '0', '0']  # OK, not found, errors
    for approach in ['sequential', 'ThreadPoolExecutor', 'ProcessPoolExecutor']:
        assert rows[approach][-2:] == ['1', '1']  # checked, primes
    assert not list(tmp_path.iterdir()), 'the downloads belong in a temporary directory'
    if sys.platform != 'win32':  # there, os.kill(pid, 0) would send a Ctrl-C event
        assert not alive(server_pid(proc.stdout))


@pytest.mark.skipif(sys.platform != 'linux', reason='reads the process table in /proc')
def test_ctrl_c_mid_race_stops_the_server_and_the_downloader(tmp_path: Path) -> None:
    """SIGINT while a download runs: status 130, and neither child process survives."""
    race = subprocess.Popen(
        [sys.executable, str(RACE)],  # the defaults: flags.py takes seconds
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert race.stdout is not None
        ready, _, _ = select.select([race.stdout], [], [], START_TIMEOUT)
        assert ready, 'the race did not start its server'
        server = server_pid(race.stdout.readline())
        deadline = time.monotonic() + CHILD_TIMEOUT
        while not (downloaders := children(race.pid) - {server}):
            assert time.monotonic() < deadline, 'no downloader started'
            time.sleep(POLL)
        race.send_signal(signal.SIGINT)
        out, err = race.communicate(timeout=EXIT_TIMEOUT)
    finally:
        race.kill()
        race.wait()
    assert race.returncode == 130, out + err
    assert err.splitlines()[-1].startswith('*** Interrupted')
    leaked = [pid for pid in [server, *downloaders] if alive(pid)]
    for pid in leaked:  # leave the machine clean, then fail
        os.kill(pid, signal.SIGKILL)
    assert leaked == [], f'server {server}, downloaders {downloaders}'
