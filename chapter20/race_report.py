"""Support for race.py: what each race ends with, a table, a bar chart and a timeline.

The race runs each approach in rounds (``Round``); ``show`` sums the rounds of each
approach up in a row (``Run``: the median time, the counts of its worst round), prints
the table with the ideal time, the efficiency and the speedup, a line for each row whose
rounds spread too wide and one if a time is too small to measure, then a bar chart of
the medians and, if asked for, the timeline of the last round (race_timeline.py).
"""

import statistics
from collections.abc import Callable, Sequence
from typing import NamedTuple

from race_timeline import CHECKS, REQUESTS, Chart, Timeline, draw

BUSY = 0.25  # rounds spread wider than this: the comparison is not fair
RESOLUTION = 0.01  # seconds: the tables show hundredths, and a ratio of less is noise


class Round(NamedTuple):
    """One run of an approach."""

    elapsed: float | None  # None: the run reported no time
    counts: tuple[int, ...]  # OK, not found, errors; or numbers checked, primes
    succeeded: bool
    task_times: tuple[float, ...] = ()  # of each number, in a sequential CPU run
    timeline: Timeline | None = None  # when each request or check of the run ran


class Run(NamedTuple):
    """A row of a table: an approach over the rounds it finished."""

    approach: str
    workers: int
    elapsed: float | None  # the median; None if no round reported a time
    ideal: float | None
    counts: tuple[int, ...]  # () if no round finished
    spread: float = 0.0  # (max - min) / median of the rounds' times


class Race(NamedTuple):
    """What the report of a race says, besides the rounds: I/O or CPU."""

    counted: list[str]  # the columns of counts
    more_work: str  # how to give the race work enough to measure
    chart: Chart  # its timeline


IO_RACE = Race(
    ['OK', '404', 'errors'], 'give the answers a delay (-d SECONDS)', REQUESTS
)
CPU_RACE = Race(['checked', 'primes'], 'check more numbers (-n N)', CHECKS)
Rounds = dict[tuple[str, int], list[Round]]  # (approach, workers): rounds finished
Ideal = Callable[[int], float | None]  # workers: ideal time


def summarize(name: str, workers: int, ideal: float | None, rounds: list[Round]) -> Run:
    """The median time of the rounds that have one; the counts of the worst round."""
    times = sorted(r.elapsed for r in rounds if r.elapsed is not None)
    median = statistics.median(times) if times else None
    spread = (times[-1] - times[0]) / median if median else 0.0
    counts = min((r.counts for r in rounds), key=lambda c: c[0], default=())
    return Run(name, workers, median, ideal, counts, spread)


def ratio(numerator: float | None, elapsed: float | None) -> float | None:
    """Efficiency is ideal / elapsed; speedup is sequential elapsed / elapsed. None
    for a time unknown, or too small to measure: under RESOLUTION."""
    if numerator is None or elapsed is None or min(numerator, elapsed) < RESOLUTION:
        return None
    return numerator / elapsed


def format_table(runs: Sequence[Run], counted: Sequence[str]) -> list[str]:
    def show(value: float | None, template: str) -> str:
        return '-' if value is None else template.format(value)

    sequential = next((r.elapsed for r in runs if r.workers == 1 and r.elapsed), None)
    rows = [[*'approach workers elapsed ideal efficiency speedup'.split(), *counted]]
    for run in runs:
        times = [show(run.elapsed, '{:.2f}s'), show(run.ideal, '{:.2f}s')]
        times.append(show(ratio(run.ideal, run.elapsed), '{:.0%}'))
        times.append(show(ratio(sequential, run.elapsed), '{:.1f}x'))
        counts = [str(n) for n in run.counts] or ['-'] * len(counted)
        rows.append([run.approach, str(run.workers), *times, *counts])
    widths = [max(map(len, column)) for column in zip(*rows, strict=True)]
    # The approach aligned left, the numbers right.
    cells = [f'{{:<{widths[0]}}}'] + [f'{{:>{width}}}' for width in widths[1:]]
    return ['  '.join(cells).format(*row) for row in rows]


def busy_warnings(runs: Sequence[Run]) -> list[str]:
    """A line for each run whose rounds spread by more than BUSY of their median."""
    template = (
        'The machine was too busy for a fair comparison of {}: its rounds spread over'
        ' {:.0%} of their median time.'
    )
    measured = [r for r in runs if r.elapsed and r.elapsed >= RESOLUTION]
    return [template.format(r.approach, r.spread) for r in measured if r.spread > BUSY]


def too_small(runs: Sequence[Run], more_work: str) -> list[str]:
    """A line if a time, elapsed or ideal, is too small to measure: what to do."""
    times = [t for run in runs for t in (run.elapsed, run.ideal) if t is not None]
    if not any(t < RESOLUTION for t in times):
        return []
    return [
        f'The work is too small to measure: where a time is under {RESOLUTION}s, the'
        f' table shows no efficiency and no speedup. To compare, {more_work}.'
    ]


def bar_chart(runs: Sequence[Run], width: int = 40) -> list[str]:
    label = max(len(run.approach) for run in runs)
    longest = max(run.elapsed or 0.0 for run in runs) or 1.0  # 1.0: all took 0.00s
    lines = []
    for run in runs:
        bar = 'failed' if run.counts else '-'  # or no round finished
        if run.elapsed is not None:
            bar = f'{"#" * round(width * run.elapsed / longest)} {run.elapsed:.2f}s'
        lines.append(f'{run.approach:<{label}}  {bar}')
    return lines


def show(race: Race, title: str, rounds: Rounds, ideal: Ideal, timeline: bool) -> None:
    """The table with its warnings, then the bar chart, of the rounds finished if any;
    and if asked for, the timeline of the last round of each approach."""
    if not any(rounds.values()):
        return
    runs = [summarize(a, w, ideal(w), done) for (a, w), done in rounds.items()]
    table = format_table(runs, race.counted)
    notes = [*busy_warnings(runs), *too_small(runs, race.more_work)]
    print(f'\n{title}', *table, *notes, '', *bar_chart(runs), sep='\n')
    if timeline:
        last = [(f'{a}, {plural(w, "worker")}', drawn)
                for (a, w), done in rounds.items()
                if done and (drawn := done[-1].timeline)]  # fmt: skip
        print('', *draw(race.chart, last), sep='\n')


def plural(count: int, noun: str) -> str:
    return f'{count} {noun}' if count == 1 else f'{count} {noun}s'


def io_title(codes: int, delay: float, error_rate: float) -> str:
    errors = f' and {error_rate:.0%} errors' if error_rate else ''
    return f'I/O race: {plural(codes, "flag")}, a {delay}s delay{errors}.'
