"""Command line, reports and saving shared by the three flags2 downloaders.

flags2_sequential.py, flags2_threadpool.py and flags2_asyncio.py each pass their
``download_many`` to ``main`` here, which reads the options, prints the reports and sets
the exit status: 0 when no download ended in error, 1 otherwise, 2 for a usage error,
130 after Ctrl-C. The final report names the causes of the errors, counted; when no
request got an answer, a line on stderr says that the server may not be running, and
how to start the local ones and choose one. Start the servers the labels name with
``.venv/bin/python chapter20/slow_server.py --labels``. Sample run::

    $ .venv/bin/python chapter20/flags2_threadpool.py -s ERROR a b c
    ERROR site: http://127.0.0.1:8002/flags
    Searching for 78 flags: from AA to CZ
    30 concurrent connections will be used.
    100%|███████████████████████████████████████████████| 78/78 [00:08<00:00,  9.36it/s]
    --------------------
    35 flags downloaded.
    35 not found.
    8 errors: HTTP 418 (8).
    Elapsed time: 8.34s
"""

import stopping  # first: from here on, every way the run can end is clean

import argparse
import re
import string
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import NamedTuple, NoReturn

import httpx
from tqdm import tqdm

import flags
from arguments import int_in, positive_int
from download_support import NO_ANSWER, make_folder, one_line, unreachable
from flags import POP20_CC, TLS_CONTEXT

SERVERS = {
    'REMOTE': 'https://www.fluentpython.com/data/flags',
    'LOCAL': 'http://127.0.0.1:8000/flags',
    'DELAY': 'http://127.0.0.1:8001/flags',
    'ERROR': 'http://127.0.0.1:8002/flags',
}
DEFAULT_SERVER = 'LOCAL'
COUNTRY_CODES_FILE = Path(__file__).resolve().with_name('country_codes.txt')
# Limits on connecting, sending and receiving; waiting for a free pooled connection has
# none, or a request queued behind a thousand others would time out before it started.
TIMEOUT = httpx.Timeout(6.1, pool=None)
# Each client gets flags.py's ready TLS context: httpx would build a new one, costing
# about 40 ms of CPU inside the timed run, even for plain http.
VERIFY = TLS_CONTEXT
CC_ARG = re.compile('[A-Za-z]{1,2}')
# http(s)://HOST[:PORT]/…/flags; HOST is a name, or an IPv6 address in brackets.
BASE_URL = re.compile(
    r'https?://([\w.-]+|\[[0-9A-Fa-f:.]+\])(:(?P<port>\d{1,5}))?(/[^\s?#]*)?/flags/?',
    re.ASCII,
)
# tqdm guards its output with a multiprocessing lock by default: a semaphore that the
# exit after Ctrl-C, os._exit, would leak (Python 3.14 warns about it). Threads suffice.
tqdm.set_lock(threading.RLock())


class DownloadStatus(Enum):
    OK = 'OK'
    NOT_FOUND = 'not found'
    ERROR = 'error'


class Outcome(NamedTuple):
    status: DownloadStatus
    cause: str = ''  # why a download ended in ERROR: 'HTTP 418', 'ConnectError'...


Counts = Counter[Outcome]
NO_ANSWER_CAUSES = {kind.__name__ for kind in NO_ANSWER}  # nothing at the base URL
# download_many(cc_list, base_url, verbose, concur_req, counter): counts into counter,
# so that the counts so far survive a Ctrl-C.
Downloader = Callable[[list[str], str, bool, int, Counts], None]

save_flag = flags.save_flag  # atomic, and a stop waits for it (download_support.py)


def describe(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f'HTTP {exc.response.status_code} - {exc.response.reason_phrase}'
    # Some httpx exceptions have an empty message: the class name still says a lot.
    return f'{type(exc).__name__}: {exc}' if str(exc) else type(exc).__name__


def error(cc: str, exc: Exception) -> tuple[Outcome, str]:
    """The outcome of a download that failed with exc, and its line for -v."""
    if isinstance(exc, httpx.HTTPStatusError):
        cause = f'HTTP {exc.response.status_code}'
    else:
        cause = type(exc).__name__
    return Outcome(DownloadStatus.ERROR, cause), f'{cc} error: {describe(exc)}'


def resolve_server(server: str) -> tuple[str, str]:
    """Return the label and base URL for a server label or an explicit base URL."""
    if server.upper() in SERVERS:
        return server.upper(), SERVERS[server.upper()]
    if '://' not in server:
        labels = ', '.join(SERVERS)
        raise ValueError(f'unknown server {server!r}: use {labels} or a base URL')
    match = BASE_URL.fullmatch(server)
    if not match or int(match['port'] or 0) > 65535:
        raise ValueError(
            f'malformed base URL {server!r}: expected http(s)://HOST[:PORT]/…/flags'
        )
    return 'URL', server.rstrip('/')


def expand_cc_args(
    every: bool, all_: bool, cc_args: list[str], limit: int
) -> list[str]:
    if every:
        codes = {a + b for a in string.ascii_uppercase for b in string.ascii_uppercase}
    elif all_:
        codes = set(COUNTRY_CODES_FILE.read_text().split())
    elif cc_args:
        codes = set()
        for arg in cc_args:
            if not CC_ARG.fullmatch(arg):
                raise ValueError(f'each CC must be a letter or two, not {arg!r}')
            cc = arg.upper()
            if len(cc) == 1:  # a first letter stands for the 26 codes it starts
                codes.update(cc + b for b in string.ascii_uppercase)
            else:
                codes.add(cc)
    else:
        codes = set(POP20_CC)
    return sorted(codes)[:limit]


def process_args(
    argv: Sequence[str] | None, default_concur_req: int, max_concur_req: int
) -> tuple[argparse.Namespace, list[str], str, str]:
    parser = argparse.ArgumentParser(
        description='Download flags for country codes. '
        'Default: the 20 most populous countries.'
    )
    add = parser.add_argument
    which = parser.add_mutually_exclusive_group().add_argument
    # fmt: off
    add('cc', metavar='CC', nargs='*', help='country code or first letter (B: BA…BZ)')
    which('-a', '--all', action='store_true', help='all 194 country codes (AD…ZW)')
    which('-e', '--every', action='store_true', help='every possible code (AA…ZZ)')
    add('-l', '--limit', metavar='N', type=positive_int, default=sys.maxsize,
        help='only the first N codes, in alphabetical order')
    add('-m', '--max_req', metavar='CONCURRENT', type=int_in(1, max_concur_req),
        default=default_concur_req,
        help=f'concurrent requests (default {default_concur_req}, '
             f'at most {max_concur_req})')
    add('-s', '--server', metavar='LABEL|URL', default=DEFAULT_SERVER,
        help=f'one of {", ".join(SERVERS)} (default {DEFAULT_SERVER}), '
             'or a base URL such as http://127.0.0.1:8000/flags')
    add('-v', '--verbose', action='store_true', help='one line a code, no progress bar')
    # fmt: on
    args = parser.parse_args(argv)
    try:
        if args.cc and (args.all or args.every):
            raise ValueError('give country codes, -a or -e, not two of them')
        label, base_url = resolve_server(args.server)
        cc_list = expand_cc_args(args.every, args.all, args.cc, args.limit)
    except ValueError as exc:
        parser.error(str(exc))
    return args, cc_list, label, base_url


def initial_report(cc_list: list[str], actual_req: int, label: str, url: str) -> None:
    if len(cc_list) <= 10:
        cc_msg = ', '.join(cc_list)
    else:
        cc_msg = f'from {cc_list[0]} to {cc_list[-1]}'
    print(f'{label} site: {url}')
    plural = 's' if len(cc_list) != 1 else ''
    print(f'Searching for {len(cc_list)} flag{plural}: {cc_msg}')
    if actual_req == 1:
        print('1 connection will be used.')
    else:
        print(f'{actual_req} concurrent connections will be used.')


def final_report(counter: Counts, elapsed: float) -> None:
    totals: Counter[DownloadStatus] = Counter()
    for outcome, count in counter.items():
        totals[outcome.status] += count
    causes = sorted(
        (outcome.cause, count)
        for outcome, count in counter.items()
        if outcome.status is DownloadStatus.ERROR
    )
    ok, errors = totals[DownloadStatus.OK], totals[DownloadStatus.ERROR]
    why = ', '.join(f'{cause} ({count})' for cause, count in causes)
    print('-' * 20)
    print(f'{ok} flag{"s" if ok != 1 else ""} downloaded.')
    print(f'{totals[DownloadStatus.NOT_FOUND]} not found.')
    print(f'{errors} error{"s" if errors != 1 else ""}{": " + why if why else ""}.')
    print(f'Elapsed time: {elapsed:.2f}s', flush=True)


def main(
    download_many: Downloader,
    default_concur_req: int,
    max_concur_req: int,
    argv: Sequence[str] | None = None,
) -> NoReturn:
    args, cc_list, label, base_url = process_args(
        argv, default_concur_req, max_concur_req
    )
    make_folder(flags.DEST_DIR)  # the folder save_flag writes into
    actual_req = min(args.max_req, len(cc_list))
    counter: Counts = Counter()
    t0 = time.perf_counter()

    def interrupted() -> str:  # the counts so far, then what was left
        if not args.verbose:
            print(file=sys.stderr)  # end the line of the progress bar
        counts = counter.copy()  # the downloads go on while the stop reports
        final_report(counts, time.perf_counter() - t0)
        left = len(cc_list) - counts.total()
        return f'*** Interrupted: {left} of {len(cc_list)} codes were not searched.'

    with stopping.reporting(interrupted):
        initial_report(cc_list, actual_req, label, base_url)
        try:
            download_many(cc_list, base_url, args.verbose, actual_req, counter)
        except OSError as exc:  # a flag that cannot be saved: a full disk...
            stopping.end(1, f'*** Download failed: {one_line(exc)}')
        final_report(counter, time.perf_counter() - t0)
        if counter and all(o.cause in NO_ANSWER_CAUSES for o in counter):
            choose = 'choose one with -s LOCAL, DELAY or ERROR (or -s URL)'
            print(f'*** {unreachable(base_url, choose)}', file=sys.stderr)
    sys.exit(1 if any(o.status is DownloadStatus.ERROR for o in counter) else 0)
