"""Where are the futures?: ``submit``, ``as_completed`` and the futures they hand out.

``submit`` schedules a callable and returns a future at once; ``as_completed`` yields
the futures as they finish, whatever order they were submitted in. The downloads are
those of flags_threadpool_futures.py, whose pool has three workers: three futures run,
the rest wait, pending. Each download is held back by a respx side effect that waits
on an event, so the test decides when it ends.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent import futures
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
import respx

import flags_threadpool_futures as script
from flags_threadpool import download_one
from tests.support import BASE, SHORT_TIMEOUT, Transcript

T = TypeVar('T')
CODES = ['BR', 'CN', 'IN']


@pytest.fixture(autouse=True)
def _flags_here(flags_here: Path) -> None:
    """flags.py downloads from BASE (answered by respx) into tmp_path."""


def hold(
    respx_mock: respx.MockRouter, cc: str
) -> tuple[threading.Event, threading.Event]:
    """Route cc's flag; return (started, gate): the answer waits until gate is set."""
    started, gate = threading.Event(), threading.Event()

    def respond(request: httpx.Request) -> httpx.Response:
        started.set()
        if not gate.wait(SHORT_TIMEOUT):
            raise TimeoutError(f'The test never let {cc} finish.')
        return httpx.Response(200, content=f'GIF89a-{cc}'.encode())

    respx_mock.get(f'/{cc.lower()}/{cc.lower()}.gif').mock(side_effect=respond)
    return started, gate


def state(future: futures.Future[Any]) -> str:
    """The state a future's repr shows, as the script prints it: 'running'..."""
    match = re.search(r' state=(\w+)', repr(future))
    assert match, repr(future)
    return match[1]


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C17')
def test_as_completed_yields_futures_in_the_order_they_finish(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last future submitted comes out first when it finishes first."""
    gates = {cc: hold(respx_mock, cc)[1] for cc in CODES}
    record = []

    with futures.ThreadPoolExecutor(max_workers=len(CODES)) as executor:
        to_do = {executor.submit(download_one, cc): cc for cc in CODES}
        finished = futures.as_completed(to_do, timeout=SHORT_TIMEOUT)
        for cc in ['IN', 'BR', 'CN']:
            gates[cc].set()  # only this download can finish now
            future = next(finished)
            record.append((to_do[future], future.result()))
        leftover = list(finished)

    assert record == [('IN', 'IN'), ('BR', 'BR'), ('CN', 'CN')]
    assert leftover == []  # each future once, as many as submitted
    assert capsys.readouterr().out == 'IN BR CN '


@pytest.mark.claims('C17')
def test_as_completed_yields_each_future_once_however_often_it_is_given() -> None:
    """Duplicates in the input come out once; finished futures come out at once."""
    done: list[futures.Future[str]] = [futures.Future() for _ in CODES]
    for future, cc in zip(done, CODES, strict=True):
        future.set_result(cc)

    yielded = list(futures.as_completed([*done, *done, done[0]], timeout=0))

    assert sorted(future.result() for future in yielded) == CODES
    assert len(set(yielded)) == len(yielded)


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C16')
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
        assert started.wait(SHORT_TIMEOUT), 'The first download never started.'
        record.append((repr(first), repr(second)))
        gate.set()
        futures.wait([first, second], timeout=SHORT_TIMEOUT)
        record.append((repr(first), repr(second)))

    def shown(future: futures.Future[str], state: str) -> str:
        return f'<Future at {id(future):#x} state={state}>'

    assert record == [
        (shown(first, 'running'), shown(second, 'pending')),
        (shown(first, 'finished returned str'), shown(second, 'finished returned str')),
    ]
    assert capsys.readouterr().out == 'BR CN '


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C16')
def test_a_future_repr_shows_the_exception_it_raised(
    respx_mock: respx.MockRouter,
) -> None:
    """A failed download finishes too: its future holds the exception, named in repr."""
    respx_mock.get('/zz/zz.gif').respond(404)

    with futures.ThreadPoolExecutor(max_workers=1) as executor:
        future = executor.submit(download_one, 'ZZ')
        error = future.exception(timeout=SHORT_TIMEOUT)

    assert repr(future) == (
        f'<Future at {id(future):#x} state=finished raised HTTPStatusError>'
    )
    assert isinstance(error, httpx.HTTPStatusError)
    assert str(error).startswith("Client error '404 Not Found' for url")


class RecordingPool(futures.ThreadPoolExecutor):
    """A ThreadPoolExecutor that keeps its size and the futures it hands out."""

    made: ClassVar[list[RecordingPool]] = []  # each test sets a fresh list

    def __init__(self, max_workers: int | None = None, **options: Any) -> None:
        super().__init__(max_workers, **options)
        self.max_workers = max_workers
        self.submitted: list[futures.Future[Any]] = []
        self.made.append(self)

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> futures.Future[T]:
        future = super().submit(fn, *args, **kwargs)
        self.submitted.append(future)
        return future


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C16', 'C29')
def test_download_many_runs_three_downloads_at_once_and_the_rest_wait_pending(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool has MAX_WORKERS = 3 threads: while the downloads hang, three futures
    are running and the rest pending, as the chapter's first lines show."""
    codes = ['BD', 'BR', 'CD', 'CN', 'DE']  # sorted, as download_many submits them
    holds = {cc: hold(respx_mock, cc) for cc in codes}
    monkeypatch.setattr(RecordingPool, 'made', [])
    monkeypatch.setitem(script.EXECUTORS, 'threads', RecordingPool)
    transcript = Transcript()

    with redirect_stdout(transcript), futures.ThreadPoolExecutor(1) as runner:
        run = runner.submit(script.download_many, codes)
        try:
            transcript.wait_for(f'Scheduled for {codes[-1]}: ')  # all submitted
            for cc in codes[:3]:  # the first three in, taken by the three workers
                assert holds[cc][0].wait(SHORT_TIMEOUT), f'{cc} never started'
            [pool] = RecordingPool.made
            states = [state(future) for future in pool.submitted]
        finally:
            for _, gate in holds.values():
                gate.set()
        count = run.result(SHORT_TIMEOUT)

    assert pool.max_workers == script.MAX_WORKERS == 3
    assert states == ['running'] * 3 + ['pending'] * 2
    assert count == len(codes)
    scheduled = re.findall(
        r'^Scheduled for (\w\w): <Future at (0x[0-9a-f]+) ', transcript.getvalue(), re.M
    )
    assert scheduled == [
        (cc, f'{id(f):#x}') for cc, f in zip(codes, pool.submitted, strict=True)
    ]
