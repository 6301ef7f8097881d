"""Check the chapter's 20 numbers for primality with a pool of processes.

CPU-bound work gains nothing from threads under the GIL; processes run it in parallel.
``check_numbers`` takes any ``concurrent.futures.Executor``, so ``cluster_pool.py``
reuses it unchanged with a Dask executor. Sample run on a 2-core machine::

    $ python chapter20/proc_pool.py
    Checking 20 numbers with 2 processes:
    9999999999999999     0.000002s
    9999999999999917  P  3.518425s
    7777777777777777     0.000001s
    ...
                   2  P  0.000001s
    Total time: 19.23s

Give the number of processes as the first argument; the default is what
``ProcessPoolExecutor`` picks by itself, the CPU count.
"""

import argparse
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import NamedTuple, NoReturn

from primes import NUMBERS, is_prime

# ProcessPoolExecutor refuses more workers than this on Windows and caps its default.
WINDOWS_MAX_WORKERS = 61


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
    print(f'Checking {len(numbers)} numbers with {workers}:', flush=True)
    t0 = time.perf_counter()
    results = []
    # Largest first: the slow checks start early instead of trailing at the end.
    for result in executor.map(check, sorted(numbers, reverse=True)):
        n, flag, elapsed = result
        print(f'{n:16}  {"P" if flag else " "} {elapsed:9.6f}s', flush=True)
        results.append(result)
    print(f'Total time: {time.perf_counter() - t0:.2f}s')
    return results


def default_workers() -> int:
    """The number of processes ProcessPoolExecutor() starts when given none."""
    if sys.version_info >= (3, 13):
        cpus = os.process_cpu_count()  # the CPUs this process may use
    else:
        cpus = os.cpu_count()
    if sys.platform == 'win32':
        return min(cpus or 1, WINDOWS_MAX_WORKERS)
    return cpus or 1


def positive_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}')
    return int(text)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block: the mistake is what matters.
        self.exit(2, f'{self.prog}: error: {message}; try -h for help.\n')


def main(argv: Sequence[str] | None = None) -> None:
    parser = Parser(description='Check 20 numbers for primality with processes.')
    parser.add_argument(
        'workers',
        metavar='WORKERS',
        type=positive_int,
        nargs='?',
        help='number of processes (default: the CPU count)',
    )
    args = parser.parse_args(argv)
    if sys.platform == 'win32' and (args.workers or 0) > WINDOWS_MAX_WORKERS:
        parser.error(f'Windows allows at most {WINDOWS_MAX_WORKERS} processes')
    workers = args.workers or default_workers()
    try:
        with ProcessPoolExecutor(args.workers) as executor:
            check_numbers(executor, f'{workers} processes', NUMBERS)
    except KeyboardInterrupt:  # the workers got Ctrl-C too and dropped their checks
        print('\n*** Interrupted.', file=sys.stderr)
        sys.exit(130)


if __name__ == '__main__':
    main()
