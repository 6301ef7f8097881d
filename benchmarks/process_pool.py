"""Measure the speedup of the pools over checking the 20 numbers one by one, in one run.

The numbers are first checked one after the other, which gives each task's time; then
by a ProcessPoolExecutor, a ThreadPoolExecutor and, on Python 3.14+, an
InterpreterPoolExecutor, each with W workers, one per CPU. The speedup of a pool is the
sequential time over its time; its ideal is the sequential time over max(sum of task
times / W, longest task), as no pool beats its longest task. The CPU seconds per wall
second say how many cores ran Python code at once: the CPU time of this process (its
threads and interpreters) and of the pool's worker processes, read from /proc before
the pool shuts down, over the pool's time. Under the GIL the threads stay near 1, as
only one of them runs Python code at a time. All are measured side by side in this run,
so a slower or busier machine shifts both sides of each ratio.

    $ python benchmarks/process_pool.py
"""

import multiprocessing
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
    'ThreadPoolExecutor': futures.ThreadPoolExecutor,
}
INTERPRETERS: Any = getattr(futures, 'InterpreterPoolExecutor', None)  # 3.14+
if INTERPRETERS:
    # Its interpreters start from the initial sys.path: put proc_pool's folder on it.
    POOLS['InterpreterPoolExecutor'] = lambda workers: INTERPRETERS(
        workers, initializer=site.addsitedir, initargs=(str(CHAPTER),)
    )
IDEAL = 'ideal speedup, sequential / max(sum / workers, longest task)'
SPEEDUP, EFFICIENCY, CORES = (
    'speedup over sequential',
    'efficiency, ideal time / time',
    'CPU s per wall s',
)
CLAIMS = {
    f'ProcessPoolExecutor: {SPEEDUP}': 'C27',
    f'ProcessPoolExecutor: {EFFICIENCY}': 'C27',
    f'ProcessPoolExecutor: {CORES}': 'C19',
    f'ThreadPoolExecutor: {SPEEDUP}': 'C27',
    f'ThreadPoolExecutor: {CORES}': 'C19',
}
TICKS = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100


def cpu_seconds(pids: list[int]) -> float:
    """The CPU time, user and system, of live processes, from /proc (Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f'/proc/{pid}/stat').read_text().rpartition(')')[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    return total / TICKS


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
    figures = {
        'workers, one per CPU': float(WORKERS),
        'sequential time (s)': sequential,
        IDEAL: sequential / ideal,
    }
    for name, pool in POOLS.items():
        print(f'Checking them with {name} and {WORKERS} workers...', flush=True)
        t0, cpu0 = time.perf_counter(), time.process_time()
        with pool(WORKERS) as executor:
            results = list(executor.map(check, numbers))
            elapsed = time.perf_counter() - t0
            workers = [child.pid or 0 for child in multiprocessing.active_children()]
            cpu = time.process_time() - cpu0 + cpu_seconds(workers)
        if [r[:2] for r in results] != [r[:2] for r in checked]:
            sys.exit(f'*** The {name} and the sequential run disagree.')
        speedup, best = sequential / elapsed, sequential / ideal
        print(f'  {elapsed:.2f}s, speedup {speedup:.2f}x (ideal {best:.2f}x),'
              f' efficiency {ideal / elapsed:.0%}, {cpu / elapsed:.2f} CPU s'
              ' per wall s')  # fmt: skip
        figures[f'{name}: time (s)'] = elapsed
        figures[f'{name}: {SPEEDUP}'] = speedup
        figures[f'{name}: {EFFICIENCY}'] = ideal / elapsed
        figures[f'{name}: {CORES}'] = cpu / elapsed
    return figures


if __name__ == '__main__':
    main()
