"""Downloading with concurrent.futures: flags_threadpool.py and ``Executor.map``.

Worker threads run ``download_one`` concurrently, so the codes are printed in the order
the downloads finish; ``map`` still hands back the results in the order of its input.
respx answers in this process, so the worker threads see its routes; the script's
``__main__`` block runs here too, with ``runpy``, as ``python flags_threadpool.py``.
"""

from __future__ import annotations

import io
import os
import re
from concurrent import futures
from contextlib import redirect_stdout
from pathlib import Path

import httpx
import pytest
import respx

import flags
import flags_threadpool
from harness import stop
from tests.support import (
    BASE,
    ENDINGS,
    Holding,
    Transcript,
    end_by,
    nothing_left,
    run_as_main,
    start_script,
    status_of,
)

CODES = ['BR', 'CN', 'IN']  # sorted, as download_many submits them
# ThreadPoolExecutor's default size, here as in the script (test_executor_defaults.py).
THREADS = min(32, (getattr(os, 'process_cpu_count', os.cpu_count)() or 1) + 4)


@pytest.fixture(autouse=True)
def _flags_here(flags_here: Path) -> None:
    """flags.py downloads from BASE (answered by respx) into tmp_path."""


def image(cc: str) -> bytes:
    return f'GIF89a-{cc}'.encode()


def serve_in_reverse(respx_mock: respx.MockRouter, transcript: Transcript) -> None:
    """Answer each code once the next one has been printed: the last finishes first."""
    for cc, next_cc in zip(CODES, [*CODES[1:], None], strict=True):

        def respond(
            request: httpx.Request, cc: str = cc, after: str | None = next_cc
        ) -> httpx.Response:
            if after is not None:
                transcript.wait_for(f'{after} ')
            return httpx.Response(200, content=image(cc))

        respx_mock.get(f'/{cc.lower()}/{cc.lower()}.gif').mock(side_effect=respond)


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C07')
def test_download_one_saves_the_flag_prints_the_code_and_returns_it(
    respx_mock: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """download_one is the unit of work each thread runs: fetch, save, print, return."""
    respx_mock.get('/cn/cn.gif').respond(content=image('CN'))

    assert flags_threadpool.download_one('CN') == 'CN'
    assert capsys.readouterr().out == 'CN '
    assert (tmp_path / 'CN.gif').read_bytes() == image('CN')


@pytest.mark.respx(base_url=BASE)
def test_download_one_shows_its_code_as_soon_as_the_flag_is_saved(
    respx_mock: respx.MockRouter,
) -> None:
    """Each code reaches stdout as soon as its flag is saved, even when stdout is a
    pipe (``| tee run.log``), which holds text back until a buffer fills: the codes
    show the downloads finishing, not the end of the run."""
    respx_mock.get('/cn/cn.gif').respond(content=image('CN'))
    pipe = io.BytesIO()
    stdout = io.TextIOWrapper(pipe, encoding='utf-8')  # block-buffered, as a pipe's

    with redirect_stdout(stdout):
        flags_threadpool.download_one('CN')

    assert pipe.getvalue() == b'CN '


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C01', 'C07', 'C08')
def test_download_many_downloads_every_code_once_and_returns_the_count(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """All downloads run at once; they finish, and print, in reverse order here."""
    transcript = Transcript()
    serve_in_reverse(respx_mock, transcript)

    with redirect_stdout(transcript):
        count = flags_threadpool.download_many(['IN', 'BR', 'CN'])

    assert count == 3
    assert transcript.getvalue() == 'IN CN BR '
    assert [route.call_count for route in respx_mock.routes] == [1, 1, 1]
    saved = {path.stem: path.read_bytes() for path in tmp_path.iterdir()}
    assert saved == {cc: image(cc) for cc in CODES}


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C08')
def test_map_returns_the_results_in_input_order_whatever_the_finishing_order(
    respx_mock: respx.MockRouter,
) -> None:
    """The codes print in finishing order, but map yields results in input order."""
    transcript = Transcript()
    serve_in_reverse(respx_mock, transcript)

    with redirect_stdout(transcript), futures.ThreadPoolExecutor(3) as executor:
        results = list(executor.map(flags_threadpool.download_one, CODES))

    assert transcript.getvalue() == 'IN CN BR '
    assert results == CODES


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C10')
def test_download_many_raises_the_error_of_a_failed_download(
    respx_mock: respx.MockRouter,
) -> None:
    """The error of a task is raised when its result is reached, for main to report."""
    respx_mock.get('/br/br.gif').respond(content=image('BR'))
    respx_mock.get('/zz/zz.gif').respond(404)

    with pytest.raises(httpx.HTTPStatusError, match='404 Not Found'):
        flags_threadpool.download_many(['ZZ', 'BR'])


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C07')
def test_the_script_downloads_every_flag_into_the_working_directory(
    respx_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    in_tmp: Path,
) -> None:
    """python flags_threadpool.py saves the 20 flags in ./downloaded, each code
    printed once, and reports the count and the time."""
    for cc in flags.POP20_CC:
        respx_mock.get(f'/{cc.lower()}/{cc.lower()}.gif').respond(content=image(cc))
    monkeypatch.setattr(flags, 'DEST_DIR', Path('downloaded'))  # under in_tmp

    assert run_as_main('flags_threadpool.py', monkeypatch=monkeypatch) is None

    out, err = capsys.readouterr()
    codes, report = out.splitlines()
    assert sorted(codes.split()) == sorted(flags.POP20_CC)
    assert re.fullmatch(r'20 downloads in \d+\.\d\ds', report)
    assert err == ''
    assert [route.call_count for route in respx_mock.routes] == [1] * 20
    saved = {path.stem: path.read_bytes() for path in (in_tmp / 'downloaded').iterdir()}
    assert saved == {cc: image(cc) for cc in flags.POP20_CC}


@pytest.mark.parametrize('ending', ENDINGS)
def test_the_script_stops_at_once_though_downloads_are_pending(
    ending: str, tmp_path: Path
) -> None:
    """Ctrl-C (once or twice) or SIGTERM while every download waits for the server
    ends the run with its report, status 130 or 143: the threads' downloads do not
    end first, and none of the codes still queued is asked for."""
    with Holding() as server:
        env = {'FLAGS_BASE_URL': server.base_url}
        child, out, err = start_script('flags_threadpool.py', cwd=tmp_path, env=env)
        try:
            server.wait_for_held(THREADS)  # each thread waits; 14 codes are queued
            held = server.held
            status = end_by(ending, child)
            left = nothing_left(child)
        finally:
            stop(child)
        asked = server.held
    assert (status, err.text()) == (
        status_of(ending),
        '\n*** Interrupted: the flags above were saved.\n',
    )
    assert (out.text(), asked) == ('', held)
    assert list((tmp_path / 'downloaded').iterdir()) == []
    assert left == []
