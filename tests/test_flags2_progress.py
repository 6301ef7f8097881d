"""Downloads with progress display and error handling: the bar moves as downloads end.

The concurrent flags2 clients take their results with ``as_completed``
(``asyncio.as_completed`` for coroutines), so the progress bar can advance the moment
any download ends, whatever order the requests went out in. Here the five downloads
are answered in reverse order, each only once the bar has counted the one before: a
client that waited for the results in input order would never see the first answer.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import httpx
import pytest
import respx

from flags2_common import DownloadStatus, Outcome
from tests.support import BASE, SHORT_TIMEOUT

T = TypeVar('T')
CODES = ['AD', 'AE', 'AF', 'AG', 'AL']


class Bar:
    """Stands in for tqdm: counts the steps, as tqdm does once the loop body is done."""

    def __init__(self) -> None:
        self.steps = 0
        self.total: int | None = None
        self.moved = threading.Condition()

    def __call__(
        self, iterable: Iterable[T], total: int, **options: Any
    ) -> Iterator[T]:
        self.total = total
        for item in iterable:
            yield item
            with self.moved:
                self.steps += 1
                self.moved.notify_all()

    def wait_for(self, steps: int) -> None:
        with self.moved:
            assert self.moved.wait_for(lambda: self.steps == steps, SHORT_TIMEOUT), (
                f'the bar stayed at {self.steps}, never reached {steps}'
            )


@pytest.fixture(params=['threadpool', 'asyncio'])
def concurrent_client(request: pytest.FixtureRequest) -> ModuleType:
    """The two clients that have several requests in flight."""
    return importlib.import_module(f'flags2_{request.param}')


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C33')
def test_the_bar_advances_as_each_download_completes_in_any_order(
    concurrent_client: ModuleType,
    respx_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Each download that ends moves the bar one step at once: the last code, answered
    first, is counted before the first code is answered."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'downloaded').mkdir()
    bar = Bar()
    monkeypatch.setattr(concurrent_client, 'tqdm', bar)
    answered: list[str] = []

    def code_of(request: httpx.Request) -> str:
        return request.url.path.split('/')[-2].upper()  # /ad/ad.gif -> AD

    def answer(request: httpx.Request) -> httpx.Response:
        cc = code_of(request)
        bar.wait_for(len(CODES) - 1 - CODES.index(cc))  # the later codes first
        answered.append(cc)
        return httpx.Response(200, content=b'GIF89a' + cc.encode())

    async def answer_async(request: httpx.Request) -> httpx.Response:
        cc = code_of(request)
        await asyncio.to_thread(bar.wait_for, len(CODES) - 1 - CODES.index(cc))
        answered.append(cc)
        return httpx.Response(200, content=b'GIF89a' + cc.encode())

    is_async = concurrent_client.__name__ == 'flags2_asyncio'
    respx_mock.route(host='flags.test').mock(
        side_effect=answer_async if is_async else answer
    )
    counter: Counter[Outcome] = Counter()

    concurrent_client.download_many(CODES, BASE, False, len(CODES), counter)

    assert answered == CODES[::-1]
    assert (bar.total, bar.steps) == (len(CODES), len(CODES))
    assert counter == Counter({Outcome(DownloadStatus.OK): len(CODES)})
