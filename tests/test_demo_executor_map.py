"""Experimenting with Executor.map: demo_executor_map.py and its timeline.

The in-process runs replace ``sleep`` with gates the test opens and the timeline's
clock (``executor_timeline.perf_counter``) with a number it sets, so a run takes no
real time and its order and chart are exact. Lines written by the main thread come in
a fixed order; the workers' ``loiter`` lines interleave with them as threads do.
"""

import inspect
import platform
import re
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import demo_executor_map as demo
import executor_timeline
from demo_executor_map import arguments, display, loiter
from executor_timeline import TaskTimes, render_timeline
from harness import stop
from tests.support import (
    EXIT_INTERRUPTED,
    LONG_TIMEOUT,
    SHORT_TIMEOUT,
    Transcript,
    ctrl_c,
    needs_python,
    older_python,
    run_script,
    start_script,
)

STAMP = r'\[\d\d:\d\d:\d\d\]'
T0 = 100.0  # the fake clock's reading when the run starts: times count from here
LEGEND = '. queued   # running   - done, waiting for the loop   | result taken'
MAP_HAS_BUFFERSIZE = 'buffersize' in inspect.signature(Executor.map).parameters


class Writes:
    """A stand-in for sys.stdout that keeps every write call apart."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_display_writes_each_line_whole_in_a_single_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One write per line, so lines of concurrent threads cannot interleave mid-line."""
    stdout = Writes()
    monkeypatch.setattr(sys, 'stdout', stdout)
    display('result', 3, 'done.')
    display('\tloiter(1): done.')
    assert len(stdout.calls) == 2
    assert re.fullmatch(STAMP + r' result 3 done\.\n', stdout.calls[0])
    assert re.fullmatch(STAMP + r' \tloiter\(1\): done\.\n', stdout.calls[1])


def test_display_lines_from_many_threads_stay_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Eight threads displaying at once still give one whole line per call."""
    message = 'a message long enough to be split, were it written in pieces'
    with ThreadPoolExecutor(8) as executor:
        for _ in range(400):
            executor.submit(display, message)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 400
    assert all(re.fullmatch(f'{STAMP} {message}', line) for line in lines)


def test_loiter_says_what_it_does_indented_by_n_tabs_and_returns_n_times_10(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """loiter(n) sleeps n seconds between a start and a done message."""
    slept: list[float] = []
    monkeypatch.setattr(demo, 'sleep', slept.append)
    assert loiter(2) == 20
    assert slept == [2]
    lines = capsys.readouterr().out.splitlines()
    assert [line[11:] for line in lines] == [
        '\t\tloiter(2): doing nothing for 2s...',
        '\t\tloiter(2): done.',
    ]


@pytest.mark.claims('C28')
def test_arguments_says_when_each_argument_is_taken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The arguments generator displays ``map takes N`` as each one is asked for."""
    taken = arguments([2, 0])
    assert capsys.readouterr().out == ''
    assert next(taken) == 2
    assert [line[11:] for line in capsys.readouterr().out.splitlines()] == [
        'map takes 2'
    ]
    assert list(taken) == [0]
    assert capsys.readouterr().out.endswith(' map takes 0\n')


class Run:
    """main() in a thread, with sleep(n) held until the test opens gate n.

    The test also sets the clock, so the timeline's times are the test's numbers.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.out = Transcript()
        self.now = T0
        self.gates = [threading.Event() for _ in range(10)]
        monkeypatch.setattr(demo, 'sleep', self.sleep)
        monkeypatch.setattr(executor_timeline, 'perf_counter', lambda: self.now)
        self.runner = ThreadPoolExecutor(1)

    def sleep(self, seconds: float) -> None:
        # sleep(0) returns at once, as the real one does.
        if seconds and not self.gates[int(seconds)].wait(SHORT_TIMEOUT):
            raise TimeoutError(f'sleep({seconds}) was never released')

    def main(self, args: list[str]) -> None:
        with redirect_stdout(self.out):
            demo.main(args)

    def start(self, *args: str) -> Future[None]:
        return self.runner.submit(self.main, list(args))

    def wait_for(self, *texts: str) -> list[str]:
        """Wait until each of these messages was displayed; return the lines so far."""
        for text in texts:
            self.out.wait_for(f'] {text}\n')
        return self.messages()

    def messages(self) -> list[str]:
        """The displayed messages so far, without their time stamps."""
        lines = self.out.getvalue().splitlines()
        return [line[11:] for line in lines if re.match(STAMP, line)]

    def main_thread(self) -> list[str]:
        """The messages of the main thread: all but the workers' loiter lines."""
        return [line for line in self.messages() if 'loiter(' not in line]

    def chart(self) -> list[str]:
        return [line for line in self.out.getvalue().splitlines() if line[:1] != '[']

    def advance(self, seconds: float, task: int) -> None:
        """Move the clock to T0 + seconds, then let loiter(task) end its sleep."""
        self.now = T0 + seconds
        self.gates[task].set()

    def close(self) -> None:
        for gate in self.gates:  # lets a failed run end
            gate.set()
        self.runner.shutdown()


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    script = Run(monkeypatch)
    yield script
    script.close()


def starts(n: int) -> str:
    return '\t' * n + f'loiter({n}): doing nothing for {n}s...'


def ends(n: int) -> str:
    return '\t' * n + f'loiter({n}): done.'


@pytest.mark.claims('C28', 'C29', 'C30')
def test_main_shows_the_order_the_chapter_describes(run: Run) -> None:
    """map takes every argument at once and returns a generator; results come in order.

    Three workers: loiter(3) starts when loiter(0) ends, loiter(4) when loiter(1) ends.
    """
    done = run.start()
    early = run.wait_for('Waiting for individual results:', 'result 0: 0', starts(3))
    # Before any long task ended: the generator was shown and only result 0 arrived.
    assert not any(ends(n) in early for n in range(1, 5))
    assert [line for line in early if line.startswith('result ')] == ['result 0: 0']
    run.advance(1, 1)
    run.wait_for('result 1: 10', starts(4))
    for seconds, task in [(2, 2), (3, 3), (5, 4)]:
        run.advance(seconds, task)
        run.wait_for(f'result {task}: {task * 10}')
    done.result(SHORT_TIMEOUT)

    lines = run.messages()
    generator = r'results: <generator object .*result_iterator at 0x[0-9a-f]+>'
    main_lines = [
        re.sub(generator, 'results: <generator>', m) for m in run.main_thread()
    ]
    assert main_lines == [
        'Script starting.',
        *[f'map takes {n}' for n in range(5)],
        'results: <generator>',
        'Waiting for individual results:',
        *[f'result {n}: {n * 10}' for n in range(5)],
    ]
    assert lines.index(ends(0)) < lines.index(starts(3))
    assert lines.index(ends(1)) < lines.index(starts(4))
    for n in range(5):
        assert lines.index(f'map takes {n}') < lines.index(starts(n))
        assert lines.index(ends(n)) < lines.index(f'result {n}: {n * 10}')
    assert run.chart() == []  # the plain run draws no chart


@pytest.mark.claims('C29')
def test_timeline_shows_when_each_task_queued_ran_and_was_taken(run: Run) -> None:
    """--timeline charts the run above: loiter(4) queues for 1s, none waits to be taken.

    On the test's clock loiter(n) ends at n seconds, loiter(4) runs from 1s to 5s, and
    the chart is 60 columns for 5 seconds: 12 columns a second. The times count from
    the start of the run, not from the clock's zero.
    """
    done = run.start('--timeline')
    # Every task that starts at 0s has said so before the clock moves.
    run.wait_for('result 0: 0', starts(1), starts(2), starts(3))
    for seconds, task in [(1, 1), (2, 2), (3, 3), (5, 4)]:
        if task == 2:
            run.wait_for(starts(4))  # loiter(4) started at 1s, before the clock moves
        run.advance(seconds, task)
        run.wait_for(f'result {task}: {task * 10}')
    done.result(SHORT_TIMEOUT)
    assert run.chart() == [
        'Timeline over 5.00s, one column = 0.083s:',
        'loiter(0) |',
        'loiter(1) ' + '#' * 12 + '|',
        'loiter(2) ' + '#' * 24 + '|',
        'loiter(3) ' + '#' * 36 + '|',
        'loiter(4) ' + '.' * 12 + '#' * 48 + '|',
        LEGEND,
    ]


def run_reversed(run: Run, *options: str) -> None:
    """``3 --reverse --timeline``: loiter(2) first; loiter(1) ends at 1s, it at 2s."""
    done = run.start('3', '--reverse', '--timeline', *options)
    early = ['Waiting for individual results:', starts(2), starts(1)]
    if not options:  # loiter(0) runs and ends at 0s; with --buffersize 1 it waits
        early.append(ends(0))
    run.wait_for(*early)
    run.advance(1, 1)
    run.wait_for(ends(1))
    run.advance(2, 2)
    done.result(SHORT_TIMEOUT)


@pytest.mark.claims('C30')
def test_timeline_shows_head_of_line_blocking(run: Run) -> None:
    """With the longest task first, the shorter ones finish and wait for it (--reverse).

    Every result is taken at 2s, when loiter(2) is done: every row is as wide as the
    chart, and their | align.
    """
    run_reversed(run)
    assert run.main_thread()[1:4] == ['map takes 2', 'map takes 1', 'map takes 0']
    chart = run.chart()
    assert chart == [
        'Timeline over 2.00s, one column = 0.033s:',
        'loiter(2) ' + '#' * 60 + '|',
        'loiter(1) ' + '#' * 30 + '-' * 30 + '|',
        'loiter(0) ' + '-' * 60 + '|',
        LEGEND,
    ]
    assert {len(row) for row in chart[1:-1]} == {len('loiter(2) ') + 61}


@needs_python(3, 14)
def test_buffersize_keeps_map_only_n_tasks_ahead_of_the_loop(run: Run) -> None:
    """--buffersize N: map takes the next argument only as the loop takes a result.

    With N = 1, loiter(0) is not even taken until result 0 is, at 2s: its row is blank
    until then, where without the option it was done and waiting from the start.
    """
    run_reversed(run, '--buffersize', '1')
    generator = r'results: <generator object .*result_iterator at 0x[0-9a-f]+>'
    main_lines = [
        re.sub(generator, 'results: <generator>', m) for m in run.main_thread()
    ]
    assert main_lines == [
        'Script starting.',
        'map takes 2',
        'results: <generator>',
        'Waiting for individual results:',
        'map takes 1',
        'result 0: 20',
        'map takes 0',
        'result 1: 10',
        'result 2: 0',
    ]
    assert run.chart() == [
        'Timeline over 2.00s, one column = 0.033s:',
        'loiter(2) ' + '#' * 60 + '|',
        'loiter(1) ' + '#' * 30 + '-' * 30 + '|',
        'loiter(0) ' + ' ' * 60 + '|',
        LEGEND,
    ]


def test_render_timeline_draws_each_moment_of_a_task() -> None:
    """Blank before map took it, . queued, # running, - done, | result taken."""
    chart = render_timeline([TaskTimes('t', 1, 2, 4, 7)], width=7)
    assert chart.splitlines() == [
        'Timeline over 7.00s, one column = 1.000s:',
        't  .##---|',
        LEGEND,
    ]


@pytest.mark.parametrize(
    'consumed',
    [
        pytest.param(1.0, id='whole-seconds'),
        pytest.param(0.77, id='fractions-of-a-second'),
    ],
)
def test_render_timeline_aligns_results_taken_together(consumed: float) -> None:
    """Rows whose results were taken at the same moment are the same width.

    Each segment ends where the next begins, so rounding never makes a row longer.
    """
    tasks = [
        TaskTimes('loiter(10)', 0.0, 0.013, 0.38, consumed),
        TaskTimes('loiter(2)', 0.05, 0.26, 0.51, consumed),
        TaskTimes('loiter(0)', 0.12, 0.12, 0.12, consumed),
    ]
    rows = render_timeline(tasks, width=13).splitlines()[1:-1]
    assert {len(row) for row in rows} == {len('loiter(10) ') + 13 + 1}
    assert all(row.endswith('|') and row.count('|') == 1 for row in rows)
    assert rows[2].startswith(' loiter(0) ')  # labels right-aligned


def test_the_script_runs_one_instant_task(tmp_path: Path) -> None:
    """``demo_executor_map.py 1 --timeline`` runs loiter(0) alone: a real quick run."""
    done = run_script('demo_executor_map.py', '1', '--timeline', cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, '')
    lines = done.stdout.splitlines()
    assert all(re.match(STAMP + ' ', line) for line in lines[:7])
    messages = [re.sub(' at 0x[0-9a-f]+>', '>', line[11:]) for line in lines[:7]]
    # The worker's lines and the main thread's may come in either order.
    assert messages[:2] == ['Script starting.', 'map takes 0']
    assert sorted(messages[2:]) == [
        'Waiting for individual results:',
        'loiter(0): doing nothing for 0s...',
        'loiter(0): done.',
        'result 0: 0',
        'results: <generator object Executor.map.<locals>.result_iterator>',
    ]
    assert messages[6] == 'result 0: 0'
    assert lines[7].startswith('Timeline over ')
    assert re.fullmatch(r'loiter\(0\) [ .#-]*\|', lines[8])
    assert lines[9:] == [LEGEND]


def test_ctrl_c_reports_the_results_taken_and_exits_at_once(tmp_path: Path) -> None:
    """Ctrl-C: ``*** Interrupted: N results taken.``, exit 130, no traceback.

    The run is stopped while loiter(1) and the rest sleep; it does not wait for them.
    Each line comes as it is printed, even into a pipe: the script flushes it.
    """
    child, out, err = start_script(
        'demo_executor_map.py', '10', cwd=tmp_path, unbuffered=False
    )
    try:
        assert out.wait_until(
            lambda lines: any(line.endswith(' result 0: 0') for line in lines),
            LONG_TIMEOUT,
        )
        status = ctrl_c(child)
    finally:
        stop(child)
    taken = sum(' result ' in line for line in out.text().splitlines())
    assert status == EXIT_INTERRUPTED, err.text()
    assert taken >= 1
    assert err.text() == f'*** Interrupted: {taken} results taken.\n'


def parse(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int | str | None, str, str]:
    """main(ARGS) as ``demo_executor_map.py ARGS``: exit code, out and err."""
    monkeypatch.setattr(sys, 'argv', ['demo_executor_map.py'])
    with pytest.raises(SystemExit) as exited:
        demo.main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


USAGE = 'usage: demo_executor_map.py [-h] [--reverse] [--timeline]'


def test_help_shows_the_usage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``demo_executor_map.py -h`` lists the count and the options."""
    code, out, err = parse(monkeypatch, capsys, '-h')
    assert (code, err) == (0, '')
    assert out.startswith(USAGE)
    assert 'tasks to run, loiter(0) to loiter(COUNT - 1) (default: 5)' in out
    assert ('--buffersize N' in out) is MAP_HAS_BUFFERSIZE


BAD_ARGUMENTS = [
    pytest.param(['0'], "argument COUNT: expected a whole number from 1 to 10, not '0'",
                 id='zero'),
    pytest.param(['11'], "argument COUNT: expected a whole number from 1 to 10, "
                 "not '11'", id='too-many'),
    pytest.param(['five'], "argument COUNT: expected a whole number from 1 to 10, "
                 "not 'five'", id='word'),
    pytest.param(['2', '3'], 'unrecognized arguments: 3', id='two-counts'),
    pytest.param(['--chart'], 'unrecognized arguments: --chart', id='unknown-option'),
]  # fmt: skip


@pytest.mark.parametrize(('argv', 'message'), BAD_ARGUMENTS)
def test_a_bad_argument_is_a_usage_error(
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bad input gets argparse's usage and error line, exit status 2, and no run."""
    code, out, err = parse(monkeypatch, capsys, *argv)
    assert (code, out) == (2, '')
    assert err.startswith(USAGE)
    assert err.endswith(f'\ndemo_executor_map.py: error: {message}\n')


@needs_python(3, 14)
def test_buffersize_must_be_a_whole_number_from_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--buffersize 0 is refused: map would then take no argument at all."""
    code, out, err = parse(monkeypatch, capsys, '--buffersize', '0')
    assert (code, out) == (2, '')
    assert err.endswith(
        "error: argument --buffersize: expected a whole number from 1 up, not '0'\n"
    )


@older_python(3, 14)  # Executor.map takes buffersize from 3.14 on
def test_buffersize_is_a_usage_error_where_map_lacks_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before Executor.map had buffersize (3.14), --buffersize is a usage error that
    says which Python it needs, not an unrecognized argument; -h does not show it."""
    code, out, err = parse(monkeypatch, capsys, '--buffersize', '2')
    assert (code, out) == (2, '')
    assert err.startswith(f'{USAGE} [COUNT]\n')
    assert err.endswith(
        'error: argument --buffersize: needs Python 3.14 or newer; this is Python'
        f' {platform.python_version()}\n'
    )


def test_a_usage_error_has_no_traceback(tmp_path: Path) -> None:
    """Run as a script, a bad count gets the usage and one error line."""
    done = run_script('demo_executor_map.py', '11', cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, '')
    assert done.stderr.startswith(USAGE)
    assert done.stderr.endswith(
        'demo_executor_map.py: error: argument COUNT: expected a whole number from 1 '
        "to 10, not '11'\n"
    )
    assert 'Traceback' not in done.stderr
