"""Measure what the Dask executor costs against a ProcessPoolExecutor on one machine.

Both check the 20 numbers with the same number of worker processes, one after the other
in this run: first a ProcessPoolExecutor, then the executor of a local Dask cluster
(one thread per worker, as cluster_pool.py starts it). The overhead ratio is Dask's
elapsed time over the pool's; start-up is timed apart, as a real cluster is started
once and reused. Needs dask.distributed (``--group cluster``).

    $ python benchmarks/cluster_overhead.py
"""

import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'chapter20'))
from primes import NUMBERS
from proc_pool import check

# What ProcessPoolExecutor() takes by default: the CPUs this process may use (3.13+).
WORKERS: int = getattr(os, 'process_cpu_count', os.cpu_count)() or 1


def main() -> dict[str, float]:
    from distributed import Client  # optional: run_all.py checks that it is there

    numbers = sorted(NUMBERS, reverse=True)  # largest first, as proc_pool.py does
    workers = WORKERS
    print(f'Checking {len(numbers)} numbers with {workers} processes...', flush=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as executor:
        pool_results = list(executor.map(check, numbers))
    pool = time.perf_counter() - t0

    print(f'Checking them with {workers} Dask workers...', flush=True)
    t0 = time.perf_counter()
    with Client(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=':0',
        silence_logs=logging.ERROR,
    ) as client:
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        with client.get_executor() as executor:
            dask_results = list(executor.map(check, numbers))
        dask = time.perf_counter() - t0
    if [r[:2] for r in dask_results] != [r[:2] for r in pool_results]:
        sys.exit('*** Dask and the process pool disagree on the results.')
    print(
        f'  {workers} processes {pool:.2f}s, {workers} Dask workers {dask:.2f}s'
        f' (cluster start-up {startup:.2f}s apart): overhead ratio {dask / pool:.2f}'
    )
    return {
        'workers': workers,
        'process pool s': pool,
        'Dask executor s': dask,
        'Dask cluster start-up s': startup,
        'overhead ratio (Dask / pool)': dask / pool,
    }


if __name__ == '__main__':
    main()
