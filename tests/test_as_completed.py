"""``submit`` and ``as_completed``, with the downloads of flags_threadpool_futures.py.

``submit`` schedules a callable and returns a future at once; ``as_completed`` yields
the futures as they finish, whatever order they were submitted in. Each download is held
back by a respx side effect that waits on an event, so the test decides when it ends.
"""

from __future__ import annotations

import threading
from concurrent import futures
from pathlib import Path

import httpx
import pytest
import respx

import flags
from flags_threadpool_futures import download_one
from tests.flag_site import WAIT_TIMEOUT

BASE = 'https://flags.test/data/flags'  # never resolved: respx answers first
CODES = ['BR', 'CN', 'IN']


@pytest.fixture(autouse=True)
def _flags_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(flags, 'BASE_URL', BASE)
    monkeypatch.setattr(flags, 'DEST_DIR', tmp_path)


def hold(
    respx_mock: respx.MockRouter, cc: str
) -> tuple[threading.Event, threading.Event]:
    """Route cc's flag; return (started, gate): the answer waits until gate is set."""
    started, gate = threading.Event(), threading.Event()

    def respond(request: httpx.Request) -> httpx.Response:
        started.set()
        if not gate.wait(WAIT_TIMEOUT):
            raise TimeoutError(f'The test never let {cc} finish.')
        return httpx.Response(200, content=f'GIF89a-{cc}'.encode())

    respx_mock.get(f'/{cc.lower()}/{cc.lower()}.gif').mock(side_effect=respond)
    return started, gate


@pytest.mark.respx(base_url=BASE)
def test_as_completed_yields_futures_in_the_order_they_finish(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last future submitted comes out first when it finishes first."""
    gates = {cc: hold(respx_mock, cc)[1] for cc in CODES}
    record = []

    with futures.ThreadPoolExecutor(max_workers=len(CODES)) as executor:
        to_do = {executor.submit(download_one, cc): cc for cc in CODES}
        finished = futures.as_completed(to_do, timeout=WAIT_TIMEOUT)
        for cc in ['IN', 'BR', 'CN']:
            gates[cc].set()  # only this download can finish now
            future = next(finished)
            record.append((to_do[future], future.result()))
        leftover = list(finished)

    assert record == [('IN', 'IN'), ('BR', 'BR'), ('CN', 'CN')]
    assert leftover == []  # each future once, as many as submitted
    assert capsys.readouterr().out == 'IN BR CN '


def test_as_completed_yields_each_future_once_however_often_it_is_given() -> None:
    """Duplicates in the input come out once; finished futures come out at once."""
    done: list[futures.Future[str]] = [futures.Future() for _ in CODES]
    for future, cc in zip(done, CODES, strict=True):
        future.set_result(cc)

    yielded = list(futures.as_completed([*done, *done, done[0]], timeout=0))

    assert sorted(future.result() for future in yielded) == CODES
    assert len(set(yielded)) == len(yielded)


@pytest.mark.respx(base_url=BASE)
def test_a_future_repr_shows_pending_running_and_finished(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    """With one worker, the second future is 'pending' while the first is 'running'."""
    started, gate = hold(respx_mock, 'BR')
    hold(respx_mock, 'CN')[1].set()
    record = []

    with futures.ThreadPoolExecutor(max_workers=1) as executor:
        first = executor.submit(download_one, 'BR')
        second = executor.submit(download_one, 'CN')
        assert started.wait(WAIT_TIMEOUT), 'The first download never started.'
        record.append((repr(first), repr(second)))
        gate.set()
        futures.wait([first, second], timeout=WAIT_TIMEOUT)
        record.append((repr(first), repr(second)))

    def shown(future: futures.Future[str], state: str) -> str:
        return f'<Future at {id(future):#x} state={state}>'

    assert record == [
        (shown(first, 'running'), shown(second, 'pending')),
        (shown(first, 'finished returned str'), shown(second, 'finished returned str')),
    ]
    assert capsys.readouterr().out == 'BR CN '


@pytest.mark.respx(base_url=BASE)
def test_a_future_repr_shows_the_exception_it_raised(
    respx_mock: respx.MockRouter,
) -> None:
    """A failed download finishes too: its future holds the exception, named in repr."""
    respx_mock.get('/zz/zz.gif').respond(404)

    with futures.ThreadPoolExecutor(max_workers=1) as executor:
        future = executor.submit(download_one, 'ZZ')
        error = future.exception(timeout=WAIT_TIMEOUT)

    assert (
        repr(future) == f'<Future at {id(future):#x} state=finished raised HTTPError>'
    )
    assert isinstance(error, httpx.HTTPError)
    assert str(error).startswith("Client error '404 Not Found' for url")
