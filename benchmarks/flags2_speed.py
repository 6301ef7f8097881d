"""Measure the flags2 clients against the speed targets of the flags2 issue, in one run.

With a server delay d, N codes and W concurrent requests, a run should take within 10 %
of its ideal time: N x d for the sequential client, ceil(N / W) x d for the others.
Without delay, the threaded and asyncio clients should fetch the 676 paths of ``-e`` at
least five times as fast as the book's threaded client: one ``httpx.get`` per request,
so a new connection each time, on 30 threads. Every figure is a ratio of two times
measured here, in this run, so a slower or busier machine shifts both sides.

    $ python benchmarks/flags2_speed.py
"""

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path
from string import ascii_uppercase

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'chapter20'))
import harness
from harness import FlagServer, ideal_io, parse_report

ALL_CC = (harness.CHAPTER / 'country_codes.txt').read_text().split()

DELAY = 0.2  # seconds, the server's fixed delay for the first part
CLIENTS = {
    'flags2_sequential.py': 1,
    'flags2_threadpool.py': 30,
    'flags2_asyncio.py': 5,
}
REPEATS = 3  # runs of each concurrent client; the best one counts
TIME_TARGET = 1.10  # measured / ideal, at most
SPEED_TARGET = 5.0  # requests per second against the book-style client, at least
BOOK_WORKERS = 30  # the book's flags2_threadpool default
EVERY_CC = [a + b for a, b in product(ascii_uppercase, repeat=2)]  # what -e asks for
# One at a time, a run takes the sum of its latencies: the chapter's claim C05.
CLAIMS = {
    f'flags2_sequential.py -a, {DELAY}s delay: time / ideal (≤ {TIME_TARGET})': 'C05'
}
RUN_TIMEOUT = 600.0  # seconds for one client run; the sequential -a run takes about 40


def book_style_speed(base_url: str, codes: list[str]) -> float:
    """Requests per second of the book's way: a throwaway client per request."""

    def get(cc: str) -> int:
        cc = cc.lower()
        return httpx.get(f'{base_url}/{cc}/{cc}.gif', timeout=6.1).status_code

    t0 = time.perf_counter()
    with ThreadPoolExecutor(BOOK_WORKERS) as executor:
        statuses = set(executor.map(get, codes))
    elapsed = time.perf_counter() - t0
    if not statuses <= {200, 404}:
        sys.exit(f'*** The book-style client got unexpected statuses: {statuses}.')
    return len(codes) / elapsed


def client_time(script: str, options: list[str], url: str, tmp: str) -> float:
    """The elapsed time a flags2 client reports, run as a reader would run it."""
    cwd = Path(tempfile.mkdtemp(dir=tmp))
    done = harness.run(script, '-s', url, *options, cwd=cwd, timeout=RUN_TIMEOUT)
    report = parse_report(done.stdout)
    if done.returncode != 0 or 'elapsed' not in report:
        sys.exit(
            f'*** {script} {" ".join(options)} failed:\n{done.stdout}{done.stderr}'
        )
    return report['elapsed']


def verdict(ok: bool) -> str:
    return 'meets the target' if ok else 'MISSES the target'


def main() -> dict[str, float]:
    figures = {}
    with tempfile.TemporaryDirectory(prefix='bench-') as tmp:
        with FlagServer('--delay', str(DELAY)) as server:
            url = server.base_url
            print(f'All {len(ALL_CC)} flags, {DELAY}s delay per request:', flush=True)
            for script, workers in CLIENTS.items():
                options = ['-a'] if workers == 1 else ['-a', '-m', str(workers)]
                # The best of a few runs, as timeit does: the noise of a shared
                # machine only ever adds time. The sequential run takes 40 s: once.
                repeats = 1 if workers == 1 else REPEATS
                elapsed = min(
                    client_time(script, options, url, tmp) for _ in range(repeats)
                )
                ideal = ideal_io(len(ALL_CC), workers, DELAY)
                ratio = elapsed / ideal
                figures[
                    f'{script} -a, {DELAY}s delay: time / ideal (≤ {TIME_TARGET})'
                ] = ratio
                print(
                    f'  {script:21} {workers:>2} at a time  {elapsed:6.2f}s'
                    f'  ideal {ideal:5.2f}s  ratio {ratio:.2f}',
                    verdict(ratio <= TIME_TARGET),
                    flush=True,
                )
        with FlagServer() as server:
            url = server.base_url
            print(f'All {len(EVERY_CC)} paths of -e, no delay:', flush=True)
            baseline = book_style_speed(url, EVERY_CC)
            print(f'  book-style, {BOOK_WORKERS} threads  {baseline:6.0f} requests/s')
            for script in ['flags2_threadpool.py', 'flags2_asyncio.py']:
                # One run each, as for the baseline: a best of three would flatter us.
                speed = len(EVERY_CC) / client_time(script, ['-e'], url, tmp)
                ratio = speed / baseline
                figures[
                    f'{script} -e: requests/s / book-style (≥ {SPEED_TARGET:.0f})'
                ] = ratio
                print(
                    f'  {script:21}  {speed:6.0f} requests/s  ratio {ratio:.1f}'
                    f'  {verdict(ratio >= SPEED_TARGET)}',
                    flush=True,
                )
    return figures


if __name__ == '__main__':
    main()
