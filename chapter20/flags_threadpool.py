"""Download the flags of the 20 most populous countries with a thread pool.

The same job as ``flags.py``; only ``download_many`` changes. ``Executor.map`` runs
``download_one`` in worker threads, so the downloads overlap while each thread waits for
the network, and the codes come out in the order they finish. ``map`` still returns the
results in the order of its input; here only their number is used. Sample run::

    $ export FLAGS_BASE_URL=http://127.0.0.1:8000/flags
    $ .venv/bin/python chapter20/flags_threadpool.py
    DE FR BD CN EG RU IN TR VN ID US BR MX PH NG JP IR ET CD PK
    20 downloads in 0.04s
"""

import stopping  # noqa: F401 (first: from here on, every way the run can end is clean)

from concurrent import futures

from flags import command_line, get_flag, main, save_flag


def download_one(cc: str) -> str:
    image = get_flag(cc)
    save_flag(image, f'{cc}.gif')
    # One write per code: print(cc, end=' ') writes twice, and threads interleave.
    print(f'{cc} ', end='', flush=True)
    return cc


def download_many(cc_list: list[str]) -> int:
    with futures.ThreadPoolExecutor() as executor:
        results = executor.map(download_one, sorted(cc_list))
    # Leaving the with block waited for every download; an error surfaces here.
    return len(list(results))


if __name__ == '__main__':
    command_line('Download 20 flags with a pool of threads.').parse_args()
    main(download_many)
