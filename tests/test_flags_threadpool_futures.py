"""Launching processes with concurrent.futures: one ``download_many`` for every pool.

flags_threadpool_futures.py runs the same ``submit`` / ``as_completed`` code on the
executor its command line picks: threads by default, ``--processes`` for a
``ProcessPoolExecutor`` and, on Python 3.14, ``--interpreters`` for an
``InterpreterPoolExecutor``. All of them implement ``Executor``, so all of them give
the same results.

The lesson of the process variant: a respx mock patches httpx in the process that set
it up, and nowhere else. Threads share that process and see the mock; a worker process
started by spawn imports httpx afresh, unpatched, and makes real requests. So the
runs on processes and interpreters go to the local flag server (slow_server.py), and
results and exceptions must survive pickling on the way back: ``download_support``
teaches pickle to carry ``httpx.HTTPStatusError``.
"""

from __future__ import annotations

import functools
import io
import multiprocessing
import pickle
import platform
import re
import sys
from concurrent import futures
from contextlib import redirect_stdout
from pathlib import Path

import httpx
import pytest
import respx

import flags
import flags_threadpool_futures as script
from flag_images import flag_gif
from flags_threadpool import download_one
from harness import FlagServer, stop
from tests.support import (
    BASE,
    CHAPTER,
    ENDINGS,
    Holding,
    Transcript,
    end_by,
    needs_python,
    nothing_left,
    older_python,
    run_as_main,
    run_script,
    start_script,
    status_of,
)

SCRIPT = CHAPTER / 'flags_threadpool_futures.py'
CODES = ['BR', 'CN', 'IN']
# A future may be pending, running or even finished when its Scheduled line is printed.
SCHEDULED = re.compile(r'Scheduled for (\w\w): <Future at (0x[0-9a-f]+) state=[^>]+>')
RESULT = re.compile(
    r"<Future at (0x[0-9a-f]+) state=finished returned str> result: '(\w\w)'"
)
REPORT = re.compile(r'\n20 downloads in \d+\.\d\ds\n\Z')
POOL_CLASSES = {  # what each option of the command line should run on
    'threads': 'ThreadPoolExecutor',
    'processes': 'ProcessPoolExecutor',
    'interpreters': 'InterpreterPoolExecutor',
}


def assert_one_result_per_scheduled_future(out: str, codes: list[str]) -> None:
    """Each code is scheduled in sorted order, and each future's result is printed."""
    scheduled = SCHEDULED.findall(out)
    results = [(cc, address) for address, cc in RESULT.findall(out)]
    assert [cc for cc, _ in scheduled] == sorted(codes)
    assert sorted(results) == sorted(scheduled)


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C16', 'C17')
def test_download_many_prints_each_scheduled_future_and_each_result_as_it_comes(
    respx_mock: respx.MockRouter, flags_here: Path
) -> None:
    """Results print as futures finish: IN's before that of BR, scheduled first."""
    transcript = Transcript()

    def respond(request: httpx.Request, cc: str) -> httpx.Response:
        # BR waits for IN's result line. as_completed gets there; map would wait for BR.
        if cc == 'BR':
            transcript.wait_for("result: 'IN'")
        return httpx.Response(200, content=cc.encode())

    for cc in CODES:
        route = respx_mock.get(f'/{cc.lower()}/{cc.lower()}.gif')
        route.mock(side_effect=functools.partial(respond, cc=cc))

    with redirect_stdout(transcript):
        count = script.download_many(['IN', 'BR', 'CN'])

    out = transcript.getvalue()
    assert count == 3
    assert_one_result_per_scheduled_future(out, CODES)
    finishing_order = [cc for _, cc in RESULT.findall(out)]
    assert finishing_order.index('IN') < finishing_order.index('BR')
    assert {path.name for path in flags_here.iterdir()} == {
        'BR.gif',
        'CN.gif',
        'IN.gif',
    }


@pytest.mark.claims('C20')
def test_the_executors_are_threads_then_processes() -> None:
    """EXECUTORS names each pool the command line offers, threads (the default)
    first, and each pool has three workers."""
    assert list(script.EXECUTORS.items())[:2] == [
        ('threads', futures.ThreadPoolExecutor),
        ('processes', futures.ProcessPoolExecutor),
    ]
    assert script.MAX_WORKERS == 3


@needs_python(3, 14)
def test_python_3_14_adds_interpreters_to_the_executors() -> None:
    """From Python 3.14 on, InterpreterPoolExecutor is the third kind of pool."""
    pool_class = futures.InterpreterPoolExecutor  # type: ignore[attr-defined]
    assert list(script.EXECUTORS) == ['threads', 'processes', 'interpreters']
    assert script.EXECUTORS['interpreters'] is pool_class


@pytest.mark.parametrize(
    ('argv', 'kind'),
    [
        pytest.param([], 'threads', id='no-option'),
        pytest.param(['--processes'], 'processes', id='processes'),
        pytest.param(
            ['--interpreters'], 'interpreters', id='interpreters',
            marks=needs_python(3, 14),
        ),
    ],
)  # fmt: skip
@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C20')
def test_the_command_line_picks_the_pool_that_runs_the_downloads(
    argv: list[str],
    kind: str,
    respx_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    in_tmp: Path,
) -> None:
    """Each option runs the 20 downloads on its own kind of pool, of three workers,
    and the script reports them alike, into ./downloaded."""
    # Thread pools that note what they stand for replace the three classes, so the
    # script builds EXECUTORS from them and respx answers every worker.
    made: list[tuple[str, int | None]] = []

    def stand_in(name: str) -> type[futures.Executor]:
        class StandIn(futures.ThreadPoolExecutor):
            def __init__(self, max_workers: int | None = None) -> None:
                made.append((name, max_workers))
                super().__init__(max_workers)

        return StandIn

    # All made before any is patched in: each is a real ThreadPoolExecutor.
    stand_ins = {name: stand_in(name) for name in POOL_CLASSES.values()}
    for name, pool_class in stand_ins.items():
        if hasattr(futures, name):
            monkeypatch.setattr(futures, name, pool_class)
    for cc in flags.POP20_CC:
        respx_mock.get(f'/{cc.lower()}/{cc.lower()}.gif').respond(content=cc.encode())
    monkeypatch.setattr(flags, 'BASE_URL', BASE)
    monkeypatch.setattr(flags, 'DEST_DIR', Path('downloaded'))  # under in_tmp

    assert run_as_main(SCRIPT.name, *argv, monkeypatch=monkeypatch) is None

    out, err = capsys.readouterr()
    assert made == [(POOL_CLASSES[kind], 3)]
    assert_one_result_per_scheduled_future(out, flags.POP20_CC)
    assert REPORT.search(out)
    assert err == ''
    saved = {path.stem: path.read_bytes() for path in (in_tmp / 'downloaded').iterdir()}
    assert saved == {cc: cc.encode() for cc in flags.POP20_CC}


def test_h_names_the_pool_of_each_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    """-h shows --processes (and on 3.14 --interpreters), with the class it runs."""
    status = run_as_main(SCRIPT.name, '-h', monkeypatch=monkeypatch)

    out, err = capsys.readouterr()
    help_text = ' '.join(out.split())  # argparse wraps lines as the terminal allows
    assert (status, err) == (0, '')
    assert '--processes use ProcessPoolExecutor instead of threads' in help_text
    has_interpreters = '--interpreters use InterpreterPoolExecutor' in help_text
    assert has_interpreters == (sys.version_info >= (3, 14))
    assert list(in_tmp.iterdir()) == []


@pytest.mark.parametrize(
    ('argv', 'message'),
    [
        pytest.param(
            ['--bogus'], 'unrecognized arguments: --bogus', id='unknown-option'
        ),
        pytest.param(
            ['--processes', '--interpreters'],
            'argument --interpreters: not allowed with argument --processes',
            id='two-pools',
            marks=needs_python(3, 14),
        ),
        pytest.param(
            ['--interpreters'],
            'argument --interpreters: needs Python 3.14 or newer; this is Python'
            f' {platform.python_version()}',
            id='interpreters-before-3.14',
            marks=older_python(3, 14),
        ),
    ],
)
def test_a_bad_command_line_is_a_usage_error_with_status_2(
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    in_tmp: Path,
) -> None:
    """A bad option, two pools at once, or before Python 3.14 the interpreters it
    lacks, gets the usage and argparse's one error line, status 2, and no
    download."""
    status = run_as_main(SCRIPT.name, *argv, monkeypatch=monkeypatch)

    out, err = capsys.readouterr()
    assert (status, out) == (2, '')
    assert err.startswith(f'usage: {SCRIPT.name} [-h]')
    assert err.endswith(f'{SCRIPT.name}: error: {message}\n')
    assert list(in_tmp.iterdir()) == []


def status_error(url: str) -> httpx.HTTPStatusError:
    request = httpx.Request('GET', url)
    response = httpx.Response(404, request=request)
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        return exc
    raise AssertionError('raise_for_status let a 404 pass')


@pytest.mark.claims('C24')
def test_plain_pickle_cannot_bring_an_http_status_error_back() -> None:
    """Its constructor has required keyword-only arguments, so a 404 raised in a
    worker process could not travel back without help."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.dispatch_table = {}  # pickle's defaults, without download_support's help
    pickler.dump(status_error(f'{BASE}/zz/zz.gif'))

    with pytest.raises(TypeError, match='keyword-only'):
        pickle.loads(buffer.getvalue())


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C24')
def test_a_404_of_download_one_survives_pickling(
    respx_mock: respx.MockRouter, flags_here: Path
) -> None:
    """With download_support imported, the HTTPStatusError of a 404 makes the trip
    whole: its type, its message, its request and its response."""
    respx_mock.get('/zz/zz.gif').respond(404)

    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        download_one('ZZ')

    error = excinfo.value
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is httpx.HTTPStatusError
    assert str(copy) == str(error)
    assert f"'404 Not Found' for url '{BASE}/zz/zz.gif'" in str(copy)
    assert copy.request.url == f'{BASE}/zz/zz.gif'
    assert copy.response.status_code == 404


@pytest.mark.respx
@pytest.mark.claims('C19')
def test_a_respx_mock_reaches_threads_but_not_worker_processes(
    respx_mock: respx.MockRouter,
    flag_server: FlagServer,
    monkeypatch: pytest.MonkeyPatch,
    in_tmp: Path,
) -> None:
    """The same URL, mocked here: threads get the mock, processes the real server."""
    route = respx_mock.get(f'{flag_server.base_url}/cn/cn.gif').respond(content=b'mock')
    # A spawned worker imports flags afresh: it reads FLAGS_BASE_URL from the
    # environment it inherits, and saves under the working directory, as the script's
    # workers do. (forkserver, the default from 3.14, may have started before this.)
    monkeypatch.setenv('FLAGS_BASE_URL', flag_server.base_url)
    monkeypatch.setattr(flags, 'BASE_URL', flag_server.base_url)
    spawn_pool = functools.partial(
        futures.ProcessPoolExecutor, mp_context=multiprocessing.get_context('spawn')
    )
    monkeypatch.setitem(script.EXECUTORS, 'processes', spawn_pool)
    mark = flag_server.mark()
    saved = {}
    for kind in ['threads', 'processes']:
        folder = in_tmp / kind
        (folder / 'downloaded').mkdir(parents=True)
        monkeypatch.chdir(folder)
        monkeypatch.setattr(flags, 'DEST_DIR', Path('downloaded'))
        script.download_many(['CN'], kind=kind)
        saved[kind] = (folder / 'downloaded' / 'CN.gif').read_bytes()

    assert saved == {'threads': b'mock', 'processes': flag_gif('CN')}
    assert route.call_count == 1  # the thread's request
    [request] = flag_server.requests(at_least=1, since=mark)  # the process's
    assert request.path == '/flags/cn/cn.gif'


@pytest.mark.parametrize(
    'kind',
    [
        pytest.param('processes', id='processes'),
        pytest.param('interpreters', id='interpreters', marks=needs_python(3, 14)),
    ],
)
@pytest.mark.claims('C20')
def test_the_script_downloads_every_flag_with_workers_of_each_kind(
    kind: str, flag_server: FlagServer, tmp_path: Path
) -> None:
    """Run elsewhere with --processes or --interpreters, it saves the 20 flags in
    ./downloaded, each fetched once by a worker, and reports as with threads."""
    mark = flag_server.mark()
    env = {'FLAGS_BASE_URL': flag_server.base_url}
    done = run_script(SCRIPT.name, f'--{kind}', cwd=tmp_path, env=env)

    assert (done.returncode, done.stderr) == (0, '')
    assert_one_result_per_scheduled_future(done.stdout, flags.POP20_CC)
    assert REPORT.search(done.stdout)
    requests = flag_server.requests(at_least=20, since=mark)
    assert sorted(request.path for request in requests) == sorted(
        f'/flags/{cc}/{cc}.gif' for cc in map(str.lower, flags.POP20_CC)
    )
    saved = {
        path.stem: path.read_bytes() for path in (tmp_path / 'downloaded').iterdir()
    }
    assert saved == {cc: flag_gif(cc) for cc in flags.POP20_CC}


@pytest.mark.claims('C24')
def test_a_404_in_a_worker_process_ends_the_script_with_exactly_one_line(
    flag_server: FlagServer, tmp_path: Path
) -> None:
    """A failed download in a worker process travels back as the HTTPStatusError it
    was, and is reported like any other: one line on stderr, status 1."""
    base_url = f'{flag_server.base_url}/nowhere'
    env = {'FLAGS_BASE_URL': base_url}
    done = run_script(SCRIPT.name, '--processes', cwd=tmp_path, env=env)

    assert done.returncode == 1, done.stderr
    assert re.fullmatch(
        r"\n\*\*\* Download failed: HTTPStatusError: Client error '404 Not Found' "
        rf"for url '{re.escape(base_url)}/(\w\w)/\1\.gif'\n",
        done.stderr,
    ), done.stderr
    assert list((tmp_path / 'downloaded').iterdir()) == []


@pytest.mark.parametrize('ending', ENDINGS[::2])  # Ctrl-C twice: see flags_threadpool
@pytest.mark.parametrize(
    'options',
    [
        pytest.param([], id='threads'),
        pytest.param(['--processes'], id='processes'),
        pytest.param(['--interpreters'], id='interpreters', marks=needs_python(3, 14)),
    ],
)
def test_the_script_stops_at_once_on_every_kind_of_pool(
    options: list[str], ending: str, tmp_path: Path
) -> None:
    """Ctrl-C or SIGTERM while the three running downloads wait for the server and
    17 are pending: the report, status 130 or 143, at once, on every
    kind of pool; no pending download starts, and no worker outlives the run."""
    with Holding() as server:
        env = {'FLAGS_BASE_URL': server.base_url}
        child, out, err = start_script(SCRIPT.name, *options, cwd=tmp_path, env=env)
        try:
            server.wait_for_held(script.MAX_WORKERS)
            status = end_by(ending, child)
            left = nothing_left(child)
        finally:
            stop(child)
        asked = server.held
    assert (status, err.text()) == (
        status_of(ending),
        '\n*** Interrupted: the flags above were saved.\n',
    )
    assert asked == script.MAX_WORKERS
    scheduled = [m[1] for m in map(SCHEDULED.fullmatch, out.text().splitlines()) if m]
    assert scheduled == sorted(flags.POP20_CC)
    assert list((tmp_path / 'downloaded').iterdir()) == []
    assert left == []
