"""Show when Executor.map starts its tasks and when it hands back their results.

``map`` submits every call at once and returns a generator straight away; the generator
then yields the results in input order, waiting for each one in turn. Sample run::

    $ python chapter20/demo_executor_map.py
    [15:56:50] Script starting.
    [15:56:50] loiter(0): doing nothing for 0s...
    [15:56:50] loiter(0): done.
    [15:56:50]      loiter(1): doing nothing for 1s...
    [15:56:50]              loiter(2): doing nothing for 2s...
    [15:56:50] results: <generator object Executor.map.<locals>.result_iterator ...>
    [15:56:50]                      loiter(3): doing nothing for 3s...
    [15:56:50] Waiting for individual results:
    [15:56:50] result 0: 0
    [15:56:51]      loiter(1): done.
    [15:56:51]                              loiter(4): doing nothing for 4s...
    [15:56:51] result 1: 10
    ...
    [15:56:55] result 4: 40

``--timeline`` then draws when each task waited in the queue, ran, and sat finished
until the loop took its result; with ``--reverse`` the longest task goes first, and the
chart shows the loop stuck on it while the shorter tasks are long done.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter, sleep, strftime
from typing import NamedTuple, NoReturn

WORKERS = 3
TASKS = 5
CHART_WIDTH = 60


def display(*args: object) -> None:
    # One write per line: print() writes its pieces separately, and the lines of
    # concurrent threads would interleave mid-line.
    sys.stdout.write(' '.join([strftime('[%H:%M:%S]'), *map(str, args)]) + '\n')
    sys.stdout.flush()


def loiter(n: int) -> int:
    display('\t' * n + f'loiter({n}): doing nothing for {n}s...')
    sleep(n)
    display('\t' * n + f'loiter({n}): done.')
    return n * 10


class TaskTimes(NamedTuple):
    """Seconds from the map call to each moment in the life of one task."""

    label: str
    started: float
    finished: float
    consumed: float


class Timeline:
    """Records the life of each task of one map call, for the chart."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.t0 = clock()  # map submits every task at once: they all queue from here
        self.started: dict[int, float] = {}
        self.finished: dict[int, float] = {}
        self.consumed: list[float] = []

    def track(self, task: Callable[[int], int]) -> Callable[[int], int]:
        def tracked(n: int) -> int:
            self.started[n] = self.clock() - self.t0
            try:
                return task(n)
            finally:
                self.finished[n] = self.clock() - self.t0

        return tracked

    def result_taken(self) -> None:
        self.consumed.append(self.clock() - self.t0)

    def tasks(self, args: Sequence[int]) -> list[TaskTimes]:
        return [
            TaskTimes(f'loiter({n})', self.started[n], self.finished[n], taken)
            for n, taken in zip(args, self.consumed, strict=True)
        ]


def render_timeline(tasks: Sequence[TaskTimes], width: int = CHART_WIDTH) -> str:
    """Draw one row per task: . queued, # running, - done but not yet taken, | taken."""
    span = max((task.consumed for task in tasks), default=0) or 1.0

    def column(seconds: float) -> int:
        return int(seconds / span * width)

    label_width = max((len(task.label) for task in tasks), default=0)
    lines = [f'Timeline over {span:.2f}s, one column = {span / width:.3f}s:']
    for label, started, finished, consumed in tasks:
        start, finish, take = column(started), column(finished), column(consumed)
        bar = '.' * start + '#' * (finish - start) + '-' * (take - finish) + '|'
        lines.append(f'{label:>{label_width}} {bar}')
    lines.append('. queued   # running   - done, waiting for the loop   | result taken')
    return '\n'.join(lines)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block: the mistake is what matters.
        self.exit(2, f'{self.prog}: error: {message}; try -h for help.\n')


def main(argv: Sequence[str] | None = None) -> None:
    parser = Parser(description='Show the order in which Executor.map works.')
    parser.add_argument(
        'count',
        metavar='COUNT',
        nargs='?',
        type=int,
        default=TASKS,
        choices=range(1, 11),
        help=f'tasks to run (default: {TASKS})',
    )
    parser.add_argument('--reverse', action='store_true', help='longest task first')
    parser.add_argument(
        '--timeline', action='store_true', help='draw a chart at the end'
    )
    args = parser.parse_args(argv)
    durations = sorted(range(args.count), reverse=args.reverse)

    display('Script starting.')
    with ThreadPoolExecutor(max_workers=WORKERS) as executor:
        timeline = Timeline(perf_counter)  # records times, prints nothing
        results = executor.map(timeline.track(loiter), durations)
        display('results:', results)
        display('Waiting for individual results:')
        for i, result in enumerate(results):
            timeline.result_taken()
            display(f'result {i}: {result}')
    if args.timeline:
        print(render_timeline(timeline.tasks(durations)))


if __name__ == '__main__':
    main()
