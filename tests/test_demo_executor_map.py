"""demo_executor_map.py: the chapter's timestamped demonstration of Executor.map.

The in-process tests replace ``sleep`` with gates the test opens and the clock with a
number it sets, so the run takes no real time and its order and timeline are exact.
"""

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

import demo_executor_map as demo
from demo_executor_map import TaskTimes, display, loiter, render_timeline
from tests.executor_tasks import SUBPROCESS_TIMEOUT, TIMEOUT

SCRIPT = demo.__file__
STAMP = r'\[\d\d:\d\d:\d\d\]'


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


class Run:
    """main() in a thread, with sleep(n) held until the test opens gate n.

    The test also sets the clock, so the timeline's times are the test's numbers.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tasks: int) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.now = 0.0
        self.gates = [threading.Event() for _ in range(tasks)]
        monkeypatch.setattr(demo, 'display', self.display)
        monkeypatch.setattr(demo, 'sleep', self.sleep)
        monkeypatch.setattr(demo, 'perf_counter', lambda: self.now)
        self.runner = ThreadPoolExecutor(1)

    def display(self, *args: object) -> None:
        with self.changed:
            self.lines.append(' '.join(map(str, args)))
            self.changed.notify_all()

    def sleep(self, seconds: float) -> None:
        # sleep(0) returns at once, as the real one does.
        if seconds and not self.gates[int(seconds)].wait(TIMEOUT):
            raise TimeoutError(f'sleep({seconds}) was never released')

    def start(self, *args: str) -> Future[None]:
        return self.runner.submit(demo.main, list(args))

    def wait_for(self, *lines: str) -> list[str]:
        """Wait until all these lines were displayed; return the lines so far."""
        with self.changed:
            shown = self.changed.wait_for(
                lambda: all(line in self.lines for line in lines), TIMEOUT
            )
            assert shown, f'never displayed: {set(lines) - set(self.lines)}'
            return list(self.lines)

    def advance(self, now: float, task: int) -> None:
        self.now = now
        self.gates[task].set()

    def close(self) -> None:
        for gate in self.gates:  # lets a failed run end
            gate.set()
        self.runner.shutdown()


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    script = Run(monkeypatch, demo.TASKS)
    yield script
    script.close()


def starts(n: int) -> str:
    return '\t' * n + f'loiter({n}): doing nothing for {n}s...'


def ends(n: int) -> str:
    return '\t' * n + f'loiter({n}): done.'


def test_main_shows_the_order_the_chapter_describes(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """map returns a generator at once; results come in order as the tasks end.

    Three workers: loiter(3) starts when loiter(0) ends, loiter(4) when loiter(1) ends.
    """
    done = run.start()
    early = run.wait_for('Waiting for individual results:', 'result 0: 0', starts(3))
    # Before any long task ended: the generator was shown and only result 0 arrived.
    assert not any(ends(n) in early for n in range(1, 5))
    assert [line for line in early if line.startswith('result ')] == ['result 0: 0']
    run.advance(1, 1)
    run.wait_for('result 1: 10', starts(4))
    for now, task in [(2, 2), (3, 3), (5, 4)]:
        run.advance(now, task)
        run.wait_for(f'result {task}: {task * 10}')
    done.result(TIMEOUT)

    lines = run.lines
    assert lines[0] == 'Script starting.'
    generator = r'results: <generator object .*result_iterator at 0x[0-9a-f]+>'
    assert sum(bool(re.fullmatch(generator, line)) for line in early) == 1
    assert lines.index(ends(0)) < lines.index(starts(3))
    assert lines.index(ends(1)) < lines.index(starts(4))
    for n in range(5):
        assert lines.index(ends(n)) < lines.index(f'result {n}: {n * 10}')
    assert [line for line in lines if line.startswith('result ')] == [
        f'result {n}: {n * 10}' for n in range(5)
    ]
    assert capsys.readouterr().out == ''  # the plain run draws no chart


def test_timeline_shows_when_each_task_queued_ran_and_was_taken(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """--timeline charts the run above: loiter(4) queues for 1s, none waits to be taken.

    On the test's clock loiter(n) ends at n seconds, loiter(4) runs from 1s to 5s, and
    the chart is 60 columns for 5 seconds: 12 columns a second.
    """
    done = run.start('--timeline')
    run.wait_for('result 0: 0', starts(3))
    for now, task in [(1, 1), (2, 2), (3, 3), (5, 4)]:
        if task == 2:
            run.wait_for(starts(4))  # loiter(4) started at 1s, before the clock moves
        run.advance(now, task)
        run.wait_for(f'result {task}: {task * 10}')
    done.result(TIMEOUT)
    assert capsys.readouterr().out.splitlines() == [
        'Timeline over 5.00s, one column = 0.083s:',
        'loiter(0) |',
        'loiter(1) ' + '#' * 12 + '|',
        'loiter(2) ' + '#' * 24 + '|',
        'loiter(3) ' + '#' * 36 + '|',
        'loiter(4) ' + '.' * 12 + '#' * 48 + '|',
        '. queued   # running   - done, waiting for the loop   | result taken',
    ]


def test_timeline_shows_head_of_line_blocking() -> None:
    """With the longest task first, the shorter ones finish and wait for it (--reverse).

    Three workers, tasks of 3, 2, 1 and 0 seconds: loiter(0) queues until loiter(1)
    ends at 1s, and every result is taken at 3s, when loiter(3) is done.
    """
    tasks = [
        TaskTimes('loiter(3)', 0, 3, 3),
        TaskTimes('loiter(2)', 0, 2, 3),
        TaskTimes('loiter(1)', 0, 1, 3),
        TaskTimes('loiter(0)', 1, 1, 3),
    ]
    assert render_timeline(tasks, width=12).splitlines()[1:5] == [
        'loiter(3) ############|',
        'loiter(2) ########----|',
        'loiter(1) ####--------|',
        'loiter(0) ....--------|',
    ]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )


def test_the_script_runs_one_instant_task() -> None:
    """``demo_executor_map.py 1`` runs loiter(0) alone: a real run without waiting."""
    proc = run_script('1', '--timeline')
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(re.match(STAMP + ' ', line) for line in lines[:6])
    messages = [re.sub(' at 0x[0-9a-f]+>', '>', line[11:]) for line in lines[:6]]
    # The worker's lines and the main thread's may come in either order.
    assert messages[0] == 'Script starting.'
    assert sorted(messages[1:]) == [
        'Waiting for individual results:',
        'loiter(0): doing nothing for 0s...',
        'loiter(0): done.',
        'result 0: 0',
        'results: <generator object Executor.map.<locals>.result_iterator>',
    ]
    assert messages[5] == 'result 0: 0'
    assert lines[6].startswith('Timeline over ')


def test_help_shows_the_usage() -> None:
    """``demo_executor_map.py -h`` lists the count and the two options."""
    proc = run_script('-h')
    assert proc.returncode == 0
    assert proc.stdout.startswith('usage: demo_executor_map.py [-h] [--reverse]')
    assert '--timeline' in proc.stdout


@pytest.mark.parametrize('args', ['0', '11', 'five', '2 3', '--chart'])
def test_a_bad_argument_is_a_one_line_usage_error(args: str) -> None:
    """Bad input gets one clear line on stderr and exit status 2, no traceback."""
    proc = run_script(*args.split())
    assert proc.returncode == 2
    assert proc.stdout == ''
    assert re.fullmatch(
        r'demo_executor_map\.py: error: .+; try -h for help\.\n', proc.stderr
    )
