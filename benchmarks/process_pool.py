"""Measure the speedup of the pools over checking the 20 numbers one by one, in one run.

The numbers are first checked one after the other, which gives each task's time; then
by a ProcessPoolExecutor and, on Python 3.14+, by an InterpreterPoolExecutor, each with
W workers, one per CPU. The speedup of a pool is the sequential time over its time; its
ideal is the sequential time over max(sum of task times / W, longest task), as no pool
beats its longest task. All are measured side by side in this run, so a slower or
busier machine shifts both sides of each ratio.

    $ python benchmarks/process_pool.py
"""

import os
import site
import sys
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'chapter20'))
from harness import CHAPTER, ideal_cpu
from primes import NUMBERS
from proc_pool import check

WORKERS: int = getattr(os, 'process_cpu_count', os.cpu_count)() or 1  # 3.13+: ours
POOLS: dict[str, Callable[[int], futures.Executor]] = {
    'ProcessPoolExecutor': futures.ProcessPoolExecutor,
}
INTERPRETERS: Any = getattr(futures, 'InterpreterPoolExecutor', None)  # 3.14+
if INTERPRETERS:
    # Its interpreters start from the initial sys.path: put proc_pool's folder on it.
    POOLS['InterpreterPoolExecutor'] = lambda workers: INTERPRETERS(
        workers, initializer=site.addsitedir, initargs=(str(CHAPTER),)
    )


def main() -> dict[str, float]:
    numbers = sorted(NUMBERS, reverse=True)  # largest first, as proc_pool.py does
    print(f'Checking {len(numbers)} numbers one after the other...', flush=True)
    t0 = time.perf_counter()
    checked = [check(n) for n in numbers]
    sequential = time.perf_counter() - t0
    task_times = [result.elapsed for result in checked]
    ideal = ideal_cpu(task_times, WORKERS)
    print(f'  {sequential:.2f}s, longest task {max(task_times):.2f}s,'
          f' ideal with {WORKERS} workers {ideal:.2f}s')  # fmt: skip
    figures = {'sequential time (s)': sequential}
    for name, pool in POOLS.items():
        print(f'Checking them with {name} and {WORKERS} workers...', flush=True)
        t0 = time.perf_counter()
        with pool(WORKERS) as executor:
            results = list(executor.map(check, numbers))
        elapsed = time.perf_counter() - t0
        if [r[:2] for r in results] != [r[:2] for r in checked]:
            sys.exit(f'*** The {name} and the sequential run disagree.')
        speedup, best = sequential / elapsed, sequential / ideal
        print(f'  {elapsed:.2f}s, speedup {speedup:.2f}x (ideal {best:.2f}x),'
              f' efficiency {ideal / elapsed:.0%}')  # fmt: skip
        figures[f'{name}, {WORKERS} workers: time (s)'] = elapsed
        figures[f'{name}: speedup over sequential (ideal {best:.2f})'] = speedup
        figures[f'{name}: efficiency, ideal / time'] = ideal / elapsed
    return figures


if __name__ == '__main__':
    main()
