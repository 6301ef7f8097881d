"""Download the flags of the 20 most populous countries, one after the other.

The sequential baseline of the chapter. The concurrent variants import ``main``,
``get_flag`` and ``save_flag`` from here and replace only ``download_many``, so a diff
between two scripts shows exactly the concurrency change.

Set FLAGS_BASE_URL to download from the local flag server instead of the internet;
when nothing answers there, the one line that ends the run says how. Sample run::

    $ FLAGS_BASE_URL=http://127.0.0.1:8000/flags .venv/bin/python chapter20/flags.py
    BD BR CD CN DE EG ET FR ID IN IR JP MX NG PH PK RU TR US VN
    20 downloads in 0.05s
"""

import stopping  # first: from here on, every way the run can end is clean

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from download_support import failure, make_folder, save_atomically

POP20_CC = 'CN IN US ID BR PK NG BD RU JP MX PH VN ET EG DE IR TR CD FR'.split()

REMOTE_URL = 'https://www.fluentpython.com/data/flags'
BASE_URL = os.environ.get('FLAGS_BASE_URL', REMOTE_URL).rstrip('/')
DEST_DIR = Path('downloaded')
# httpx.get builds a TLS context on every call, ~30 ms of CPU: build the same one once.
TLS_CONTEXT = httpx.create_ssl_context()


def save_flag(img: bytes, filename: str) -> None:
    save_atomically(DEST_DIR / filename, img)  # never a half-written file


def get_flag(cc: str) -> bytes:
    cc = cc.lower()
    url = f'{BASE_URL}/{cc}/{cc}.gif'
    resp = httpx.get(url, timeout=6.1, follow_redirects=True, verify=TLS_CONTEXT)
    resp.raise_for_status()
    return resp.content


def download_many(cc_list: list[str]) -> int:
    for cc in sorted(cc_list):
        image = get_flag(cc)
        save_flag(image, f'{cc}.gif')
        print(cc, end=' ', flush=True)
    return len(cc_list)


def main(downloader: Callable[[list[str]], int]) -> None:
    make_folder(DEST_DIR)
    t0 = time.perf_counter()
    with stopping.reporting('\n*** Interrupted: the flags above were saved.'):
        try:
            count = downloader(POP20_CC)
        except (httpx.HTTPError, OSError) as exc:  # no answer, a 404, a full disk...
            stopping.end(1, '\n' + failure(exc, BASE_URL))
        elapsed = time.perf_counter() - t0
        print(f'\n{count} downloads in {elapsed:.2f}s')


def command_line(description: str) -> argparse.ArgumentParser:
    epilog = f'Set FLAGS_BASE_URL to download from elsewhere than {REMOTE_URL}.'
    return argparse.ArgumentParser(description=description, epilog=epilog)


if __name__ == '__main__':
    command_line('Download 20 flags, one after the other.').parse_args()
    main(download_many)
