"""Download the flags with ``submit`` and ``as_completed``, three at a time.

``submit`` returns a future at once: the first lines usually show three futures
running and the rest pending, as the pool has three workers. ``as_completed`` then
yields each future as it finishes, whatever the order of submission. ``--processes``
runs the same code on a ``ProcessPoolExecutor``, and on Python 3.14 ``--interpreters``
on an ``InterpreterPoolExecutor``: all of them implement the ``Executor`` interface.
Sample run (addresses vary; each bare code is printed by the worker that saved it)::

    $ export FLAGS_BASE_URL=http://127.0.0.1:8000/flags
    $ .venv/bin/python chapter20/flags_threadpool_futures.py
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

import stopping  # noqa: F401 (first: from here on, every way the run can end is clean)

from concurrent import futures
from functools import partial

from arguments import newer_python_options
from flags import command_line, main
from flags_threadpool import download_one

MAX_WORKERS = 3
EXECUTORS: dict[str, type[futures.Executor]] = {
    'threads': futures.ThreadPoolExecutor,
    'processes': futures.ProcessPoolExecutor,
}
if hasattr(futures, 'InterpreterPoolExecutor'):  # Python 3.14 and newer
    EXECUTORS['interpreters'] = futures.InterpreterPoolExecutor


def download_many(cc_list: list[str], kind: str = 'threads') -> int:
    with EXECUTORS[kind](max_workers=MAX_WORKERS) as executor:
        to_do: list[futures.Future[str]] = []
        for cc in sorted(cc_list):
            future = executor.submit(download_one, cc)
            to_do.append(future)
            print(f'Scheduled for {cc}: {future}')

        for future in futures.as_completed(to_do):
            res = future.result()
            print(f'{future} result: {res!r}')
    return len(to_do)  # each future's result was taken: an error would have raised


if __name__ == '__main__':
    parser = command_line('Download 20 flags with submit and as_completed.')
    add = parser.add_mutually_exclusive_group().add_argument
    for kind, executor_class in list(EXECUTORS.items())[1:]:
        help = f'use {executor_class.__name__} instead of threads'
        add(f'--{kind}', dest='kind', action='store_const', const=kind, help=help)
    # Before 3.14, --interpreters is a usage error that says it needs Python 3.14.
    args = newer_python_options(parser, {'--interpreters': (3, 14)}).parse_args()
    main(partial(download_many, kind=args.kind or 'threads'))
