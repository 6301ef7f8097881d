"""Download the flags of the 20 most populous countries, one after the other.

The sequential baseline of the chapter. The concurrent variants import ``main``,
``get_flag`` and ``save_flag`` from here and replace only ``download_many``, so a diff
between two scripts shows exactly the concurrency change.

Set FLAGS_BASE_URL to download from the local flag server instead of the internet.
Sample run::

    $ FLAGS_BASE_URL=http://127.0.0.1:8000/flags python chapter20/flags.py
    BD BR CD CN DE EG ET FR ID IN IR JP MX NG PH PK RU TR US VN
    20 downloads in 0.05s
"""

import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

POP20_CC = 'CN IN US ID BR PK NG BD RU JP MX PH VN ET EG DE IR TR CD FR'.split()

REMOTE_URL = 'https://www.fluentpython.com/data/flags'
BASE_URL = os.environ.get('FLAGS_BASE_URL', REMOTE_URL).rstrip('/')
DEST_DIR = Path('downloaded')
# httpx.get builds a TLS context on every call, ~30 ms of CPU: build the same one once.
TLS_CONTEXT = httpx.create_ssl_context()


def save_flag(img: bytes, filename: str) -> None:
    # Write aside, then rename: a reader sees the old file or the new one, never half.
    path = DEST_DIR / filename
    part = path.with_name(f'.{path.name}.{uuid.uuid4().hex}.part')
    try:
        part.write_bytes(img)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


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
    DEST_DIR.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    try:
        count = downloader(POP20_CC)
    except httpx.HTTPError as exc:
        # httpx messages may add a line of advice, or be empty: report one line.
        reason = next(iter(str(exc).splitlines()), 'no details')
        sys.exit(f'\n*** Download failed: {type(exc).__name__}: {reason}')
    elapsed = time.perf_counter() - t0
    print(f'\n{count} downloads in {elapsed:.2f}s')


if __name__ == '__main__':
    main(download_many)
