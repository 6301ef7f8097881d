"""Measure how close the process pool of proc_pool.py comes to its ideal time.

The 20 numbers are first checked one after the other, which gives each task's time;
then by a ProcessPoolExecutor with its default number of workers, W. The ideal time is
max(sum of task times / W, longest task): no pool beats its longest task. Efficiency is
ideal / elapsed, measured side by side in this run.

    $ python benchmarks/process_pool.py
"""

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'chapter20'))
from primes import NUMBERS
from proc_pool import check, default_workers
from race import ideal_cpu


def main() -> dict[str, float]:
    numbers = sorted(NUMBERS, reverse=True)  # largest first, as proc_pool.py does
    workers = default_workers()
    print(f'Checking {len(numbers)} numbers one after the other...', flush=True)
    t0 = time.perf_counter()
    task_times = [check(n).elapsed for n in numbers]
    sequential = time.perf_counter() - t0
    print(f'Checking them with {workers} processes...', flush=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor() as executor:
        list(executor.map(check, numbers))
    elapsed = time.perf_counter() - t0
    ideal = ideal_cpu(task_times, workers)
    print(
        f'  sequential {sequential:.2f}s, longest task {max(task_times):.2f}s\n'
        f'  {workers} processes {elapsed:.2f}s, ideal {ideal:.2f}s,'
        f' efficiency {ideal / elapsed:.0%}, speedup {sequential / elapsed:.2f}x'
    )
    return {
        'sequential time (s)': sequential,
        f'ProcessPoolExecutor, {workers} workers: time (s)': elapsed,
        'efficiency: ideal / time': ideal / elapsed,
        f'speedup against sequential (ideal {sequential / ideal:.2f})': (
            sequential / elapsed
        ),
    }


if __name__ == '__main__':
    main()
