"""Support for demo_executor_map.py: its command line, and the chart of ``--timeline``.

The chart needs four moments in the life of each task: when ``map`` took its argument,
when it started, when it finished and when the loop took its result. The demo prints
a line at each of those moments, so ``Timeline`` reads them: while it is active it
stands in for ``sys.stdout``, notes the time of each line, and passes the line on.
"""

import stopping

import argparse
import contextlib
import re
import sys
from collections.abc import Sequence
from time import perf_counter
from typing import NamedTuple, TextIO

from arguments import int_in, newer_python_options

CHART_WIDTH = 60
# The demo's lines for each moment; the number is the task's argument (or position).
EVENT = re.compile(
    r'\] \t*(?:map takes (?P<taken>\d+)|loiter\((?P<started>\d+)\): doing'
    r'|loiter\((?P<finished>\d+)\): done|result (?P<consumed>\d+):)'
)


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Show the order of Executor.map.')
    add = parser.add_argument
    # fmt: off
    add('count', metavar='COUNT', nargs='?', type=int_in(1, 10), default=5,
        help='tasks to run, loiter(0) to loiter(COUNT - 1) (default: 5)')
    add('--reverse', action='store_true', help='the longest task first')
    add('--timeline', action='store_true', help='draw a chart at the end')
    if sys.version_info >= (3, 14):
        add('--buffersize', metavar='N', type=int_in(1),
            help='let map run at most N tasks ahead of the loop (Python 3.14+)')
    # fmt: on
    parser.set_defaults(buffersize=None)  # map's own default, on every version
    return newer_python_options(parser, {'--buffersize': (3, 14)})


class TaskTimes(NamedTuple):
    """Seconds from the start of the run to each moment in the life of one task."""

    label: str
    taken: float
    started: float
    finished: float
    consumed: float


class Timeline:
    """Notes when each line is written to sys.stdout, while it is active; a stop
    meanwhile (Ctrl-C, see stopping.py) reports how many results the loop took."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []
        self.stdout: TextIO = sys.stdout
        self.reporting = contextlib.ExitStack()

    def __enter__(self) -> 'Timeline':
        self.t0, self.stdout, sys.stdout = perf_counter(), sys.stdout, self
        self.reporting.enter_context(stopping.reporting(self.interrupted))
        return self

    def __exit__(self, *exc_info: object) -> None:
        sys.stdout = self.stdout
        self.reporting.close()

    def write(self, text: str) -> int:
        self.lines.append((perf_counter() - self.t0, text))
        return self.stdout.write(text)

    def flush(self) -> None:
        self.stdout.flush()

    def interrupted(self) -> str:
        taken = sum(' result ' in line for _, line in self.lines)
        return f'*** Interrupted: {taken} results taken.'

    def tasks(self, args: Sequence[int]) -> list[TaskTimes]:
        """The moments of each task, in the order of map's arguments."""
        moments: dict[tuple[str, int], float] = {}
        for seconds, line in self.lines:
            if match := EVENT.search(line):
                kind = str(match.lastgroup)
                moments[kind, int(match[kind])] = seconds
        return [
            TaskTimes(f'loiter({n})', moments['taken', n], moments['started', n],
                      moments['finished', n], moments['consumed', i])
            for i, n in enumerate(args)
        ]  # fmt: skip


class Scale(NamedTuple):
    """Seconds to columns, the rule of every timeline here (race.py's too): the span,
    from the start of the run to the last moment drawn, fills the width."""

    span: float
    width: int = CHART_WIDTH

    @classmethod
    def over(cls, last: float, width: int = CHART_WIDTH) -> 'Scale':
        return cls(last or 1.0, width)  # 1.0: nothing took any time

    def column(self, seconds: float) -> int:
        return round(seconds / self.span * self.width)

    def header(self) -> str:
        unit = self.span / self.width
        return f'Timeline over {self.span:.2f}s, one column = {unit:.3f}s:'


def render_timeline(tasks: Sequence[TaskTimes], width: int = CHART_WIDTH) -> str:
    """One row per task: blank before map took it, . queued, # running,
    - done but not yet taken, | result taken; the | of results taken together align."""
    scale = Scale.over(max((task.consumed for task in tasks), default=0), width)
    label_width = max((len(task.label) for task in tasks), default=0)
    lines = [scale.header()]
    for label, *moments in tasks:
        taken, start, finish, take = map(scale.column, moments)
        bar = ' ' * taken + '.' * (start - taken) + '#' * (finish - start)
        lines.append(f'{label:>{label_width}} {bar}{"-" * (take - finish)}|')
    lines.append('. queued   # running   - done, waiting for the loop   | result taken')
    return '\n'.join(lines)
