"""Downloads with progress display and error handling: what each answer counts as.

flags2_sequential.py, flags2_threadpool.py and flags2_asyncio.py differ only in how they
run their requests, so every rule they share is written once here and runs against the
three (ids ``sequential``, ``threadpool``, ``asyncio``). respx answers the requests:
threads and coroutines of this process all see its routes. Each download ends in an
``Outcome``: HTTP 404 is NOT_FOUND; any other error status, a timeout, a broken
connection or a failed save is ERROR, with its cause ('HTTP 418', 'ReadTimeout'), which
the final report names. The last tests send Ctrl-C to this process in the middle of a
run.
"""

from __future__ import annotations

import asyncio
import errno
import runpy
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import respx

import flags2_common
import flags2_threadpool
from flags2_common import Counts, DownloadStatus, Outcome
from tests.support import BASE, CHAPTER, SHORT_TIMEOUT, run_flags2_main

OK = Outcome(DownloadStatus.OK)
NOT_FOUND = Outcome(DownloadStatus.NOT_FOUND)
CODES = ['AD', 'AE', 'AF', 'AG', 'AL']  # sorted, as main hands them over

Answer = Callable[[httpx.Request], httpx.Response]


def error(cause: str) -> Outcome:
    return Outcome(DownloadStatus.ERROR, cause)


@pytest.fixture(autouse=True)
def dest_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """./downloaded in a fresh working directory, as main would make it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'downloaded').mkdir()
    return tmp_path / 'downloaded'


def download(
    client: ModuleType,
    cc_list: list[str],
    *,
    verbose: bool = True,
    concur_req: int = 4,
    counter: Counts | None = None,
) -> Counts:
    counter = Counter() if counter is None else counter
    client.download_many(cc_list, BASE, verbose, concur_req, counter)
    return counter


def gif(cc: str) -> bytes:
    return b'GIF89a' + cc.encode()


def path(cc: str) -> str:
    return f'/{cc.lower()}/{cc.lower()}.gif'


def raising(exc: Exception) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc

    return answer


def status(code: int) -> Answer:
    return lambda request: httpx.Response(code)


ANSWERS = [
    pytest.param(lambda request: httpx.Response(200, content=gif('BR')), OK, 'BR OK',
                 id='200'),
    pytest.param(status(404), NOT_FOUND, 'BR not found', id='404'),
    pytest.param(status(418), error('HTTP 418'), "BR error: HTTP 418 - I'm a teapot",
                 id='418'),
    pytest.param(status(500), error('HTTP 500'),
                 'BR error: HTTP 500 - Internal Server Error', id='500'),
    pytest.param(status(503), error('HTTP 503'),
                 'BR error: HTTP 503 - Service Unavailable', id='503'),
    pytest.param(raising(httpx.ReadTimeout('timed out')), error('ReadTimeout'),
                 'BR error: ReadTimeout: timed out', id='timeout'),
    pytest.param(raising(httpx.ConnectError('[Errno 111] Connection refused')),
                 error('ConnectError'),
                 'BR error: ConnectError: [Errno 111] Connection refused',
                 id='connect-error'),
    pytest.param(raising(httpx.RemoteProtocolError('')), error('RemoteProtocolError'),
                 'BR error: RemoteProtocolError', id='empty-message'),
]  # fmt: skip


@pytest.mark.parametrize(('answer', 'expected', 'line'), ANSWERS)
@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C32')
def test_each_answer_counts_as_ok_not_found_or_an_error_with_its_cause(
    client: ModuleType,
    respx_mock: respx.MockRouter,
    capsys: pytest.CaptureFixture[str],
    dest_dir: Path,
    answer: Answer,
    expected: Outcome,
    line: str,
) -> None:
    """404 is NOT_FOUND; other statuses and failed requests are ERROR, with their cause
    (the status, or the exception's class) counted and, with -v, a line saying why."""
    route = respx_mock.get(path('BR')).mock(side_effect=answer)

    counter = download(client, ['BR'])

    assert counter == Counter({expected: 1})
    assert capsys.readouterr().out == f'{line}\n'
    assert route.call_count == 1
    saved = {p.name: p.read_bytes() for p in dest_dir.iterdir()}
    assert saved == ({'BR.gif': gif('BR')} if expected == OK else {})


@pytest.mark.respx(base_url=BASE)
def test_redirects_are_followed(
    client: ModuleType, respx_mock: respx.MockRouter, dest_dir: Path
) -> None:
    """A moved flag is still downloaded, as with flags.py."""
    respx_mock.get(path('BR')).respond(301, headers={'Location': '/moved/br.gif'})
    respx_mock.get('https://flags.test/moved/br.gif').respond(content=gif('BR'))

    assert download(client, ['BR']) == Counter({OK: 1})
    assert (dest_dir / 'BR.gif').read_bytes() == gif('BR')


MIX = {  # code -> (answer, verbose line)
    'AD': (200, 'AD OK'),
    'AE': (200, 'AE OK'),
    'AF': (404, 'AF not found'),
    'AG': (418, "AG error: HTTP 418 - I'm a teapot"),
    'AL': (200, 'AL OK'),
    'AM': (404, 'AM not found'),
    'AO': (503, 'AO error: HTTP 503 - Service Unavailable'),
    'AR': (200, 'AR OK'),
}


def serve_mix(respx_mock: respx.MockRouter) -> None:
    for cc, (code, _) in MIX.items():
        respx_mock.get(path(cc)).respond(code, content=gif(cc) if code == 200 else b'')


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C32')
def test_the_counter_adds_up_to_the_codes_and_each_line_is_whole(
    client: ModuleType, respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    """OK + NOT_FOUND + ERROR is the number of codes; one whole line per code."""
    serve_mix(respx_mock)

    counter = download(client, sorted(MIX), concur_req=8)

    expected = {OK: 4, NOT_FOUND: 2, error('HTTP 418'): 1, error('HTTP 503'): 1}
    assert counter == Counter(expected)
    assert counter.total() == len(MIX)
    lines = capsys.readouterr().out.splitlines()
    assert sorted(lines) == sorted(line for _, line in MIX.values())


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C32')
def test_the_final_report_names_the_causes_of_the_errors_without_verbose(
    client: ModuleType,
    respx_mock: respx.MockRouter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Errors say why without -v: the report counts each cause, and no line per code
    is printed, only the progress bar."""
    serve_mix(respx_mock)

    status = run_flags2_main(client, '-s', BASE, *MIX)

    out, err = capsys.readouterr()
    assert out.splitlines()[-4:-1] == [
        '4 flags downloaded.',
        '2 not found.',
        '2 errors: HTTP 418 (1), HTTP 503 (1).',
    ]
    assert f'{len(MIX)}/{len(MIX)}' in err
    assert not [line for _, line in MIX.values() if line in out + err]
    assert status == 1


@pytest.mark.parametrize(
    ('verbose', 'bar'),
    [
        pytest.param(False, True, id='progress-bar'),
        pytest.param(True, False, id='verbose-lines'),
    ],
)
@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C33')
def test_a_progress_bar_on_stderr_unless_verbose(
    client: ModuleType,
    respx_mock: respx.MockRouter,
    capsys: pytest.CaptureFixture[str],
    verbose: bool,
    bar: bool,
) -> None:
    """tqdm draws on stderr; -v prints lines on stdout instead."""
    respx_mock.get(path('BR')).respond(content=gif('BR'))
    respx_mock.get(path('CN')).respond(content=gif('CN'))

    download(client, ['BR', 'CN'], verbose=verbose)

    out, err = capsys.readouterr()
    assert ('2/2' in err) is bar
    assert (out == '') is bar


# --- One client, sized for the concurrency --------------------------------------------


@pytest.fixture
def clients_made(
    client: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The keyword arguments of every httpx client that the client under test makes."""
    made: list[dict[str, Any]] = []
    name = 'AsyncClient' if client.__name__ == 'flags2_asyncio' else 'Client'
    original = getattr(httpx, name)

    class Recording(original):  # type: ignore[valid-type,misc]
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(httpx, name, Recording)
    return made


@pytest.mark.respx(base_url=BASE)
def test_one_http_client_serves_every_request_of_a_run(
    client: ModuleType,
    respx_mock: respx.MockRouter,
    clients_made: list[dict[str, Any]],
) -> None:
    """Connections are reused; a client per request costs a new connection each."""
    codes = ['AD', 'AE', 'AF', 'AG', 'AL', 'AM']
    route = respx_mock.route(host='flags.test').respond(404)

    download(client, codes, concur_req=3)

    assert route.call_count == len(codes)
    assert len(clients_made) == 1
    assert clients_made[0]['follow_redirects'] is True


@pytest.mark.parametrize('client', ['threadpool', 'asyncio'], indirect=True)
@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C34')
def test_the_pool_has_a_connection_for_every_request_in_flight(
    client: ModuleType,
    respx_mock: respx.MockRouter,
    clients_made: list[dict[str, Any]],
) -> None:
    """The book's asyncio client fails above 100: its pool was smaller than its
    semaphore, and the wait for a connection counted against the request timeout."""
    respx_mock.get(path('BR')).respond(404)

    download(client, ['BR'], concur_req=1000)

    assert clients_made[0]['limits'].max_connections == 1000
    assert clients_made[0]['timeout'].pool is None


# --- Concurrency ----------------------------------------------------------------------


class InFlight:
    """Counts requests in flight; each waits until `expected` are in flight at once."""

    def __init__(self, expected: int) -> None:
        self.expected, self.now, self.peak = expected, 0, 0
        self.lock = threading.Lock()
        self.all_in = threading.Event()
        self.paths: list[str] = []

    def arrive(self, request: httpx.Request) -> None:
        with self.lock:
            self.paths.append(str(request.url))
            self.now += 1
            self.peak = max(self.peak, self.now)
            if self.now == self.expected:
                self.all_in.set()

    def leave(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.now -= 1
        return httpx.Response(404)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.arrive(request)
        assert self.all_in.wait(SHORT_TIMEOUT), 'fewer requests in flight than expected'
        return self.leave(request)

    async def answer_async(self, request: httpx.Request) -> httpx.Response:
        self.arrive(request)
        await asyncio.wait_for(asyncio.to_thread(self.all_in.wait), SHORT_TIMEOUT)
        return self.leave(request)


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C34')
def test_max_req_requests_are_in_flight_at_once_and_no_more(
    client: ModuleType, respx_mock: respx.MockRouter
) -> None:
    """-m 3 means three at once for threads and coroutines; the sequential client
    always makes one request at a time, in alphabetical order."""
    codes = ['AD', 'AE', 'AF', 'AG', 'AL', 'AM', 'AO']
    expected = 1 if client.__name__ == 'flags2_sequential' else 3
    in_flight = InFlight(expected)
    is_async = client.__name__ == 'flags2_asyncio'
    answer = in_flight.answer_async if is_async else in_flight.answer
    respx_mock.route(host='flags.test').mock(side_effect=answer)

    counter = download(client, codes, concur_req=3)

    assert counter == Counter({NOT_FOUND: len(codes)})
    assert in_flight.peak == expected
    if expected == 1:
        assert in_flight.paths == [BASE + path(cc) for cc in codes]


# --- Ctrl-C ---------------------------------------------------------------------------


class CountedCounter(Counter[Outcome]):
    """A counter that tells, across threads, when a first result has been counted."""

    def __init__(self) -> None:
        super().__init__()
        self.counted = threading.Event()

    def __setitem__(self, key: Outcome, value: int) -> None:
        super().__setitem__(key, value)
        self.counted.set()


class HungRun:
    """Answers AD at once; AE, once AD is counted, presses Ctrl-C and hangs, in a
    thread until ``release`` is set, in a coroutine until it is cancelled."""

    def __init__(self) -> None:
        self.counter = CountedCounter()
        self.requested: list[str] = []
        self.release = threading.Event()
        self.answered = threading.Event()  # the hung request returned an answer

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requested.append(request.url.path)
        if request.url.path.endswith('/ae.gif'):
            assert self.counter.counted.wait(SHORT_TIMEOUT)
            ctrl_c()
            self.release.wait(SHORT_TIMEOUT)
            self.answered.set()
            return httpx.Response(503)
        return httpx.Response(200, content=gif('AD'))

    async def answer_async(self, request: httpx.Request) -> httpx.Response:
        self.requested.append(request.url.path)
        if request.url.path.endswith('/ae.gif'):
            counted = asyncio.to_thread(self.counter.counted.wait)
            await asyncio.wait_for(counted, SHORT_TIMEOUT)
            ctrl_c()
            await asyncio.sleep(SHORT_TIMEOUT)
            self.answered.set()
            return httpx.Response(503)
        return httpx.Response(200, content=gif('AD'))


def ctrl_c() -> None:
    """What the terminal does: SIGINT, which the kernel hands to the main thread."""
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@pytest.fixture
def hung_run(client: ModuleType, respx_mock: respx.MockRouter) -> Iterator[HungRun]:
    """A run of CODES, one at a time, that Ctrl-C stops while AE hangs; at teardown
    the hung request, if it is still in a thread, ends."""
    run = HungRun()
    is_async = client.__name__ == 'flags2_asyncio'
    respx_mock.route(host='flags.test').mock(
        side_effect=run.answer_async if is_async else run.answer
    )
    yield run
    run.release.set()


@pytest.mark.respx(base_url=BASE, assert_all_called=False)
def test_ctrl_c_stops_the_run_at_once_and_starts_nothing_more(
    client: ModuleType, hung_run: HungRun, dest_dir: Path
) -> None:
    """SIGINT while a request hangs: KeyboardInterrupt reaches main without waiting
    for the hung request, with the first flag counted; the codes not yet started are
    never requested."""
    with pytest.raises(KeyboardInterrupt):
        download(client, CODES, concur_req=1, counter=hung_run.counter)

    assert not hung_run.answered.is_set()
    assert hung_run.counter == Counter({OK: 1})
    assert hung_run.requested == ['/data/flags/ad/ad.gif', '/data/flags/ae/ae.gif']
    assert [p.name for p in dest_dir.iterdir()] == ['AD.gif']


class RecordingPool(ThreadPoolExecutor):
    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers)
        self.submitted: list[Future[Any]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        self.submitted.append(future)
        return future


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[RecordingPool]:
    """The pools flags2_threadpool makes, which record the futures they hand out."""
    made: list[RecordingPool] = []

    class Pool(RecordingPool):
        def __init__(self, max_workers: int) -> None:
            super().__init__(max_workers)
            made.append(self)

    monkeypatch.setattr(flags2_threadpool, 'ThreadPoolExecutor', Pool)
    return made


@pytest.mark.parametrize('client', ['threadpool'], indirect=True)
@pytest.mark.respx(base_url=BASE, assert_all_called=False)
def test_ctrl_c_cancels_the_threadpool_downloads_not_yet_started(
    client: ModuleType, hung_run: HungRun, pools: list[RecordingPool]
) -> None:
    """Ctrl-C cancels the futures still queued (``shutdown(cancel_futures=True)``):
    once the hung download ends, the pool's thread has nothing left to run."""
    with pytest.raises(KeyboardInterrupt):
        download(client, CODES, concur_req=1, counter=hung_run.counter)
    hung_run.release.set()
    [pool] = pools
    pool.shutdown(wait=True)  # the hung download ends, then whatever is still queued

    cancelled = [f.cancelled() for f in pool.submitted]
    assert cancelled == [False, False, True, True, True]
    assert hung_run.answered.is_set()


@pytest.mark.parametrize('client', ['asyncio'], indirect=True)
@pytest.mark.respx(base_url=BASE, assert_all_called=False)
def test_ctrl_c_ends_every_asyncio_task_before_the_client_closes(
    client: ModuleType, hung_run: HungRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After Ctrl-C the supervisor cancels the download tasks and waits for them to
    end (``gather``): none is left running when the shared AsyncClient closes."""
    left_running: list[int] = []

    class Recording(httpx.AsyncClient):
        async def __aexit__(self, *exc_info: Any) -> None:
            current = asyncio.current_task()
            left_running.append(sum(t is not current for t in asyncio.all_tasks()))
            await super().__aexit__(*exc_info)

    monkeypatch.setattr(httpx, 'AsyncClient', Recording)

    with pytest.raises(KeyboardInterrupt):
        download(client, CODES, concur_req=1, counter=hung_run.counter)

    assert left_running == [0]
    assert hung_run.counter == Counter({OK: 1})


# Turns of the event loop that a cancelled request takes to end: httpcore, cancelled
# mid-request, closes its connection under a shield before it lets the task end.
CLOSING_TURNS = 20


@pytest.mark.parametrize('client', ['asyncio'], indirect=True)
@pytest.mark.respx(base_url=BASE, assert_all_called=False)  # a cancel is no call
def test_an_error_that_ends_an_asyncio_run_ends_every_task_before_the_client_closes(
    client: ModuleType, respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flag that cannot be saved ends the run: the supervisor cancels the downloads
    still running and waits until each has ended, however many turns of the event
    loop it takes, before the shared AsyncClient closes; the error then reaches main."""
    record: list[str] = []
    hanging = threading.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        hanging.set()
        try:
            await asyncio.sleep(SHORT_TIMEOUT)  # a bound: the run cancels it first
        except asyncio.CancelledError:
            for _ in range(CLOSING_TURNS):
                await asyncio.sleep(0)
            record.append('AE ended by its cancel')
            raise
        record.append('AE answered')
        return httpx.Response(503)

    def disk_full(image: bytes, filename: str) -> None:  # runs in a thread
        assert hanging.wait(SHORT_TIMEOUT)  # AE's request is in flight meanwhile
        raise OSError(errno.ENOSPC, 'No space left on device', filename)

    class Recording(httpx.AsyncClient):
        async def __aexit__(self, *exc_info: Any) -> None:
            current = asyncio.current_task()
            running = sum(t is not current for t in asyncio.all_tasks())
            record.append(f'client closes, {running} tasks running')
            await super().__aexit__(*exc_info)

    respx_mock.get(path('AD')).respond(content=gif('AD'))
    respx_mock.get(path('AE')).mock(side_effect=hang)
    monkeypatch.setattr(client, 'save_flag', disk_full)
    monkeypatch.setattr(httpx, 'AsyncClient', Recording)

    with pytest.raises(OSError, match='No space left on device'):
        download(client, ['AD', 'AE'], concur_req=2)

    assert record == ['AE ended by its cancel', 'client closes, 0 tasks running']


# --- Saving ---------------------------------------------------------------------------


@pytest.mark.respx(base_url=BASE)
def test_a_failed_download_never_replaces_a_good_file(
    client: ModuleType, respx_mock: respx.MockRouter, dest_dir: Path
) -> None:
    """An error page is not a flag: the file from an earlier run stays as it was."""
    (dest_dir / 'BR.gif').write_bytes(b'GIF89a-good')
    respx_mock.get(path('BR')).respond(418, content=b'I am a teapot')

    assert download(client, ['BR']) == Counter({error('HTTP 418'): 1})
    assert [p.name for p in dest_dir.iterdir()] == ['BR.gif']
    assert (dest_dir / 'BR.gif').read_bytes() == b'GIF89a-good'


@pytest.mark.respx(base_url=BASE)
def test_a_failed_save_ends_the_download_and_leaves_the_old_file_and_no_part_file(
    client: ModuleType,
    respx_mock: respx.MockRouter,
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A full disk cuts the write short: the save is atomic, so nothing half-written
    replaces the flag already there, and the partial file is removed. It is no
    download error to count: the error reaches main, which ends the run."""
    (dest_dir / 'BR.gif').write_bytes(b'GIF89a-good')
    respx_mock.get(path('BR')).respond(content=gif('BR'))
    write_bytes = Path.write_bytes

    def disk_full(self: Path, data: bytes) -> int:  # writes half, then fails
        write_bytes(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(Path, 'write_bytes', disk_full)

    with pytest.raises(OSError, match='No space left on device') as raised:
        download(client, ['BR'])
    assert Path(raised.value.filename).resolve() == dest_dir / 'BR.gif'  # no .part
    assert capsys.readouterr().out == ''
    assert [p.name for p in dest_dir.iterdir()] == ['BR.gif']
    assert (dest_dir / 'BR.gif').read_bytes() == b'GIF89a-good'


@pytest.mark.parametrize(
    ('client_name', 'default', 'maximum'),
    [
        pytest.param('sequential', 1, 1, id='sequential'),
        pytest.param('threadpool', 30, 1000, id='threadpool'),
        pytest.param('asyncio', 5, 1000, id='asyncio'),
    ],
)
@pytest.mark.claims('C31', 'C34')
def test_each_script_runs_main_with_its_own_concurrency_limits(
    client_name: str, default: int, maximum: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each script hands main its download_many, its default -m and its maximum.

    The limits the README lists: one connection for the sequential client; 30 by
    default for threads, 5 for asyncio, and at most 1000 for either.
    """
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(flags2_common, 'main', lambda *args: calls.append(args))
    script = CHAPTER / f'flags2_{client_name}.py'
    namespace = runpy.run_path(str(script), run_name='__main__')
    [(download_many, got_default, got_maximum)] = calls
    assert download_many is namespace['download_many']
    assert (got_default, got_maximum) == (default, maximum)
