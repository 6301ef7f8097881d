"""Download the flags with ``submit`` and ``as_completed``, in threads or in processes.

``submit`` returns a future at once: the first lines usually show three futures
running and the rest pending, as the pool has three workers. ``as_completed`` then
yields each future as it finishes, whatever the order of submission. With
``--processes`` the same code runs on a ``ProcessPoolExecutor``: both classes implement
the ``Executor`` interface.
Sample run (addresses vary; each bare code is printed by the worker that saved it)::

    $ export FLAGS_BASE_URL=http://127.0.0.1:8000/flags
    $ python chapter20/flags_threadpool_futures.py
    Scheduled for BD: <Future at 0x7f1c2a8b5d50 state=running>
    Scheduled for BR: <Future at 0x7f1c2a8b6110 state=running>
    Scheduled for CD: <Future at 0x7f1c2a8b6490 state=running>
    Scheduled for CN: <Future at 0x7f1c2a8b6810 state=pending>
    ...
    BD <Future at 0x7f1c2a8b5d50 state=finished returned str> result: 'BD'
    CD BR <Future at 0x7f1c2a8b6490 state=finished returned str> result: 'CD'
    ...
    20 downloads in 0.06s
"""

import argparse
from collections.abc import Callable
from concurrent import futures
from functools import partial
from multiprocessing.context import BaseContext
from pathlib import Path

import httpx

import flags
from flags import get_flag, main, save_flag

MAX_WORKERS = 3


def download_one(cc: str) -> str:
    try:
        image = get_flag(cc)
    except httpx.HTTPStatusError as exc:
        # Its constructor has required keyword-only arguments, so it cannot be unpickled
        # on the way back from a worker process, and that breaks the whole process pool.
        # A plain HTTPError with the same message survives the trip.
        raise httpx.HTTPError(str(exc)) from exc
    save_flag(image, f'{cc}.gif')
    # One write per code: print(cc, end=' ') writes twice, and threads interleave.
    print(f'{cc} ', end='', flush=True)
    return cc


def thread_pool() -> futures.Executor:
    return futures.ThreadPoolExecutor(max_workers=MAX_WORKERS)


def process_pool(mp_context: BaseContext | None = None) -> futures.Executor:
    # A worker started by spawn or forkserver imports flags afresh, with the defaults of
    # its own environment: hand it the URL and the absolute directory we use here.
    settings = (flags.BASE_URL, flags.DEST_DIR.resolve())
    return futures.ProcessPoolExecutor(
        max_workers=MAX_WORKERS,
        mp_context=mp_context,
        initializer=configure,
        initargs=settings,
    )


def configure(base_url: str, dest_dir: Path) -> None:
    flags.BASE_URL = base_url
    flags.DEST_DIR = dest_dir


def download_many(
    cc_list: list[str], pool: Callable[[], futures.Executor] = thread_pool
) -> int:
    count = 0
    with pool() as executor:
        to_do: list[futures.Future[str]] = []
        for cc in sorted(cc_list):
            future = executor.submit(download_one, cc)
            to_do.append(future)
            print(f'Scheduled for {cc}: {future}')

        for future in futures.as_completed(to_do):
            res = future.result()
            print(f'{future} result: {res!r}')
            count += 1
    return count


if __name__ == '__main__':
    parser = argparse.ArgumentParser(
        description='Download 20 flags with submit and as_completed, three at a time.'
    )
    parser.add_argument(
        '--processes',
        action='store_true',
        help=f'use a ProcessPoolExecutor with {MAX_WORKERS} workers instead of threads',
    )
    args = parser.parse_args()
    main(partial(download_many, pool=process_pool if args.processes else thread_pool))
