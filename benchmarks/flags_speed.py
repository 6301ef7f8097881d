"""Time the chapter's first downloaders side by side against one delayed local server.

The 20 flags of flags.py come from slow_server.py with a fixed delay d per request,
so the network's latency is the same for every script and known. One after the other,
flags.py should take about 20 x d: its time over that is the first figure. The others
are ratios of two times measured here, in this run: flags_threadpool.py's speedup over
flags.py, and flags_threadpool_futures.py on a process pool (and, on Python 3.14+, on
an interpreter pool) against the same script on threads, three workers each. Each
time is the one the script reports; the best of a few runs counts, as noise on a
shared machine only ever adds time.

    $ python benchmarks/flags_speed.py
"""

import sys
import tempfile
from concurrent import futures
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'chapter20'))
import harness
from flags import POP20_CC
from harness import FlagServer, ideal_io, parse_report

DELAY = 0.1  # seconds the server waits before each answer
REPEATS = 3  # runs of each script; the best one counts
RUN_TIMEOUT = 120.0  # seconds for one run; flags.py takes about 20 x DELAY
SEQUENTIAL = 'flags.py: time / (20 requests x delay)'
THREADS = 'flags_threadpool.py: speedup over flags.py'
PROCESSES = 'flags_threadpool_futures.py --processes: time / with threads'
INTERPRETERS = 'flags_threadpool_futures.py --interpreters: time / with threads'
CLAIMS = {SEQUENTIAL: 'C05', THREADS: 'C01, C12', PROCESSES: 'C22'}
HAS_INTERPRETERS = hasattr(futures, 'InterpreterPoolExecutor')  # 3.14+


def best_time(base_url: str, script: str, *options: str) -> float:
    """The best elapsed time that the script reports over REPEATS runs."""
    times = []
    with tempfile.TemporaryDirectory(prefix='bench-') as tmp:
        for _ in range(REPEATS):
            done = harness.run(
                script, *options, cwd=Path(tmp), env={'FLAGS_BASE_URL': base_url},
                timeout=RUN_TIMEOUT,
            )  # fmt: skip
            report = parse_report(done.stdout)
            if done.returncode != 0 or 'elapsed' not in report:
                sys.exit(f'*** {script} failed:\n{done.stdout}{done.stderr}')
            times.append(report['elapsed'])
    print(f'  {" ".join([script, *options]):45} {min(times):6.2f}s', flush=True)
    return min(times)


def main() -> dict[str, float]:
    figures = {}
    with FlagServer('--delay', str(DELAY)) as server:
        url = server.base_url
        print(f'{len(POP20_CC)} flags, {DELAY}s delay per request:', flush=True)
        sequential = best_time(url, 'flags.py')
        figures[SEQUENTIAL] = sequential / ideal_io(len(POP20_CC), 1, DELAY)
        figures[THREADS] = sequential / best_time(url, 'flags_threadpool.py')
        threads = best_time(url, 'flags_threadpool_futures.py')
        processes = best_time(url, 'flags_threadpool_futures.py', '--processes')
        figures[PROCESSES] = processes / threads
        if HAS_INTERPRETERS:
            interpreters = best_time(
                url, 'flags_threadpool_futures.py', '--interpreters'
            )
            figures[INTERPRETERS] = interpreters / threads
    for figure, value in figures.items():
        print(f'  {figure}: {value:.2f}')
    return figures


if __name__ == '__main__':
    main()
