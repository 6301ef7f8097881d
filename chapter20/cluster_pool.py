"""Check the chapter's 20 numbers for primality on a Dask cluster.

The ``proc_pool.py`` listing with one change: the executor comes from a dask.distributed
``Client``. ``Client.get_executor()`` returns a real ``concurrent.futures.Executor``, so
``check_numbers`` runs unchanged. With no address the script starts a local cluster of
worker processes, one per CPU or as many as given; ``--scheduler tcp://HOST:PORT`` sends
the work to a cluster that is already running. Sample run on a 2-core machine::

    $ .venv/bin/python chapter20/cluster_pool.py 2
    Running on a local Dask cluster at tcp://127.0.0.1:41563 (no dashboard: no bokeh).
    Checking 20 numbers with 2 workers:
    9999999999999999     0.000002s
    9999999999999917  P  3.672201s
    ...
                   2  P  0.000001s
    Total time: 19.87s

Dask is optional: install it with ``pip install distributed``.
"""

import stopping  # first: from here on, every way the run can end is clean

import argparse
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from arguments import int_in
from proc_pool import check_numbers

try:
    from dask import config
    from distributed import Client
except ImportError:  # -h and usage errors work without Dask; main says what is missing
    Client = None

# Dask draws its dashboard with bokeh, an optional dependency of its own.
HAS_DASHBOARD = importlib.util.find_spec('bokeh') is not None
CONNECT_TIMEOUT = 5  # seconds; Dask's own default of 30 s looks like a hang
# A remote worker lacks the modules of this machine: upload them, dependencies first.
SHIPPED = ['stopping.py', 'arguments.py', 'primes.py', 'proc_pool.py']


def connect(scheduler: str) -> Client:
    client = None
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        for name in SHIPPED:
            client.upload_file(str(Path(__file__).with_name(name)))
    except (OSError, ValueError) as exc:  # unreachable, malformed, no workers
        if client is not None:
            client.close()
        sys.exit(f'*** Cannot use the Dask scheduler: {exc}.')
    return client


def start_local(workers: int) -> Client:
    # Given no address, Client starts a LocalCluster with these options and owns it:
    # one task per process, like ProcessPoolExecutor; the dashboard on port 0 without
    # bokeh, as its HTTP server runs anyway, and two clusters may then coexist. Its
    # scheduler and workers keep their files in a folder of this run, removed after.
    config.set({'temporary-directory': stopping.temporary_folder('dask-')})
    return Client(n_workers=workers, threads_per_worker=1, processes=True,
                  dashboard_address=':8787' if HAS_DASHBOARD else ':0',
                  silence_logs=logging.ERROR)  # fmt: skip


def describe(client: Client) -> str:
    address = client.scheduler.address
    if client.cluster is None:  # a remote scheduler: its dashboard is its own business
        return f'the Dask cluster at {address} (dashboard: {client.dashboard_link})'
    board = client.dashboard_link if HAS_DASHBOARD else 'no dashboard: no bokeh'
    return f'a local Dask cluster at {address} ({board})'


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='Check 20 numbers on a Dask cluster.')
    add = parser.add_mutually_exclusive_group().add_argument  # WORKERS or --scheduler
    # fmt: off
    add('workers', metavar='WORKERS', type=int_in(1, 256), nargs='?',
        help='number of local worker processes (default: one per CPU)')
    add('--scheduler', metavar='tcp://HOST:PORT',
        help='use the running Dask cluster with this scheduler address')
    # fmt: on
    args = parser.parse_args(argv)
    if Client is None:
        sys.exit('*** cluster_pool.py needs Dask: pip install distributed')
    workers = args.workers or os.cpu_count() or 1
    client = connect(args.scheduler) if args.scheduler else start_local(workers)
    with client:
        print(f'Running on {describe(client)}.')
        with client.get_executor() as executor:  # check_numbers reports a Ctrl-C
            check_numbers(executor, f'{len(client.nthreads())} workers')


if __name__ == '__main__':
    main()
