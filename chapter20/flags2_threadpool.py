"""Download flags with a pool of threads, with a progress bar and error handling.

The threads share one ``httpx.Client``, whose pool keeps a connection per thread alive;
the main thread takes the results with ``as_completed``, counts them and moves the
progress bar. Ctrl-C cancels the downloads not yet started and, unlike the book's
version, does not wait for those in flight. Sample run, with ``slow_server.py --labels``
running::

    $ python chapter20/flags2_threadpool.py -s ERROR -a -m 100
    ERROR site: http://127.0.0.1:8002/flags
    Searching for 194 flags: from AD to ZW
    100 concurrent connections will be used.
    100%|█████████████████████████████████████████████| 194/194 [00:08<00:00, 23.63it/s]
    --------------------
    136 flags downloaded.
    0 not found.
    58 errors.
    Elapsed time: 8.56s
"""

from concurrent.futures import ThreadPoolExecutor, as_completed
from http import HTTPStatus

import httpx
from tqdm import tqdm

from flags2_common import (
    TIMEOUT,
    VERIFY,
    Counts,
    DownloadStatus,
    describe,
    main,
    save_flag,
)

DEFAULT_CONCUR_REQ = 30
MAX_CONCUR_REQ = 1000


def get_flag(client: httpx.Client, base_url: str, cc: str) -> bytes:
    cc = cc.lower()
    resp = client.get(f'{base_url}/{cc}/{cc}.gif')
    resp.raise_for_status()
    return resp.content


def download_one(
    client: httpx.Client, cc: str, base_url: str
) -> tuple[DownloadStatus, str]:
    """Download and save one flag; return its status and a line saying what happened."""
    try:
        image = get_flag(client, base_url, cc)
        save_flag(image, f'{cc}.gif')
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == HTTPStatus.NOT_FOUND:
            return DownloadStatus.NOT_FOUND, f'{cc} not found'
        return DownloadStatus.ERROR, f'{cc} error: {describe(exc)}'
    except (httpx.RequestError, OSError) as exc:  # no answer in time, no connection...
        return DownloadStatus.ERROR, f'{cc} error: {describe(exc)}'
    return DownloadStatus.OK, f'{cc} OK'


def download_many(
    cc_list: list[str], base_url: str, verbose: bool, concur_req: int, counter: Counts
) -> None:
    # A connection per thread, all kept open: no thread waits for one, and httpx never
    # closes an idle one that another thread is about to use (a race in its pool).
    limits = httpx.Limits(
        max_connections=concur_req, max_keepalive_connections=concur_req
    )
    with httpx.Client(
        timeout=TIMEOUT, verify=VERIFY, limits=limits, follow_redirects=True
    ) as client:
        executor = ThreadPoolExecutor(max_workers=concur_req)
        try:
            to_do = [
                executor.submit(download_one, client, cc, base_url) for cc in cc_list
            ]
            done_iter = as_completed(to_do)
            for future in tqdm(done_iter, total=len(cc_list), disable=verbose):
                status, message = future.result()
                counter[status] += 1  # in one thread only: no lock needed
                if verbose:
                    tqdm.write(message)
        finally:
            # Not `with executor:`, which waits for every download, even after Ctrl-C.
            executor.shutdown(wait=False, cancel_futures=True)


if __name__ == '__main__':
    main(download_many, DEFAULT_CONCUR_REQ, MAX_CONCUR_REQ)
