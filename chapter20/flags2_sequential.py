"""Download flags one at a time, with a progress bar and error handling.

The baseline of the flags2 series: one connection, reused for every request. Its
siblings flags2_threadpool.py and flags2_asyncio.py differ only in ``download_many``
(and, for asyncio, in the ``async`` and ``await`` it needs); flags2_common.py holds the
command line and the reports. Sample run, with ``slow_server.py --labels`` running::

    $ .venv/bin/python chapter20/flags2_sequential.py -s DELAY b
    DELAY site: http://127.0.0.1:8001/flags
    Searching for 26 flags: from BA to BZ
    1 connection will be used.
    100%|███████████████████████████████████████████████| 26/26 [01:20<00:00,  3.11s/it]
    --------------------
    17 flags downloaded.
    9 not found.
    0 errors.
    Elapsed time: 80.98s
"""

import stopping  # noqa: F401 (first: from here on, every way the run can end is clean)

from http import HTTPStatus

import httpx
from tqdm import tqdm

from flags2_common import (
    TIMEOUT,
    VERIFY,
    Counts,
    DownloadStatus,
    Outcome,
    error,
    main,
    save_flag,
)

DEFAULT_CONCUR_REQ = 1
MAX_CONCUR_REQ = 1


def get_flag(client: httpx.Client, base_url: str, cc: str) -> bytes:
    cc = cc.lower()
    resp = client.get(f'{base_url}/{cc}/{cc}.gif')
    resp.raise_for_status()
    return resp.content


def download_one(client: httpx.Client, cc: str, base_url: str) -> tuple[Outcome, str]:
    """Download and save one flag; return its status and a line saying what happened."""
    try:
        image = get_flag(client, base_url, cc)
        save_flag(image, f'{cc}.gif')
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == HTTPStatus.NOT_FOUND:
            return Outcome(DownloadStatus.NOT_FOUND), f'{cc} not found'
        return error(cc, exc)
    except httpx.RequestError as exc:  # no answer in time, no connection...
        return error(cc, exc)
    return Outcome(DownloadStatus.OK), f'{cc} OK'


def download_many(
    cc_list: list[str], base_url: str, verbose: bool, concur_req: int, counter: Counts
) -> None:
    with httpx.Client(timeout=TIMEOUT, verify=VERIFY, follow_redirects=True) as client:
        for cc in tqdm(cc_list, disable=verbose):
            outcome, message = download_one(client, cc, base_url)
            counter[outcome] += 1  # count, then show: a line shown is in the report
            if verbose:
                tqdm.write(message)


if __name__ == '__main__':
    main(download_many, DEFAULT_CONCUR_REQ, MAX_CONCUR_REQ)
