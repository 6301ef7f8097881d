"""flags_threadpool_futures.py: one ``download_many`` for threads and for processes.

Both pools implement ``Executor``, so the same ``submit`` / ``as_completed`` code runs
on either; the spec proves they give the same results.

The lesson of the process variant: a respx mock patches httpx in the process that set it
up, and nowhere else. Threads share that process and see the mock. A worker process
started by spawn or forkserver imports httpx afresh, unpatched, and makes real requests;
one started by fork gets a copy of the mock, and the calls it records never come back to
the test. So the process variant is tested against a real server on 127.0.0.1.
"""

from __future__ import annotations

import multiprocessing
import pickle
import re
from collections.abc import Callable
from concurrent import futures
from contextlib import redirect_stdout
from functools import partial
from pathlib import Path

import httpx
import pytest
import respx

import flags
import flags_threadpool_futures as script
from tests.flag_site import CHAPTER, FlagSite, Transcript, run_python

SCRIPT = str(CHAPTER / 'flags_threadpool_futures.py')
BASE = 'https://flags.test/data/flags'  # never resolved: respx answers first
CODES = ['BR', 'CN', 'IN']
# Threads in this test process (pytest-xdist's among them) make fork unsafe: use a
# process pool whose workers start from a clean server process.
forkserver_pool = partial(
    script.process_pool, multiprocessing.get_context('forkserver')
)
POOLS: dict[str, Callable[[], futures.Executor]] = {
    'threads': script.thread_pool,
    'processes': forkserver_pool,
}
# A future may be pending, running or even finished when its Scheduled line is printed.
SCHEDULED = re.compile(r'Scheduled for (\w\w): <Future at (0x[0-9a-f]+) state=[^>]+>')
RESULT = re.compile(
    r"<Future at (0x[0-9a-f]+) state=finished returned str> result: '(\w\w)'"
)


@pytest.mark.respx(base_url=BASE)
def test_download_many_prints_each_scheduled_future_and_each_result_as_it_comes(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Results print as futures finish: IN's before that of BR, scheduled first."""
    monkeypatch.setattr(flags, 'BASE_URL', BASE)
    monkeypatch.setattr(flags, 'DEST_DIR', tmp_path)
    transcript = Transcript()

    def respond(request: httpx.Request, cc: str) -> httpx.Response:
        # BR waits for IN's result line. as_completed gets there; map would wait for BR.
        if cc == 'BR':
            transcript.wait_for("result: 'IN'")
        return httpx.Response(200, content=cc.encode())

    for cc in CODES:
        route = respx_mock.get(f'/{cc.lower()}/{cc.lower()}.gif')
        route.mock(side_effect=partial(respond, cc=cc))

    with redirect_stdout(transcript):
        count = script.download_many(['IN', 'BR', 'CN'])

    out = transcript.getvalue()
    scheduled = SCHEDULED.findall(out)
    results = [(cc, address) for address, cc in RESULT.findall(out)]
    assert count == 3
    assert [cc for cc, _ in scheduled] == CODES
    assert sorted(results) == sorted(scheduled)  # one result line per future
    finishing_order = [cc for cc, _ in results]
    assert finishing_order.index('IN') < finishing_order.index('BR')
    assert {path.name for path in tmp_path.iterdir()} == {'BR.gif', 'CN.gif', 'IN.gif'}


def test_an_http_status_error_cannot_make_the_trip_back_from_a_worker_process() -> None:
    """Results and exceptions travel pickled; HTTPStatusError cannot be unpickled."""
    request = httpx.Request('GET', f'{BASE}/zz/zz.gif')
    error = httpx.HTTPStatusError('404', request=request, response=httpx.Response(404))

    with pytest.raises(TypeError, match='keyword-only'):
        pickle.loads(pickle.dumps(error))


@pytest.mark.respx(base_url=BASE)
def test_download_one_raises_an_error_that_survives_pickling(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """download_one turns an error status into a plain HTTPError with the message."""
    respx_mock.get('/zz/zz.gif').respond(404)
    monkeypatch.setattr(flags, 'BASE_URL', BASE)

    with pytest.raises(httpx.HTTPError) as excinfo:
        script.download_one('ZZ')

    copy = pickle.loads(pickle.dumps(excinfo.value))
    message = str(excinfo.value)
    assert (type(copy), str(copy)) == (httpx.HTTPError, message)
    assert f"'404 Not Found' for url '{BASE}/zz/zz.gif'" in message


def test_threads_and_processes_save_the_same_files_and_count_the_same(
    flag_site: FlagSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both executors run the same download_many to the same end: only speed differs."""
    monkeypatch.setattr(flags, 'BASE_URL', flag_site.base_url)
    outcome = {}
    for kind, pool in POOLS.items():
        monkeypatch.setattr(flags, 'DEST_DIR', tmp_path / kind)
        flags.DEST_DIR.mkdir()
        count = script.download_many(CODES, pool=pool)
        saved = {path.stem: path.read_bytes() for path in flags.DEST_DIR.iterdir()}
        outcome[kind] = (count, saved)

    expected = (3, {cc: flag_site.images[cc] for cc in CODES})
    assert outcome == {'threads': expected, 'processes': expected}


@pytest.mark.respx
def test_a_respx_mock_reaches_threads_but_not_worker_processes(
    respx_mock: respx.MockRouter,
    flag_site: FlagSite,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The same URL, mocked here: threads get the mock, processes the real server."""
    route = respx_mock.get(f'{flag_site.base_url}/cn/cn.gif').respond(content=b'mock')
    monkeypatch.setattr(flags, 'BASE_URL', flag_site.base_url)
    saved = {}
    for kind, pool in POOLS.items():
        monkeypatch.setattr(flags, 'DEST_DIR', tmp_path / kind)
        flags.DEST_DIR.mkdir()
        script.download_many(['CN'], pool=pool)
        saved[kind] = (flags.DEST_DIR / 'CN.gif').read_bytes()

    assert saved == {'threads': b'mock', 'processes': flag_site.images['CN']}
    assert route.call_count == 1  # the thread's request
    assert flag_site.paths == ['/flags/cn/cn.gif']  # the process's request


def test_a_404_in_a_worker_process_is_an_ordinary_http_error(
    flag_site: FlagSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No BrokenProcessPool: the error of the failed download reaches the caller."""
    monkeypatch.setattr(flags, 'BASE_URL', flag_site.base_url)
    monkeypatch.setattr(flags, 'DEST_DIR', tmp_path)

    with pytest.raises(httpx.HTTPError, match=r"'404 Not Found' for url .*/zz/zz\.gif"):
        script.download_many(['ZZ'], pool=forkserver_pool)


def test_the_script_explains_its_option(tmp_path: Path) -> None:
    """-h shows the --processes switch."""
    result = run_python(SCRIPT, '-h', cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, '')
    assert '--processes' in result.stdout
    assert 'ProcessPoolExecutor' in result.stdout


def test_the_script_rejects_an_unknown_option_with_status_2(tmp_path: Path) -> None:
    """A bad option gets the usage and one error line, no traceback, no download."""
    result = run_python(SCRIPT, '--bogus', cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ''
    assert result.stderr.splitlines()[-1].endswith('unrecognized arguments: --bogus')
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'downloaded').exists()


@pytest.mark.parametrize('option', [[], ['--processes']], ids=['threads', 'processes'])
def test_the_script_downloads_every_flag_into_the_working_directory(
    option: list[str], flag_site: FlagSite, tmp_path: Path
) -> None:
    """Run elsewhere, with either executor, it saves the 20 flags in ./downloaded."""
    result = run_python(SCRIPT, *option, cwd=tmp_path, base_url=flag_site.base_url)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ''
    scheduled = SCHEDULED.findall(result.stdout)
    results = [(cc, address) for address, cc in RESULT.findall(result.stdout)]
    assert [cc for cc, _ in scheduled] == sorted(flag_site.images)
    assert sorted(results) == sorted(scheduled)
    assert re.search(r'\n20 downloads in \d+\.\d\ds\n\Z', result.stdout)
    saved = {
        path.stem: path.read_bytes() for path in (tmp_path / 'downloaded').iterdir()
    }
    assert saved == flag_site.images


def test_a_404_in_the_process_variant_ends_the_script_with_one_line(
    flag_site: FlagSite, tmp_path: Path
) -> None:
    """A failed download in a worker process is reported like any other, status 1."""
    base_url = f'{flag_site.base_url}/nowhere'
    result = run_python(SCRIPT, '--processes', cwd=tmp_path, base_url=base_url)

    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert re.fullmatch(
        r"\*\*\* Download failed: HTTPError: Client error '404 Not Found' "
        rf"for url '{re.escape(base_url)}/\w\w/\w\w\.gif'",
        line,
    )
