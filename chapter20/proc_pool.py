"""Check the chapter's 20 numbers for primality with a pool of processes.

CPU-bound work gains nothing from threads under the GIL; processes run it in parallel.
``check_numbers`` takes any ``concurrent.futures.Executor``, so ``cluster_pool.py``
reuses it unchanged with a Dask executor. Sample run on a 2-core machine::

    $ .venv/bin/python chapter20/proc_pool.py
    Checking 20 numbers with 2 processes:
    9999999999999999     0.000002s
    9999999999999917  P  3.518425s
    7777777777777777     0.000001s
    ...
                   2  P  0.000001s
    Total time: 19.23s

Give the number of processes as the first argument; the default is what
``ProcessPoolExecutor`` picks by itself, one per CPU. Ctrl-C tells how many numbers
were checked and kills the workers at once (stopping.py).
"""

import stopping  # first: from here on, every way the run can end is clean

import argparse
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import NamedTuple

from arguments import int_in
from primes import NUMBERS, is_prime


class PrimeResult(NamedTuple):
    n: int
    flag: bool
    elapsed: float


def check(n: int) -> PrimeResult:
    t0 = time.perf_counter()
    flag = is_prime(n)
    return PrimeResult(n, flag, time.perf_counter() - t0)


def check_numbers(
    executor: Executor, workers: str, numbers: Sequence[int] = NUMBERS
) -> list[PrimeResult]:
    results: list[PrimeResult] = []

    def checked() -> str:  # the report of a stop: Ctrl-C, SIGTERM
        return f'*** Interrupted: {len(results)} of {len(numbers)} numbers checked.'

    with stopping.reporting(checked):
        print(f'Checking {len(numbers)} numbers with {workers}:', flush=True)
        t0 = time.perf_counter()
        # Largest first: the slow checks start early instead of trailing at the end.
        for result in executor.map(check, sorted(numbers, reverse=True)):
            results.append(result)  # before the print: a line shown is counted
            n, flag, elapsed = result
            print(f'{n:16}  {"P" if flag else " "} {elapsed:9.6f}s', flush=True)
        print(f'Total time: {time.perf_counter() - t0:.2f}s')
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='Check 20 numbers with processes.')
    parser.add_argument('workers', metavar='WORKERS', type=int_in(1, 256), nargs='?',
                        help='number of processes (default: one per CPU)')  # fmt: skip
    args = parser.parse_args(argv)
    with ProcessPoolExecutor(args.workers) as executor:
        # Private, as in the book: the pool has no public way to say it.
        workers = executor._max_workers  # type: ignore[attr-defined]
        check_numbers(executor, f'{workers} processes')


if __name__ == '__main__':
    main()
