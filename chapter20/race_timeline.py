"""Support for race.py: its ``--timeline``: when each request and check ran.

After each race's table, ``race.py --timeline`` draws the last round that each approach
finished: one row per flag or per number, every approach of the race on one scale, the
rule of the demo's chart (executor_timeline.Scale). A row counts from the start of its
run: for a downloader, the moment the race started its process, so the time a script
takes to start (Python, httpx, a pool of processes) shows before its first request; in
the CPU race, the moment before the pool is made, so a pool's start-up shows too.

- The I/O race as the flag server saw it (``requests``): each request from its arrival
  to the start of its answer, as slow_server.py logs them, on ``time.monotonic()``, a
  clock that every process of the machine shares.
- The CPU race from the workers' side (``checks``): ``timed_check`` runs proc_pool's
  ``check`` in the worker, and notes on the same clock when it began and ended and
  which worker ran it: a process and a thread, as the threads of a pool, or its
  interpreters, share one process. The workers are named w1, w2... as they begin.
"""

import os
import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from executor_timeline import CHART_WIDTH, Scale
from proc_pool import PrimeResult, check

if TYPE_CHECKING:  # only: the workers import this module, and need no harness
    from harness import Request


class Span(NamedTuple):
    """A request or a check, in seconds from the start of its run."""

    label: str  # the country code, or the number checked
    start: float
    end: float
    worker: str = ''  # the worker that ran a check
    failed: bool = False  # a request answered without a flag: 404, 418...


class Timeline(NamedTuple):
    """The spans of one run, and its length: seconds from its start to its end."""

    length: float
    spans: tuple[Span, ...]


class Chart(NamedTuple):
    """What a race's timeline draws, said above it and under it."""

    title: str
    legend: str


REQUESTS = Chart(
    'Requests as the flag server saw them, each from its arrival to its answer, in the'
    ' last round of each approach:',
    '# waiting for its answer   x answered without a flag   | less than a column',
)
CHECKS = Chart(
    'Checks as the workers ran them, each from its start to its end, in the last round'
    ' of each approach:',
    '# checking, in worker w1, w2...   | less than a column',
)


def requests(logged: Iterable['Request'], launched: float, ended: float) -> Timeline:
    """The requests of a run that the race started at moment launched and saw end at
    ended (both time.monotonic()), as the server logged them, in order of arrival."""
    spans = [
        Span(code_of(r.path), r.arrived - launched, r.answered - launched,
             failed=r.status != 200)
        for r in sorted(logged, key=lambda r: r.arrived)
    ]  # fmt: skip
    return Timeline(ended - launched, tuple(spans))


def code_of(path: str) -> str:
    """The country code in a flag's path: 'CN' for '/flags/cn/cn.gif'."""
    return path.rpartition('/')[2].removesuffix('.gif').upper()


def timed_check(n: int) -> tuple[PrimeResult, Span]:
    """proc_pool's check(n), timed where it runs: in the worker, on the shared clock."""
    start = time.monotonic()
    result = check(n)
    worker = f'{os.getpid()}.{threading.get_ident()}'  # threads share a process
    return result, Span(str(n), start, time.monotonic(), worker)


def checks(spans: Iterable[Span], started: float, ended: float) -> Timeline:
    """The checks of a run from its start (both moments time.monotonic()), in order of
    their start; the workers named w1, w2... in the order they first began one."""
    names: dict[str, str] = {}
    timed = []
    for span in sorted(spans, key=lambda span: span.start):
        worker = names.setdefault(span.worker, f'w{len(names) + 1}')
        start, end = span.start - started, span.end - started
        timed.append(span._replace(start=start, end=end, worker=worker))
    return Timeline(ended - started, tuple(timed))


def draw(
    chart: Chart, runs: Sequence[tuple[str, Timeline]], width: int = CHART_WIDTH
) -> list[str]:
    """The timeline of each run under its heading, all on one scale: the latest
    moment of any run (its end, or the end of a span) is the last column."""
    spans = [span for _, timeline in runs for span in timeline.spans]
    ends = [timeline.length for _, timeline in runs] + [span.end for span in spans]
    scale = Scale.over(max(ends, default=0.0), width)
    label = max((len(span.label) for span in spans), default=0)
    worker = max((len(span.worker) + 1 for span in spans if span.worker), default=0)
    lines = [chart.title, scale.header()]
    for heading, timeline in runs:
        lines.append(f'{heading}, {timeline.length:.2f}s from its start to its end:')
        for span in timeline.spans:
            start, end = scale.column(span.start), scale.column(span.end)
            bar = ('x' if span.failed else '#') * (end - start) or '|'
            who = f' {span.worker}' if span.worker else ''
            lines.append(f'  {span.label:>{label}}{who:<{worker}} {" " * start}{bar}')
    lines.append(chart.legend)
    return lines
