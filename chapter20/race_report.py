"""Support for race.py: what each race ends with, a table and a bar chart.

The race runs each approach in rounds (``Round``); ``show`` sums the rounds of each
approach up in a row (``Run``: the median time, the counts of its worst round), prints
the table with the ideal time, the efficiency and the speedup, a line for each row whose
rounds spread too wide, then a bar chart of the medians.
"""

import statistics
from collections.abc import Callable, Sequence
from typing import NamedTuple

BUSY = 0.25  # rounds spread wider than this: the comparison is not fair


class Round(NamedTuple):
    """One run of an approach."""

    elapsed: float | None  # None: the run reported no time
    counts: tuple[int, ...]  # OK, not found, errors; or numbers checked, primes
    succeeded: bool
    task_times: tuple[float, ...] = ()  # of each number, in a sequential CPU run


class Run(NamedTuple):
    """A row of a table: an approach over the rounds it finished."""

    approach: str
    workers: int
    elapsed: float | None  # the median; None if no round reported a time
    ideal: float | None
    counts: tuple[int, ...]  # () if no round finished
    spread: float = 0.0  # (max - min) / median of the rounds' times


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
    """Efficiency is ideal / elapsed; speedup is sequential elapsed / elapsed."""
    return None if numerator is None or not elapsed else numerator / elapsed


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
    return [template.format(r.approach, r.spread) for r in runs if r.spread > BUSY]


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


def show(title: str, rounds: Rounds, ideal: Ideal, counted: list[str]) -> None:
    """The table with its warnings, then the chart, of the rounds finished if any."""
    if not any(rounds.values()):
        return
    runs = [summarize(a, w, ideal(w), done) for (a, w), done in rounds.items()]
    table = format_table(runs, counted)
    print(f'\n{title}', *table, *busy_warnings(runs), '', *bar_chart(runs), sep='\n')


def plural(count: int, noun: str) -> str:
    return f'{count} {noun}' if count == 1 else f'{count} {noun}s'


def io_title(codes: int, delay: float, error_rate: float) -> str:
    errors = f' and {error_rate:.0%} errors' if error_rate else ''
    return f'I/O race: {plural(codes, "flag")}, a {delay}s delay{errors}.'
