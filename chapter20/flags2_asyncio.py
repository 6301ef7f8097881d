"""Download flags with asyncio coroutines, with a progress bar and error handling.

The coroutines share one ``httpx.AsyncClient``; a semaphore caps the requests in flight,
and the client's pool is as large as the semaphore, so no request waits for a connection
(the book's version fails most requests above 100 because of that wait). Ctrl-C ends
the run at once, as it ends every script (stopping.py). Sample run, with
``slow_server.py --labels`` running::

    $ .venv/bin/python chapter20/flags2_asyncio.py -s DELAY -a -m 1000
    DELAY site: http://127.0.0.1:8001/flags
    Searching for 194 flags: from AD to ZW
    194 concurrent connections will be used.
    100%|█████████████████████████████████████████████| 194/194 [00:05<00:00, 36.80it/s]
    --------------------
    194 flags downloaded.
    0 not found.
    0 errors.
    Elapsed time: 5.41s
"""

import stopping  # noqa: F401 (first: from here on, every way the run can end is clean)

import asyncio
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

DEFAULT_CONCUR_REQ = 5
MAX_CONCUR_REQ = 1000
KEEP_ALIVE = 10


async def get_flag(client: httpx.AsyncClient, base_url: str, cc: str) -> bytes:
    cc = cc.lower()
    resp = await client.get(f'{base_url}/{cc}/{cc}.gif')
    resp.raise_for_status()
    return resp.content


async def download_one(
    client: httpx.AsyncClient, cc: str, base_url: str, semaphore: asyncio.Semaphore
) -> tuple[Outcome, str]:
    """Download and save one flag; return its status and a line saying what happened."""
    try:
        async with semaphore:
            image = await get_flag(client, base_url, cc)
        # Writing a file blocks: a thread does it while the event loop goes on.
        await asyncio.to_thread(save_flag, image, f'{cc}.gif')
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == HTTPStatus.NOT_FOUND:
            return Outcome(DownloadStatus.NOT_FOUND), f'{cc} not found'
        return error(cc, exc)
    except httpx.RequestError as exc:  # no answer in time, no connection...
        return error(cc, exc)
    return Outcome(DownloadStatus.OK), f'{cc} OK'


async def supervisor(
    cc_list: list[str], base_url: str, verbose: bool, concur_req: int, counter: Counts
) -> None:
    semaphore = asyncio.Semaphore(concur_req)
    # A connection per request in flight, so none waits for one. httpx's pool checks all
    # its idle connections on every request: keeping hundreds open would cost more than
    # opening a few again, so at most KEEP_ALIVE stay open between requests.
    limits = httpx.Limits(
        max_connections=concur_req, max_keepalive_connections=KEEP_ALIVE
    )
    async with httpx.AsyncClient(
        timeout=TIMEOUT, verify=VERIFY, limits=limits, follow_redirects=True
    ) as client:
        to_do = [
            asyncio.create_task(download_one(client, cc, base_url, semaphore))
            for cc in cc_list
        ]
        try:
            done_iter = asyncio.as_completed(to_do)
            for coro in tqdm(done_iter, total=len(cc_list), disable=verbose):
                outcome, message = await coro
                counter[outcome] += 1
                if verbose:
                    tqdm.write(message)
        finally:
            # After an error that ends the run (a flag that cannot be saved): end the
            # tasks left before their client closes under them.
            for task in to_do:
                task.cancel()
            await asyncio.gather(*to_do, return_exceptions=True)


def download_many(
    cc_list: list[str], base_url: str, verbose: bool, concur_req: int, counter: Counts
) -> None:
    asyncio.run(supervisor(cc_list, base_url, verbose, concur_req, counter))


if __name__ == '__main__':
    main(download_many, DEFAULT_CONCUR_REQ, MAX_CONCUR_REQ)
