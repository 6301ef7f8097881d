"""Race the chapter's approaches against each other, offline, and show the numbers.

The I/O race starts a local flag server that answers each request after a fixed delay,
then runs every downloader as a reader would: a subprocess given the server's URL,
saving into a temporary directory. (flags.py and its variants always fetch the 20
flags of POP20_CC, so they sit out a race on other codes.) The CPU race checks the
first numbers of primes.py one after the other, then in a ThreadPoolExecutor and in a
ProcessPoolExecutor. Each race ends with a table and a bar chart: elapsed is the time
the script reports; ideal is N x d for N requests of d seconds one at a time,
ceil(N / W) x d with W at a time, and max(sum / W, longest task) for the CPU tasks,
timed in the sequential run; efficiency is ideal / elapsed; speedup is against the
(first) sequential run. Exit status: 0 when every run succeeded, 1 if not, 2 for bad
options, 130 after Ctrl-C. A run on 2 cores, abridged::

    $ python chapter20/race.py
    Flag server (pid 12885) is serving on http://127.0.0.1:35829/flags.
    Running flags.py with 1 worker... 4.10s.
    ...
    I/O race: 20 flags, a 0.2s delay.
    approach                                 workers  elapsed  ideal  efficiency  speedup  OK  404  errors
    flags.py                                       1    4.12s  4.00s         97%     1.0x  20    0       0
    flags_threadpool.py                            6    0.86s  0.80s         93%     4.8x  20    0       0
    flags_threadpool_futures.py                    3    1.48s  1.40s         95%     2.8x  20    0       0
    flags_threadpool_futures.py --processes        3    1.49s  1.40s         94%     2.8x  20    0       0
    flags2_sequential.py                           1    4.11s  4.00s         97%     1.0x  20    0       0
    flags2_threadpool.py                           4    1.06s  1.00s         94%     3.9x  20    0       0
    flags2_asyncio.py                              4    1.11s  1.00s         90%     3.7x  20    0       0

    flags.py                                 ######################################## 4.12s
    flags_threadpool.py                      ######## 0.86s
    flags_threadpool_futures.py              ############## 1.48s
    flags_threadpool_futures.py --processes  ############## 1.49s
    flags2_sequential.py                     ######################################## 4.11s
    flags2_threadpool.py                     ########## 1.06s
    flags2_asyncio.py                        ########### 1.11s
    Checking with sequential and 1 worker...... 4.42s.
    ...
    CPU race: 6 of the 20 numbers.
    approach             workers  elapsed  ideal  efficiency  speedup  checked  primes
    sequential                 1    4.42s  4.42s        100%     1.0x        6       4
    ThreadPoolExecutor         2    6.19s  2.21s         36%     0.7x        6       4
    ProcessPoolExecutor        2    2.96s  2.21s         75%     1.5x        6       4

    sequential           ############################# 4.42s
    ThreadPoolExecutor   ######################################## 6.19s
    ProcessPoolExecutor  ################### 2.96s
"""  # noqa: E501 (the tables are wider than the code)

import argparse
import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from flags import POP20_CC
from primes import NUMBERS, PRIME_FIXTURE
from proc_pool import Parser, check, default_workers, positive_int

HERE = Path(__file__).resolve().parent
ALL_CC = (HERE / 'country_codes.txt').read_text().split()
DELAY = 0.2  # seconds the server waits before each answer
QUICK = 6  # numbers checked by default: a few seconds of work
FIRST_SERIES = [  # these always download the 20 most populous countries' flags
    (['flags.py'], 1),
    (['flags_threadpool.py'], min(32, default_workers() + 4)),  # the pool's default
    (['flags_threadpool_futures.py'], 3),
    (['flags_threadpool_futures.py', '--processes'], 3),
]
FLAGS2_CONCURRENT = ['flags2_threadpool.py', 'flags2_asyncio.py']
# Concurrent requests of both: the same number, so the race compares threads with
# coroutines, and few enough that 20 flags take 5 rounds, so start-up costs of a few
# tens of ms do not hide what concurrency gains.
FLAGS2_MAX_REQ = 4
MAX_REQ = 1000  # the most the flags2 clients accept
REPORT = {  # the last lines each downloader prints
    'elapsed': r'^(?:Elapsed time: |\d+ downloads in )(\d+\.\d+)s$',
    'ok': r'^(\d+) flags? downloaded\.$',
    'not found': r'^(\d+) not found\.$',
    'errors': r'^(\d+) errors?\.$',
}
STOP_TIMEOUT = 5.0  # seconds for the server to exit after SIGTERM
BAR_WIDTH = 40


class Run(NamedTuple):
    approach: str
    workers: int
    elapsed: float | None  # None: the run reported no time
    ideal: float
    counts: tuple[int, ...]  # OK, not found, errors; or numbers checked, primes
    succeeded: bool


def ideal_io(requests: int, workers: int, delay: float) -> float:
    return math.ceil(requests / workers) * delay


def ideal_cpu(task_times: Sequence[float], workers: int) -> float:
    return max(sum(task_times) / workers, max(task_times, default=0.0))


def ratio(numerator: float | None, elapsed: float | None) -> float | None:
    """Efficiency is ideal / elapsed; speedup is sequential elapsed / elapsed."""
    return None if numerator is None or not elapsed else numerator / elapsed


def format_table(runs: Sequence[Run], count_names: Sequence[str]) -> list[str]:
    def show(value: float | None, template: str) -> str:
        return '-' if value is None else template.format(value)

    sequential = next((r.elapsed for r in runs if r.workers == 1 and r.elapsed), None)
    rows = [['approach', 'workers', 'elapsed', 'ideal', 'efficiency', 'speedup']]
    rows[0] += count_names
    for run in runs:
        times = [show(run.elapsed, '{:.2f}s'), show(run.ideal, '{:.2f}s')]
        times.append(show(ratio(run.ideal, run.elapsed), '{:.0%}'))
        times.append(show(ratio(sequential, run.elapsed), '{:.1f}x'))
        rows.append([run.approach, str(run.workers), *times, *map(str, run.counts)])
    widths = [max(map(len, column)) for column in zip(*rows, strict=True)]
    # The approach aligned left, the numbers right.
    line = '  '.join(
        [f'{{:<{widths[0]}}}'] + [f'{{:>{width}}}' for width in widths[1:]]
    )
    return [line.format(*row) for row in rows]


def bar_chart(runs: Sequence[Run], width: int = BAR_WIDTH) -> list[str]:
    label = max(len(run.approach) for run in runs)
    longest = max(run.elapsed or 0.0 for run in runs) or 1.0  # 1.0: all took 0.00s
    lines = []
    for run in runs:
        if run.elapsed is None:
            lines.append(f'{run.approach:<{label}}  failed')
        else:
            bar = '#' * round(width * run.elapsed / longest)
            lines.append(f'{run.approach:<{label}}  {bar} {run.elapsed:.2f}s')
    return lines


def show(title: str, runs: Sequence[Run], count_names: Sequence[str]) -> None:
    lines = [f'\n{title}', *format_table(runs, count_names), '', *bar_chart(runs)]
    print(*lines, sep='\n')


def plural(workers: int) -> str:
    return '1 worker' if workers == 1 else f'{workers} workers'


def parse_report(output: str) -> dict[str, float]:
    found = {key: re.search(pattern, output, re.M) for key, pattern in REPORT.items()}
    return {key: float(match[1]) for key, match in found.items() if match}


@contextlib.contextmanager
def interrupts_held() -> Iterator[list[int]]:
    """Note Ctrl-C and SIGTERM instead of raising: for starting a child process.

    An interruption between the fork and Popen's return would orphan the child: we
    would never learn its pid. The caller checks the list once it holds the pid.
    """
    caught: list[int] = []
    held = [signal.SIGINT, signal.SIGTERM]
    previous = [signal.signal(signum, lambda n, _: caught.append(n)) for signum in held]
    try:
        yield caught
    finally:
        for signum, handler in zip(held, previous, strict=True):
            signal.signal(signum, handler)


@contextlib.contextmanager
def flag_server(delay: float, error_rate: float, log: Path) -> Iterator[str]:
    """Start slow_server.py on a free port; yield its URL; stop it on any way out."""
    command = [sys.executable, str(HERE / 'slow_server.py'), '0']  # 0: a free port
    command += ['--delay', str(delay), '--error-rate', str(error_rate)]
    with log.open('w') as log_file, interrupts_held() as interrupted:
        server = subprocess.Popen(  # it logs each request on stderr
            command, stdout=subprocess.PIPE, stderr=log_file, text=True
        )
    try:
        if interrupted:
            raise KeyboardInterrupt
        line = server.stdout.readline() if server.stdout else ''  # '' if it died
        if not line.startswith('Serving flags on '):
            sys.exit(f'*** The flag server did not start. Its log:\n{log.read_text()}')
        url = line.split()[-1]
        print(f'Flag server (pid {server.pid}) is serving on {url}.', flush=True)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()


def run_script(argv: list[str], cwd: Path, url: str) -> tuple[int, str]:
    """Run a downloader in its own process group, which an interruption kills whole."""
    env = {**os.environ, 'FLAGS_BASE_URL': url}
    command = [sys.executable, str(HERE / argv[0]), *argv[1:]]
    with interrupts_held() as interrupted:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        if interrupted:
            raise KeyboardInterrupt
        output, _ = proc.communicate()
    except BaseException:  # Ctrl-C: its worker processes must go too
        if sys.platform == 'win32':
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        if proc.stdout:
            proc.stdout.close()
    return proc.returncode, output


def race_io(
    codes: list[str], args: argparse.Namespace, url: str, tmp: Path
) -> list[Run]:
    chosen = ['-a'] if args.all else codes
    lineup = FIRST_SERIES if codes == sorted(POP20_CC) else []
    if not lineup:
        print('The flags.py series sits out: it always downloads the POP20_CC flags.')
    lineup = [*lineup, (['flags2_sequential.py', '-s', url, *chosen], 1)]
    for script in FLAGS2_CONCURRENT:
        workers = args.max_req or FLAGS2_MAX_REQ
        lineup.append(([script, '-s', url, '-m', str(workers), *chosen], workers))
    runs = []
    for index, (argv, workers) in enumerate(lineup):
        # The label is the script and its long options: not the URL, not the codes.
        label = ' '.join(a for a in argv if a.endswith('.py') or a.startswith('--'))
        print(f'Running {label} with {plural(workers)}...', end=' ', flush=True)
        (cwd := tmp / str(index)).mkdir()
        status, output = run_script(argv, cwd, url)
        report = parse_report(output)
        # The first series prints no counts: count the files and the rest as errors.
        ok = int(report.get('ok', len(list(cwd.glob('downloaded/*.gif')))))
        not_found = int(report.get('not found', 0))
        errors = int(report.get('errors', len(codes) - ok - not_found))
        elapsed = report.get('elapsed')
        print('failed.' if elapsed is None else f'{elapsed:.2f}s.')
        ideal = ideal_io(len(codes), workers, args.delay)
        counts, succeeded = (ok, not_found, errors), status == 0 and not errors
        runs.append(Run(label, workers, elapsed, ideal, counts, succeeded))
    return runs


def race_cpu(numbers: list[int], workers: int) -> list[Run]:
    numbers = sorted(numbers, reverse=True)  # largest first, as proc_pool.py does
    pools: list[tuple[str, Callable[[int], Executor] | None, int]] = [
        ('sequential', None, 1),
        ('ThreadPoolExecutor', ThreadPoolExecutor, workers),
        ('ProcessPoolExecutor', ProcessPoolExecutor, workers),
    ]
    runs: list[Run] = []
    task_times: list[float] = []  # those of the sequential run
    for approach, pool, size in pools:
        print(f'Checking with {approach} and {plural(size)}', end='', flush=True)
        t0 = time.perf_counter()
        with pool(size) if pool else contextlib.nullcontext() as executor:
            mapped = executor.map(check, numbers) if executor else map(check, numbers)
            results = []
            for result in mapped:
                print('.', end='', flush=True)  # one per number checked
                results.append(result)
        elapsed = time.perf_counter() - t0
        print(f' {elapsed:.2f}s.')
        if pool is None:
            task_times = [result.elapsed for result in results]
        right = all((n, flag) in PRIME_FIXTURE for n, flag, _ in results)
        counts = (len(results), sum(result.flag for result in results))
        ideal = ideal_cpu(task_times, size)
        runs.append(Run(approach, size, elapsed, ideal, counts, right))
    return runs


def number_in(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        with contextlib.suppress(ValueError):
            if low <= (value := float(text)) <= high:  # NaN fails this too
                return value
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a number from {low} to {high}'
        )

    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = Parser(description='Race the approaches of the chapter on this machine.')
    add = parser.add_argument
    add('cc', metavar='CC', nargs='*', help='country codes (default: POP20_CC)')
    add(
        '-a',
        '--all',
        action='store_true',
        help='all 194 codes (the flags2 clients only)',
    )
    add(
        '-d',
        '--delay',
        type=number_in(0, 5),
        default=DELAY,
        metavar='SECONDS',
        help=f'how long the server waits before each answer (default: {DELAY})',
    )
    add(
        '-e',
        '--error-rate',
        type=number_in(0, 1),
        default=0,
        metavar='P',
        help='the share of requests the server fails (default: 0)',
    )
    add(
        '-m',
        '--max-req',
        type=positive_int,
        metavar='N',
        help=f'concurrent requests of the flags2 clients (default: {FLAGS2_MAX_REQ})',
    )
    add(
        '-w',
        '--workers',
        type=positive_int,
        metavar='N',
        help='threads and processes in the CPU race (default: the CPU count)',
    )
    add(
        '-n',
        '--numbers',
        type=positive_int,
        default=QUICK,
        metavar='N',
        help=f'numbers to check in the CPU race (default: {QUICK})',
    )
    add(
        '--full',
        dest='numbers',
        action='store_const',
        const=len(NUMBERS),
        help=f'check all {len(NUMBERS)} numbers',
    )
    args = parser.parse_args(argv)
    if args.all and args.cc:
        parser.error('give country codes or --all, not both')
    for cc in args.cc:
        if not re.fullmatch('[A-Za-z]{2}', cc):
            parser.error(f'{cc!r} is not a two-letter country code')
    if (args.max_req or 0) > MAX_REQ:
        parser.error(f'the flags2 clients make at most {MAX_REQ} concurrent requests')
    if args.numbers > len(NUMBERS):
        parser.error(f'there are only {len(NUMBERS)} numbers to check')
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    codes = ALL_CC if args.all else sorted({cc.upper() for cc in args.cc} or POP20_CC)
    # SIGTERM gets the Ctrl-C treatment: the finally clauses stop the server either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with (
            tempfile.TemporaryDirectory(prefix='race-') as tmp,
            flag_server(args.delay, args.error_rate, Path(tmp, 'server.log')) as url,
        ):
            io_runs = race_io(codes, args, url, Path(tmp))
        errors = f' and {args.error_rate:.0%} errors' if args.error_rate else ''
        title = f'I/O race: {len(codes)} flags, a {args.delay}s delay{errors}.'
        show(title, io_runs, ('OK', '404', 'errors'))
        cpu_runs = race_cpu(NUMBERS[: args.numbers], args.workers or default_workers())
        title = f'CPU race: {args.numbers} of the {len(NUMBERS)} numbers.'
        show(title, cpu_runs, ('checked', 'primes'))
    except KeyboardInterrupt:  # the finally clauses have stopped what was running
        print('\n*** Interrupted; the race stopped all it started.', file=sys.stderr)
        return 130
    return 0 if all(run.succeeded for run in [*io_runs, *cpu_runs]) else 1


if __name__ == '__main__':
    sys.exit(main())
