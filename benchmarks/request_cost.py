"""Where a flags2 client's time goes: the CPU it spends on a request, layer by layer.

flags2_speed.py finds the flags2 clients at a fraction of the rate of a plain
``http.client`` loop. This benchmark takes them apart. Each layer below fetches the
676 paths of ``-e`` from a local server without delay, and its first figure is the CPU
time of this process (all its threads) per request, in the cheapest of a few rounds:

- on one kept-alive connection, one request after the other: ``http.client``; ``h11``
  (the HTTP/1.1 parser under httpx) on a bare socket; ``httpcore``, httpx's transport,
  which adds the connection pool; ``httpx.Client.get``, which adds httpx's request and
  response objects; and flags2's ``download_one``, which raises ``HTTPStatusError`` for
  each 404 and saves each flag to a file;
- flags2_threadpool's ``download_many`` on 1 thread (the executor, its futures,
  ``as_completed``, the progress bar) and on 30, next to the plain loop on 30 threads;
- the asyncio side: ``httpcore`` and ``httpx.AsyncClient.get`` one request at a time,
  then flags2_asyncio's ``download_many``, 5 at a time.

For the layers that run on one thread it also counts the function calls per request,
Python and built-in, with ``sys.setprofile``: a count that does not depend on the
machine. For the others it gives the cores kept busy (CPU time over wall time) and the
context switches per request (``getrusage``): a process whose Python code keeps one
core busy can go no faster, since only one thread at a time may run it, and every time
a thread waits and another takes over, the operating system switches between them.

    $ python benchmarks/request_cost.py
"""

import asyncio
import contextlib
import http.client
import io
import os
import resource
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import NamedTuple
from urllib.parse import urlsplit

import h11
import httpcore
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'chapter20'))
import flags
import flags2_asyncio
import flags2_sequential
import flags2_threadpool
from flags2_common import TIMEOUT, VERIFY
from flags2_speed import EVERY_CC, REFERENCE_WORKERS, plain_speed
from harness import FlagServer

REPEATS = 5  # rounds; the one that took the least CPU counts: noise only adds
ASYNC_WORKERS = flags2_asyncio.DEFAULT_CONCUR_REQ
PACKAGES = ('httpx', 'httpcore', 'h11', 'anyio')  # whose calls are counted apart

Layer = Callable[[str, list[str]], None]  # fetch every code from a base URL


def paths(base_url: str, codes: list[str]) -> list[str]:
    return [f'{base_url}/{cc.lower()}/{cc.lower()}.gif' for cc in codes]


def with_http_client(base_url: str, codes: list[str]) -> None:
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or '', url.port)
    try:
        for path in paths(url.path, codes):
            connection.request('GET', path)
            with connection.getresponse() as response:
                response.read()
    finally:
        connection.close()


def with_h11(base_url: str, codes: list[str]) -> None:
    url = urlsplit(base_url)
    host = [('Host', url.netloc)]
    with socket.create_connection((url.hostname or '', url.port or 80)) as sock:
        connection = h11.Connection(h11.CLIENT)
        for path in paths(url.path, codes):
            request = h11.Request(method='GET', target=path, headers=host)
            sock.sendall(
                (connection.send(request) or b'')
                + (connection.send(h11.EndOfMessage()) or b'')
            )
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    connection.receive_data(sock.recv(65536))
                elif isinstance(event, h11.EndOfMessage):
                    break
            connection.start_next_cycle()


def with_httpcore(base_url: str, codes: list[str]) -> None:
    with httpcore.ConnectionPool() as pool:
        for url in paths(base_url, codes):
            pool.request('GET', url)


def flags2_client() -> httpx.Client:
    """A client set up as the flags2 clients set up theirs."""
    return httpx.Client(timeout=TIMEOUT, verify=VERIFY, follow_redirects=True)


def with_httpx(base_url: str, codes: list[str]) -> None:
    with flags2_client() as client:
        for url in paths(base_url, codes):
            client.get(url)


def with_download_one(base_url: str, codes: list[str]) -> None:
    with flags2_client() as client:
        for cc in codes:
            flags2_sequential.download_one(client, cc, base_url)


def with_plain_threads(base_url: str, codes: list[str]) -> None:
    plain_speed(base_url, codes)


def with_threadpool(workers: int) -> Layer:
    def layer(base_url: str, codes: list[str]) -> None:
        flags2_threadpool.download_many(codes, base_url, False, workers, Counter())

    return layer


def with_async_httpcore(base_url: str, codes: list[str]) -> None:
    async def fetch() -> None:
        async with httpcore.AsyncConnectionPool() as pool:
            for url in paths(base_url, codes):
                await pool.request('GET', url)

    asyncio.run(fetch())


def with_async_httpx(base_url: str, codes: list[str]) -> None:
    async def fetch() -> None:
        async with httpx.AsyncClient(
            timeout=TIMEOUT, verify=VERIFY, follow_redirects=True
        ) as client:
            for url in paths(base_url, codes):
                await client.get(url)

    asyncio.run(fetch())


def with_asyncio_client(base_url: str, codes: list[str]) -> None:
    flags2_asyncio.download_many(codes, base_url, False, ASYNC_WORKERS, Counter())


HTTP_CLIENT = 'http.client, 1 connection'
H11 = 'h11 on a socket, 1 connection'
HTTPCORE = 'httpcore, 1 connection'
HTTPX = 'httpx.Client.get, 1 connection'
DOWNLOAD_ONE = 'flags2 download_one, 1 connection'
PLAIN_THREADS = f'plain http.client, {REFERENCE_WORKERS} threads'
THREADPOOL_1 = 'flags2_threadpool, 1 thread'
THREADPOOL = f'flags2_threadpool, {REFERENCE_WORKERS} threads'
ASYNC_HTTPCORE = 'async httpcore, 1 at a time'
ASYNC_HTTPX = 'httpx.AsyncClient.get, 1 at a time'
ASYNCIO = f'flags2_asyncio, {ASYNC_WORKERS} at a time'
# name: (layer, whether it runs on one thread, so that cProfile sees all its calls)
LAYERS: dict[str, tuple[Layer, bool]] = {
    HTTP_CLIENT: (with_http_client, True),
    H11: (with_h11, True),
    HTTPCORE: (with_httpcore, True),
    HTTPX: (with_httpx, True),
    DOWNLOAD_ONE: (with_download_one, True),
    PLAIN_THREADS: (with_plain_threads, False),
    THREADPOOL_1: (with_threadpool(1), False),
    THREADPOOL: (with_threadpool(REFERENCE_WORKERS), False),
    ASYNC_HTTPCORE: (with_async_httpcore, True),
    ASYNC_HTTPX: (with_async_httpx, True),
    ASYNCIO: (with_asyncio_client, False),
}


def cpu(name: str) -> str:
    return f'{name}: CPU per request (µs)'


def calls(name: str) -> str:
    return f'{name}: function calls per request'


def cores(name: str) -> str:
    return f'{name}: cores busy, CPU / wall'


def switches(name: str) -> str:
    return f'{name}: context switches per request'


def in_httpx(owner: str) -> str:
    return f'httpx.Client.get: calls per request in {owner}'


class Cost(NamedTuple):
    cpu: float  # seconds, of every thread of this process
    wall: float  # seconds
    switches: int  # context switches of this process, voluntary or not


def cost(layer: Layer, base_url: str, codes: list[str]) -> Cost:
    """What one run of layer costs."""
    # The flags2 clients draw a progress bar on stderr: here, into a string.
    with contextlib.redirect_stderr(io.StringIO()):
        before = resource.getrusage(resource.RUSAGE_SELF)
        cpu, wall = time.process_time(), time.perf_counter()
        layer(base_url, codes)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_SELF)
    switches = (after.ru_nvcsw - before.ru_nvcsw) + (after.ru_nivcsw - before.ru_nivcsw)
    return Cost(cpu, wall, switches)


def owner(filename: str) -> str:
    """Whose Python function is in filename: a package's, or the standard library's."""
    for package in PACKAGES:
        if f'{os.sep}{package}{os.sep}' in filename:
            return package
    return 'standard library'


def count_calls(layer: Layer, base_url: str, codes: list[str]) -> Counter[str]:
    """Function calls made by one run of layer, by owner, built-ins apart."""
    counts: Counter[str] = Counter()

    def tally(frame: FrameType, event: str, arg: object) -> None:
        if event == 'call':  # a Python function starts (or a generator resumes)
            counts[owner(frame.f_code.co_filename)] += 1
        elif event == 'c_call':
            counts['built-ins'] += 1

    with contextlib.redirect_stderr(io.StringIO()):
        sys.setprofile(tally)
        try:
            layer(base_url, codes)
        finally:
            sys.setprofile(None)
    return counts


def measure(base_url: str, codes: list[str]) -> dict[str, float]:
    best: dict[str, Cost] = {}
    for _ in range(REPEATS):
        for name, (layer, _) in LAYERS.items():
            run = cost(layer, base_url, codes)
            if name not in best or run.cpu < best[name].cpu:
                best[name] = run
    figures: dict[str, float] = {}
    for name, (layer, alone) in LAYERS.items():
        figures[cpu(name)] = best[name].cpu / len(codes) * 1e6
        line = f'  {name:38} {figures[cpu(name)]:5.0f} µs'
        if alone:
            counted = count_calls(layer, base_url, codes)
            figures[calls(name)] = counted.total() / len(codes)
            line += f'  {figures[calls(name)]:5.0f} calls'
            if name == HTTPX:
                for owner_, count in counted.most_common():
                    figures[in_httpx(owner_)] = count / len(codes)
        else:
            figures[cores(name)] = best[name].cpu / best[name].wall
            figures[switches(name)] = best[name].switches / len(codes)
            line += (
                f'  {figures[cores(name)]:5.2f} cores busy'
                f'  {figures[switches(name)]:5.1f} context switches'
            )
        print(line, flush=True)
    return figures


def main() -> dict[str, float]:
    print(
        f'The {len(EVERY_CC)} paths of -e, no delay, cheapest of {REPEATS} rounds:'
        ' CPU time and function calls per request',
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix='bench-') as tmp, FlagServer() as server:
        dest_dir, flags.DEST_DIR = flags.DEST_DIR, Path(tmp)  # for flags2's save_flag
        try:
            return measure(server.base_url, EVERY_CC)
        finally:
            flags.DEST_DIR = dest_dir


def explain(figures: Mapping[str, float]) -> list[str]:
    """Where the time goes, in sentences that hold the figures."""

    def us(name: str) -> str:
        return f'{figures[cpu(name)]:.0f} µs'

    def more(name: str, than: str) -> str:
        return f'{figures[cpu(name)] - figures[cpu(than)]:+.0f} µs'

    owners = sorted(
        (key.rpartition(' in ')[2], value)
        for key, value in figures.items()
        if key.startswith(in_httpx(''))
    )
    where = ', '.join(f'{owner_} {count:.0f}' for owner_, count in owners)
    return [
        f'One request on one kept-alive connection costs {us(HTTP_CLIENT)} of CPU'
        f' with `http.client` and {us(H11)} with `h11`, the parser under httpx, on a'
        f' bare socket: parsing HTTP/1.1 is not the cost. `httpcore` brings it to'
        f' {us(HTTPCORE)}, and `httpx.Client.get` to {us(HTTPX)},'
        f' {figures[cpu(HTTPX)] / figures[cpu(HTTP_CLIENT)]:.1f}x `http.client`.'
        ' The function calls per request grow alike, from'
        f' {figures[calls(HTTP_CLIENT)]:.0f} to {figures[calls(HTTPCORE)]:.0f} and'
        f' {figures[calls(HTTPX)]:.0f} ({where}): httpx builds a URL, headers, a'
        ' request and a response object for each request, and httpcore finds a'
        ' connection in its pool, checks that it is still open and traces each'
        ' step.',
        'The flags2 clients add their own work: raising `HTTPStatusError` for the'
        ' 404s and writing and renaming a file for each of the 194 flags'
        f' ({more(DOWNLOAD_ONE, HTTPX)}, spread over the 676 requests); the'
        ' executor, its futures and the progress bar'
        f' ({more(THREADPOOL_1, DOWNLOAD_ONE)}: each result passes from the worker'
        ' thread to the main thread,'
        f' {figures[switches(THREADPOOL_1)]:.1f} context switches per request); and'
        f' {REFERENCE_WORKERS - 1} more threads ({more(THREADPOOL, THREADPOOL_1)}:'
        f' {figures[switches(THREADPOOL)]:.1f} context switches per request, as'
        ' more threads take turns at the GIL). On'
        f' {REFERENCE_WORKERS} threads the client spends {us(THREADPOOL)} of CPU per'
        f' request and keeps {figures[cores(THREADPOOL)]:.2f} cores busy. Its Python'
        ' code runs on one core at a time, so even with a core to itself it could'
        f' not go much past 1 / {us(THREADPOOL)} ='
        f' {1e6 / figures[cpu(THREADPOOL)]:.0f} requests/s, whatever the server does.'
        f' The plain loop on as many threads spends {us(PLAIN_THREADS)} per request'
        f' and keeps {figures[cores(PLAIN_THREADS)]:.2f} cores busy, with'
        f' {figures[switches(PLAIN_THREADS)]:.1f} context switches: the server, a'
        ' process of its own, sets its pace.',
        f'On the asyncio side, `httpcore` costs {us(ASYNC_HTTPCORE)} per request,'
        f' {figures[calls(ASYNC_HTTPCORE)]:.0f} calls (the event loop and anyio take'
        ' part in every read and write), and `httpx.AsyncClient.get`'
        f' {us(ASYNC_HTTPX)}. flags2_asyncio.py, {ASYNC_WORKERS} at a time, with its'
        ' tasks, its semaphore and a thread for each file it saves, spends'
        f' {us(ASYNCIO)} per request with {figures[cores(ASYNCIO)]:.2f} cores busy.',
    ]


if __name__ == '__main__':
    main()
