"""The chapter's CPU-bound workload: 20 large numbers and a slow primality test.

``is_prime`` is plain trial division on purpose: it exists to keep a CPU busy for a
few seconds per large prime, which is what makes threads and processes comparable.
Running the module checks every number of the fixture, one after the other (about
30 s); Ctrl-C stops it with the count of numbers checked so far::

    $ .venv/bin/python chapter20/primes.py
                   2  P
     142702110479723  P
     ...
    9999999999999999
    All 20 numbers agree with the fixture.
"""

import stopping  # first: from here on, every way the run can end is clean

import argparse
import math
import sys

PRIME_FIXTURE: list[tuple[int, bool]] = [
    (2, True),
    (142702110479723, True),
    (299593572317531, True),
    (3333333333333301, True),
    (3333333333333333, False),
    (3333335652092209, False),
    (4444444444444423, True),
    (4444444444444444, False),
    (4444444488888889, False),
    (5555553133149889, False),
    (5555555555555503, True),
    (5555555555555555, False),
    (6666666666666666, False),
    (6666666666666719, True),
    (6666667141414921, False),
    (7777777536340681, False),
    (7777777777777753, True),
    (7777777777777777, False),
    (9999999999999917, True),
    (9999999999999999, False),
]

NUMBERS = [n for n, _ in PRIME_FIXTURE]


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    # A loop, not all(...): the listing should show plainly where the time goes.
    for divisor in range(3, math.isqrt(n) + 1, 2):  # noqa: SIM110
        if n % divisor == 0:
            return False
    return True


def main() -> None:
    wrong = []
    checked = 0

    def report() -> str:  # the report of a stop: Ctrl-C, SIGTERM
        return f'*** Interrupted: {checked} of {len(PRIME_FIXTURE)} numbers checked.'

    with stopping.reporting(report):
        for n, expected in PRIME_FIXTURE:
            flag = is_prime(n)
            checked += 1  # before the print: a line shown is counted
            print(f'{n:16}{"  P" if flag else ""}', flush=True)
            if flag != expected:
                wrong.append(n)
        if wrong:
            sys.exit(f'*** is_prime disagrees with the fixture on: {wrong}.')
        print(f'All {len(PRIME_FIXTURE)} numbers agree with the fixture.')


if __name__ == '__main__':
    argparse.ArgumentParser(description='Check the 20 numbers one by one.').parse_args()
    main()
