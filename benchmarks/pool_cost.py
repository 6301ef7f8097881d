"""Measure what a pool costs before it runs anything: start-up time, memory per worker.

Each kind of pool starts in a fresh Python, so that nothing of an earlier pool is
reused: threads, processes under each start method (fork, forkserver, spawn) and, on
Python 3.14+, interpreters. W calls of ``time.sleep(HOLD)`` go to a pool of W workers
at once, so that no worker is free for a second call and the pool must start all W;
the start-up time is the time to their last result, less HOLD. Memory is measured
while the W workers are alive: the growth of this process's proportional set size
(Pss, which splits a page shared by n processes n ways), plus the Pss of each worker
process, over W. The helpers a start method adds once per program (the fork server,
the resource tracker) are left out. Figures are ratios to the thread pool's, measured
in the same run; the best start-up and the median memory of a few fresh runs count.

    $ python benchmarks/pool_cost.py
"""

import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

WORKERS = 4
HOLD = 0.2  # seconds each call sleeps: longer than any pool takes to start a worker
REPEATS = 3  # fresh Pythons per kind
KINDS = ['thread', 'process-fork', 'process-forkserver', 'process-spawn']
if hasattr(futures, 'InterpreterPoolExecutor'):  # 3.14+
    KINDS.append('interpreter')
NAMES = {
    'process-fork': 'process pool (fork)',
    'process-forkserver': 'process pool (forkserver)',
    'process-spawn': 'process pool (spawn)',
    'interpreter': 'interpreter pool',
}
STARTUP, MEMORY = (
    "start-up / the thread pool's",
    "memory per worker / the thread pool's",
)
CLAIMS = {
    f'{NAMES[kind]}: {figure}': 'C23'
    for kind in KINDS[1:4]
    for figure in (STARTUP, MEMORY)
}


def pss(pid: int) -> int:
    """The proportional set size of a process in bytes (its RSS where Linux has no
    smaps_rollup)."""
    for name, key in (('smaps_rollup', 'Pss:'), ('status', 'VmRSS:')):
        path = Path(f'/proc/{pid}/{name}')
        if path.exists():
            for line in path.read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    raise RuntimeError('pool_cost.py reads /proc: it runs on Linux only.')


def new_pool(kind: str) -> futures.Executor:
    if kind == 'thread':
        return futures.ThreadPoolExecutor(WORKERS)
    if kind == 'interpreter':
        return futures.InterpreterPoolExecutor(WORKERS)  # type: ignore[attr-defined,no-any-return]
    context = multiprocessing.get_context(kind.removeprefix('process-'))
    return futures.ProcessPoolExecutor(WORKERS, mp_context=context)


def measure(kind: str) -> dict[str, float]:
    """In a fresh Python: the start-up time of one pool and its memory per worker."""
    before = pss(os.getpid())
    t0 = time.perf_counter()
    pool = new_pool(kind)
    calls = [pool.submit(time.sleep, HOLD) for _ in range(WORKERS)]
    for call in calls:
        call.result()
    startup = time.perf_counter() - t0 - HOLD
    # The pool's worker processes are this process's only multiprocessing children.
    workers = [child.pid for child in multiprocessing.active_children()]
    memory = pss(os.getpid()) - before + sum(pss(pid) for pid in workers if pid)
    pool.shutdown()
    return {'startup': startup, 'memory': memory / WORKERS}


def fresh(kind: str) -> dict[str, float]:
    command = [sys.executable, __file__, '--measure', kind]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f'*** Measuring the {kind} pool failed:\n{done.stderr}')
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main() -> dict[str, float]:
    print(f'Pools of {WORKERS} workers, each in {REPEATS} fresh Pythons:', flush=True)
    measured = {}
    for kind in KINDS:
        runs = [fresh(kind) for _ in range(REPEATS)]
        measured[kind] = (
            min(run['startup'] for run in runs),
            statistics.median(run['memory'] for run in runs),
        )
        startup, memory = measured[kind]
        print(f'  {kind:20} start-up {startup * 1000:8.1f} ms'
              f'  memory per worker {memory / 2**20:6.2f} MiB', flush=True)  # fmt: skip
    thread_startup, thread_memory = measured['thread']
    figures = {
        'thread pool: start-up (ms)': thread_startup * 1000,
        'thread pool: memory per worker (MiB)': thread_memory / 2**20,
    }
    for kind in KINDS[1:]:
        startup, memory = measured[kind]
        figures[f'{NAMES[kind]}: {STARTUP}'] = startup / thread_startup
        figures[f'{NAMES[kind]}: {MEMORY}'] = memory / max(thread_memory, 1.0)
    return figures


if __name__ == '__main__':
    if sys.argv[1:2] == ['--measure']:
        print(json.dumps(measure(sys.argv[2])))
    else:
        main()
