"""Download flags with a pool of threads, with a progress bar and error handling.

The threads share one ``httpx.Client``, whose pool keeps a connection per thread alive;
the main thread takes the results with ``as_completed``, counts them and moves the
progress bar. Unlike the book's version, Ctrl-C does not wait for the downloads in
flight, and an error that ends the run (a flag that cannot be saved) cancels those not
yet started. Sample run, with ``slow_server.py --labels`` running::

    $ .venv/bin/python chapter20/flags2_threadpool.py -s ERROR -a -m 100
    ERROR site: http://127.0.0.1:8002/flags
    Searching for 194 flags: from AD to ZW
    100 concurrent connections will be used.
    100%|█████████████████████████████████████████████| 194/194 [00:08<00:00, 23.63it/s]
    --------------------
    136 flags downloaded.
    0 not found.
    58 errors: HTTP 418 (58).
    Elapsed time: 8.56s
"""

import stopping  # noqa: F401 (first: from here on, every way the run can end is clean)

from concurrent.futures import ThreadPoolExecutor, as_completed

import httpx
from tqdm import tqdm

from flags2_common import TIMEOUT, VERIFY, Counts, main
from flags2_sequential import download_one  # the same in a thread: only this changes

DEFAULT_CONCUR_REQ = 30
MAX_CONCUR_REQ = 1000


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
                outcome, message = future.result()
                counter[outcome] += 1  # in one thread only: no lock needed
                if verbose:
                    tqdm.write(message)
        finally:
            # Not `with executor:`, which waits for every download, even after an
            # error that ends the run (a flag that cannot be saved).
            executor.shutdown(wait=False, cancel_futures=True)


if __name__ == '__main__':
    main(download_many, DEFAULT_CONCUR_REQ, MAX_CONCUR_REQ)
