"""Show when Executor.map starts its tasks and when it hands back their results.

``map`` takes every argument and submits every call at once, and returns a generator
straight away; the generator then yields the results in input order, waiting for each
one in turn. Sample run::

    $ .venv/bin/python chapter20/demo_executor_map.py
    [15:56:50] Script starting.
    [15:56:50] map takes 0
    [15:56:50] loiter(0): doing nothing for 0s...
    [15:56:50] map takes 1
    [15:56:50] loiter(0): done.
    [15:56:50]      loiter(1): doing nothing for 1s...
    ...
    [15:56:50] results: <generator object Executor.map.<locals>.result_iterator ...>
    [15:56:50] Waiting for individual results:
    [15:56:50] result 0: 0
    [15:56:51]      loiter(1): done.
    [15:56:51]                              loiter(4): doing nothing for 4s...
    [15:56:51] result 1: 10
    ...
    [15:56:55] result 4: 40

``--timeline`` then draws when each task waited in the queue, ran, and sat finished
until the loop took its result; with ``--reverse`` the longest task goes first, and the
chart shows the loop stuck on it while the shorter tasks are long done. On Python 3.14,
``--buffersize N`` makes map take an argument only when the loop takes a result, so at
most N tasks are ahead of it: the "map takes" lines come one by one.
"""

import stopping  # noqa: F401 (first: from here on, every way the run can end is clean)

import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from time import sleep, strftime

from executor_timeline import Timeline, command_line, render_timeline


def display(*args: object) -> None:
    # One write per line: print() writes its pieces apart, and threads would interleave.
    sys.stdout.write(' '.join([strftime('[%H:%M:%S]'), *map(str, args)]) + '\n')
    sys.stdout.flush()


def loiter(n: int) -> int:
    display('\t' * n + f'loiter({n}): doing nothing for {n}s...')
    sleep(n)
    display('\t' * n + f'loiter({n}): done.')
    return n * 10


def arguments(durations: Iterable[int]) -> Iterator[int]:
    for n in durations:
        display(f'map takes {n}')  # map asks for each argument when it submits
        yield n


def main(argv: Sequence[str] | None = None) -> None:
    args = command_line().parse_args(argv)
    durations = sorted(range(args.count), reverse=args.reverse)
    bounded = {'buffersize': args.buffersize} if args.buffersize else {}
    # While the timeline is active, Ctrl-C says how many results the loop took.
    with ThreadPoolExecutor(max_workers=3) as executor, Timeline() as timeline:
        display('Script starting.')
        results = executor.map(loiter, arguments(durations), **bounded)
        display('results:', results)
        display('Waiting for individual results:')
        for i, result in enumerate(results):
            display(f'result {i}: {result}')
    if args.timeline:
        print(render_timeline(timeline.tasks(durations)))


if __name__ == '__main__':
    main()
