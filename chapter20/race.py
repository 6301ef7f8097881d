"""Race the chapter's approaches against each other, offline, and show the numbers.

The I/O race starts a local flag server that answers each request after a fixed delay,
then runs every downloader as a reader would: a subprocess given the server's URL,
saving into a temporary directory. (flags.py and its variants always fetch the flags
of the 20 most populous countries, so they sit out a race on other codes.) The CPU
race checks the first numbers of primes.py one after the other, then with a
ThreadPoolExecutor, a ProcessPoolExecutor and, on Python 3.14+, an
InterpreterPoolExecutor, each pool with the same number of workers.

Each approach runs in rounds, interleaved: round 1 runs every approach once, then round
2 does, and so on, so that a busy spell of the machine slows several approaches a
little rather than one a lot. The defaults: the 20 POP20_CC flags with a 0.2 s delay,
the first 4 numbers, one worker per CPU, 3 rounds; about a minute on 2 cores.

Each race ends with a table and a bar chart. Elapsed is the median, over the rounds, of
the time the script reports (or, in the CPU race, that the pool took, start-up
included). Ideal is N x d for N requests of d seconds one at a time, ceil(N / W) x d
with W at a time, and max(sum / W, longest task) for the CPU tasks, each task taken at
its fastest over the sequential rounds: a busy round cannot stretch the ideal. So an
efficiency (ideal / elapsed) above 100 % is noise: it means the tasks ran faster in a
pool than in every sequential round, as when a load slowed each sequential round or
the clock speed changed. Speedup is against the first sequential approach. Under a
table, a line names each approach whose rounds spread more than 25 % of their median,
(max - min) / median: the machine was too busy for a fair comparison of that row. A
time under 0.01 s is too small to measure (``-n 1`` checks the number 2 only): the
table shows no ratio of it, and a line says how to give the race more work.

``--timeline`` (``-t``) adds a chart under each race: when each request of the last
round of each approach arrived at the flag server and was answered, as its log says,
and when each number was checked, by which worker, as the workers' clocks say. Every
approach of a race is drawn on one scale: race_timeline.py. See the README for both.

Ctrl-C (or SIGTERM) at any moment stops the server and every child, then shows the
tables of the rounds that finished ('-' for an approach with none) and exits with
status 130. Otherwise the status is 0 when every run succeeded, 1 if not, and 2 for
bad options. A run on 2 cores with Python 3.14, abridged::

    $ .venv/bin/python chapter20/race.py
    Flag server (pid 1092) is serving on http://127.0.0.1:38657/flags.

    I/O race, round 1 of 3:
      flags.py with 1 worker... 4.15s.
      flags_threadpool.py with 6 workers... 0.85s.
    ...
    I/O race: 20 flags, a 0.2s delay.
    approach                                 workers  elapsed  ideal  efficiency  speedup  OK  404  errors
    flags.py                                       1    4.14s  4.00s         97%     1.0x  20    0       0
    flags_threadpool.py                            6    0.85s  0.80s         94%     4.9x  20    0       0
    flags_threadpool_futures.py                    3    1.47s  1.40s         95%     2.8x  20    0       0
    flags_threadpool_futures.py --processes        3    1.59s  1.40s         88%     2.6x  20    0       0
    flags2_sequential.py                           1    4.08s  4.00s         98%     1.0x  20    0       0
    flags2_threadpool.py                           4    1.05s  1.00s         95%     3.9x  20    0       0
    flags2_asyncio.py                              4    1.09s  1.00s         92%     3.8x  20    0       0

    flags.py                                 ######################################## 4.14s
    flags_threadpool.py                      ######## 0.85s
    ...
    CPU race: 4 of the 20 numbers.
    approach                 workers  elapsed  ideal  efficiency  speedup  checked  primes
    sequential                     1    1.68s  1.50s         89%     1.0x        4       4
    ThreadPoolExecutor             2    1.73s  0.96s         55%     1.0x        4       4
    ProcessPoolExecutor            2    1.16s  0.96s         82%     1.4x        4       4
    InterpreterPoolExecutor        2    1.11s  0.96s         86%     1.5x        4       4
    The machine was too busy for a fair comparison of ThreadPoolExecutor: its rounds spread over 37% of their median time.

    sequential               ####################################### 1.68s
    ...
"""  # noqa: E501 (the tables are wider than the code)

import stopping  # first: from here on, every way the run can end is clean

import argparse
import contextlib
import os
import site
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import harness
from arguments import int_in, number_in, positive_int
from flags import POP20_CC
from primes import NUMBERS, PRIME_FIXTURE
from race_report import CPU_RACE, IO_RACE, Round, Rounds, io_title, plural, show
from race_timeline import checks, requests, timed_check

ALL_CC = (harness.CHAPTER / 'country_codes.txt').read_text().split()
CPUS: int = getattr(os, 'process_cpu_count', os.cpu_count)() or 1  # 3.13+: ours only
FIRST_SERIES = {  # approach: workers; these always download the POP20_CC flags
    'flags.py': 1, 'flags_threadpool.py': min(32, CPUS + 4),  # the pool's default
    'flags_threadpool_futures.py': 3, 'flags_threadpool_futures.py --processes': 3,
}  # fmt: skip
POOLS: dict[str, Callable[[int], futures.Executor] | None] = {
    'sequential': None,
    'ThreadPoolExecutor': ThreadPoolExecutor,
    'ProcessPoolExecutor': ProcessPoolExecutor,
}
if INTERPRETERS := getattr(futures, 'InterpreterPoolExecutor', None):  # 3.14+
    # Its interpreters start from the initial sys.path: put proc_pool's folder on it.
    SETUP = {'initializer': site.addsitedir, 'initargs': (str(harness.CHAPTER),)}
    POOLS['InterpreterPoolExecutor'] = partial(INTERPRETERS, **SETUP)


def race(name: str, n: int, rounds: Rounds, run: Callable[[str, int], Round]) -> None:
    """Each approach once a round: a busy spell slows several, and a little."""
    for i in range(1, n + 1):
        print(f'\n{name} race, round {i} of {n}:')
        for (label, workers), finished in rounds.items():
            print(f'  {label} with {plural(workers, "worker")}...', end=' ', flush=True)
            finished.append(result := run(label, workers))
            print('failed.' if result.elapsed is None else f'{result.elapsed:.2f}s.')


def download(
    server: harness.FlagServer, cc: list[str], tmp: str, label: str, workers: int
) -> Round:
    """Run a downloader in its own process group, which harness.stop kills whole."""
    argv, cwd, url = label.split(), Path(tempfile.mkdtemp(dir=tmp)), server.base_url
    if label.startswith('flags2_'):
        argv += ['-s', url, '-m', str(workers), *cc]
    env, launched = {'FLAGS_BASE_URL': url}, time.monotonic()
    # The timeout is a guard only: every client times out its own requests.
    done = harness.run(*argv, timeout=3600, cwd=cwd, env=env, start_new_session=True)
    ended = time.monotonic()
    try:  # the requests of this run: those that arrived since it started
        timeline = requests(server.arrived_since(launched), launched, ended)
    except OSError:  # the server is gone: the downloads failed, and the table says so
        timeline = None
    report = harness.parse_report(done.stdout)
    # The first series prints no counts: count the files, and the rest as errors.
    ok = int(report.get('ok', len(list(cwd.glob('downloaded/*.gif')))))
    not_found = int(report.get('not found', 0))
    errors = int(report.get('errors', len(cc) - ok - not_found))
    succeeded = done.returncode == 0 and not errors
    counts = (ok, not_found, errors)
    return Round(report.get('elapsed'), counts, succeeded, timeline=timeline)


def check_all(numbers: list[int], label: str, workers: int) -> Round:
    """Check the numbers with a pool, start-up included; each check timed where it
    ran, on time.monotonic(), the clock that the workers share with this process."""
    pool, t0 = POOLS[label], time.monotonic()
    with pool(workers) if pool else contextlib.nullcontext() as executor:
        mapped = (executor.map if executor else map)(timed_check, numbers)
        timed = list(mapped)
    elapsed = time.monotonic() - t0
    results = [result for result, _ in timed]
    right = all((n, flag) in PRIME_FIXTURE for n, flag, _ in results)
    counts = (len(results), sum(result.flag for result in results))
    timeline = checks([span for _, span in timed], t0, t0 + elapsed)
    return Round(elapsed, counts, right, tuple(r.elapsed for r in results), timeline)


def cpu_ideal(rounds: Rounds, workers: int) -> float | None:
    """The ideal takes each task at its fastest over the sequential rounds."""
    sequential = [r.task_times for r in rounds['sequential', 1]]
    fastest = [min(times) for times in zip(*sequential, strict=True)]
    return harness.ideal_cpu(fastest, workers) if fastest else None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Race the chapter's approaches.")
    add = parser.add_argument
    # fmt: off
    which = parser.add_mutually_exclusive_group().add_argument
    which('cc', metavar='CC', nargs='*', default=[],
          help='country codes (default: the 20 most populous countries)')
    which('-a', '--all', action='store_true', help='all 194 codes; flags2 clients only')
    add('-d', '--delay', type=number_in(0, 5), default=0.2, metavar='SECONDS',
        help='how long the server waits before each answer (default: %(default)s)')
    add('-e', '--error-rate', type=number_in(0, 1), default=0, metavar='P',
        help='the share of requests the server fails (default: 0)')
    # The concurrent flags2 clients make the same number of requests at a time, so
    # the race compares threads with coroutines, and few enough that 20 flags take 5
    # rounds, so start-up costs of a few tens of ms do not hide what concurrency gains.
    add('-m', '--max-req', type=int_in(1, 1000), default=4, metavar='N',
        help='concurrent requests of the flags2 clients (default: %(default)s)')
    add('-w', '--workers', type=int_in(1, 256), default=CPUS, metavar='N',
        help='workers of each pool in the CPU race (default: %(default)s, the CPUs;'
        ' at most 256)')
    add('-n', '--numbers', type=int_in(1, len(NUMBERS)), default=4, metavar='N',
        help=f'how many numbers to check, from the first (default: %(default)s,'
        f' at most {len(NUMBERS)})')
    add('-r', '--rounds', type=positive_int, default=3, metavar='N',
        help='runs of each approach; the table shows medians (default: %(default)s)')
    add('-t', '--timeline', action='store_true',
        help='draw when each request and each check of the last round ran')
    # fmt: on
    args = parser.parse_args(argv)
    for cc in args.cc:
        if not (len(cc) == 2 and cc.isascii() and cc.isalpha()):
            parser.error(f'{cc!r} is not a two-letter country code')
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    codes = ALL_CC if args.all else sorted({cc.upper() for cc in args.cc} or POP20_CC)
    first = FIRST_SERIES if codes == sorted(POP20_CC) else {}
    if not first:
        print(
            'The flags.py series sits out: it always downloads the flags of the 20'
            ' most populous countries, not the codes given.'
        )
    flags2 = dict.fromkeys(['flags2_threadpool.py', 'flags2_asyncio.py'], args.max_req)
    lineup = {**first, 'flags2_sequential.py': 1, **flags2}
    io_rounds: Rounds = {key: [] for key in lineup.items()}
    cpu_rounds: Rounds = {(a, args.workers if p else 1): [] for a, p in POOLS.items()}
    io_ideal = partial(harness.ideal_io, len(codes), delay=args.delay)
    title = io_title(len(codes), args.delay, args.error_rate)
    cpu_title = f'CPU race: {args.numbers} of the {len(NUMBERS)} numbers.'
    options = ['--delay', str(args.delay), '--error-rate', str(args.error_rate)]
    cpu_ideal_time = partial(cpu_ideal, cpu_rounds)
    tables = [  # each shown once: when its race is over, or by a stop
        partial(show, IO_RACE, title, io_rounds, io_ideal, args.timeline),
        partial(show, CPU_RACE, cpu_title, cpu_rounds, cpu_ideal_time, args.timeline),
    ]

    def show_table() -> None:
        with stopping.uninterrupted():  # whole, and taken off the list, or neither
            tables.pop(0)()

    def interrupted() -> str:  # the report of a stop; then it kills the children
        while tables:
            tables.pop(0)()
        return '*** Interrupted: the race stopped all it started.'

    with stopping.reporting(interrupted):
        server = harness.FlagServer(*options)
        tmp = stopping.temporary_folder('race-')  # the downloads of every run
        with server:
            url = server.base_url
            print(f'Flag server (pid {server.process.pid}) is serving on {url}.')
            race('I/O', args.rounds, io_rounds, partial(download, server, codes, tmp))
        show_table()
        largest_first = NUMBERS[args.numbers - 1 :: -1]  # as proc_pool.py does
        race('CPU', args.rounds, cpu_rounds, partial(check_all, largest_first))
        show_table()
    finished = [*io_rounds.values(), *cpu_rounds.values()]
    return 0 if all(r.succeeded for rounds in finished for r in rounds) else 1


if __name__ == '__main__':
    sys.exit(main())
