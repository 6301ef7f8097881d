"""Downloads with progress display and error handling: real runs on slow_server.py.

What counts here happens below httpx's API, where respx cannot reach: connections, the
server's own log, timeouts on a socket that never answers, signals and files. The
server is chapter20/slow_server.py: the session's ``flag_server`` (no delay, no errors)
where a run only needs flags, a seeded one that fails some requests with 418, and
one that never answers in time; for the endings of a run, ``Holding`` (tests/support.py)
answers two requests and holds the others open. The clients run in this process
through their ``main``, except where the process boundary is the point: Ctrl-C,
SIGTERM, a closed pipe, their report and exit status.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

import harness
from harness import FlagServer
from tests.support import (
    ENDINGS,
    EXIT_CLOSED_PIPE,
    EXIT_INTERRUPTED,
    LONG_TIMEOUT,
    Holding,
    ctrl_c,
    end_by,
    nothing_left,
    run_flags2_main,
    run_into_head,
    start_script,
    status_of,
)

# slow_server.py --delay 0:10 --seed 8010 draws these delays for the first request of
# each code: each of these is answered after 7 s or more, when the client (timeout
# 6.1 s) has long given up. Each test asks for codes of its own, so the tests can share
# one server in any order.
UNANSWERED = {
    'flags2_sequential': ['IS', 'IT', 'LB'],
    'flags2_threadpool': ['MR', 'MU', 'NE'],
    'flags2_asyncio': ['NZ', 'RW', 'SN'],
}
# --seed 4 --error-rate 0.3 gives all three answers among the codes of each letter.
ERROR_LETTER = {
    'flags2_sequential': 'a',
    'flags2_threadpool': 'b',
    'flags2_asyncio': 'c',
}


@pytest.fixture(autouse=True)
def _in_tmp(in_tmp: Path) -> None:
    """Every run saves into ./downloaded of a fresh working directory."""


@pytest.fixture(scope='module')
def error_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlagServer]:
    """A server that fails 30 % of the requests with 418, the same ones on every run."""
    cwd = tmp_path_factory.mktemp('error_server')
    with FlagServer('--error-rate', '0.3', '--seed', '4', cwd=cwd) as server:
        yield server


@pytest.fixture(scope='module')
def stalling_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlagServer]:
    """A server that answers the codes of UNANSWERED only after the client's timeout."""
    cwd = tmp_path_factory.mktemp('stalling_server')
    with FlagServer('--delay', '0:10', '--seed', '8010', cwd=cwd) as server:
        yield server


def report_lines(out: str) -> list[str]:
    """The final report without its elapsed time: OK, not found and errors."""
    lines = out.splitlines()
    assert re.fullmatch(r'Elapsed time: \d+\.\d\ds', lines[-1]), lines[-5:]
    assert lines[-5] == '-' * 20
    return lines[-4:-1]


def codes(requests: list[harness.Request], status: int) -> set[str]:
    return {r.path.split('/')[2].upper() for r in requests if r.status == status}


# --- Against slow_server.py -----------------------------------------------------------


@pytest.mark.claims('C31', 'C33')
def test_each_client_downloads_from_the_local_server_with_a_progress_bar(
    client: ModuleType,
    flag_server: FlagServer,
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's run: a server in one shell, a client in another, a progress bar
    while it runs, a report at the end, one request per code."""
    mark = flag_server.mark()

    status = run_flags2_main(client, '-s', flag_server.base_url, 'c')

    out, err = capsys.readouterr()
    assert status == 0, out + err
    assert report_lines(out) == ['15 flags downloaded.', '11 not found.', '0 errors.']
    assert '26/26' in err
    assert len(list((in_tmp / 'downloaded').glob('C?.gif'))) == 15
    logged = Counter(r.status for r in flag_server.requests(at_least=26, since=mark))
    assert logged == Counter({200: 15, 404: 11})


@pytest.mark.claims('C32')
def test_counts_equal_what_a_seeded_error_server_logged(
    client: ModuleType, error_server: FlagServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """OK, not found and errors are exactly the 200, 404 and 418 answers the server
    logged, one request per code; the error lines name the codes that got 418, and
    the report names the cause."""
    letter = ERROR_LETTER[client.__name__]  # a code asked for twice might not fail
    mark = error_server.mark()

    status = run_flags2_main(client, '-v', '-s', error_server.base_url, letter)

    log = error_server.requests(at_least=26, since=mark)
    logged = Counter(request.status for request in log)
    assert len(log) == 26
    assert min(logged[200], logged[404], logged[418]) > 0  # the seed gives all three
    out = capsys.readouterr().out
    assert report_lines(out) == [
        f'{logged[200]} flags downloaded.',
        f'{logged[404]} not found.',
        f'{logged[418]} errors: HTTP 418 ({logged[418]}).',
    ]
    error_lines = {line.split()[0] for line in out.splitlines() if ' error: ' in line}
    assert error_lines == codes(log, 418)
    assert status == 1


@pytest.mark.claims('C31')
def test_saved_files_hold_exactly_the_bytes_the_server_serves(
    client: ModuleType, flag_server: FlagServer, in_tmp: Path
) -> None:
    """Each flag is saved as CC.gif in ./downloaded; a code not found saves nothing."""
    codes = ['BR', 'CN', 'US', 'ZZ']

    assert run_flags2_main(client, '-s', flag_server.base_url, *codes) == 0

    saved = {p.name: p.read_bytes() for p in (in_tmp / 'downloaded').iterdir()}
    with httpx.Client() as http:
        served = {
            f'{cc}.gif': http.get(f'{flag_server.base_url}/{cc}/{cc}.gif'.lower())
            for cc in codes
        }
    assert saved == {
        name: resp.content for name, resp in served.items() if resp.status_code == 200
    }
    assert sorted(saved) == ['BR.gif', 'CN.gif', 'US.gif']


@pytest.mark.parametrize('client', ['threadpool', 'asyncio'], indirect=True)
@pytest.mark.claims('C34')
def test_over_a_hundred_requests_at_once_download_without_an_error(
    client: ModuleType, flag_server: FlagServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """-m 1000, capped at the number of codes: 101 requests at once, and not one fails
    (the book's asyncio client fails most requests above 100). With -e it would be 676
    at once; 101 keeps the test short."""
    mark = flag_server.mark()
    argv = ['-a', '-l', '101', '-m', '1000', '-s', flag_server.base_url]

    assert run_flags2_main(client, *argv) == 0

    out = capsys.readouterr().out
    assert '101 concurrent connections will be used.' in out
    assert report_lines(out) == ['101 flags downloaded.', '0 not found.', '0 errors.']
    logged = flag_server.requests(at_least=101, since=mark)
    assert Counter(r.status for r in logged) == Counter({200: 101})


@pytest.mark.claims('C32')
def test_a_server_that_never_answers_makes_every_request_an_error(
    client: ModuleType,
    stalling_server: FlagServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each request ends by its timeout (6.1 s, shortened here) and counts ERROR; the
    run ends with exit status 1, and the report says why: ReadTimeout."""
    monkeypatch.setattr(
        client, 'TIMEOUT', httpx.Timeout(LONG_TIMEOUT, read=0.05, pool=None)
    )
    codes = UNANSWERED[client.__name__]

    status = run_flags2_main(client, '-v', '-s', stalling_server.base_url, *codes)

    out = capsys.readouterr().out
    assert report_lines(out) == [
        '0 flags downloaded.',
        '0 not found.',
        '3 errors: ReadTimeout (3).',
    ]
    # The message of a ReadTimeout is 'timed out' with threads, empty with asyncio.
    errors = sorted(line for line in out.splitlines() if ' error: ' in line)
    assert [line.split(':')[0:2] for line in errors] == [
        [f'{cc} error', ' ReadTimeout'] for cc in codes
    ]
    assert status == 1


# --- Endings ------------------------------------------------------------------------


# The clients' default concurrency, and so how many requests a run holds at once
# once two of its 20 codes are answered: one at a time, all 18 left, or 5.
HELD = {'sequential': 1, 'threadpool': 18, 'asyncio': 5}


def two_counted(lines: list[str]) -> bool:
    """With -v a client prints a code's line once it has counted it."""
    return sum(line.endswith(' OK') for line in lines) == 2


@pytest.mark.parametrize('ending', ENDINGS)
@pytest.mark.parametrize('script', list(HELD))
def test_ending_a_run_with_requests_pending_reports_the_counts_so_far(
    script: str, ending: str, in_tmp: Path
) -> None:
    """Ctrl-C (once or twice) or SIGTERM while requests hang, in a real run of the 20
    codes at the client's default concurrency: the run stops at once, without waiting
    for them, reports the counts so far on stdout, says on stderr what it left and
    nothing else (no traceback, no warning, no resource_tracker line), and exits with
    130 or 143; only complete flags are on disk, no temporary file, no process."""
    with Holding(answered=2) as server:
        argv = ['-v', '-s', server.base_url]
        child, out, err = start_script(f'flags2_{script}.py', *argv, cwd=in_tmp)
        try:
            assert out.wait_until(two_counted, LONG_TIMEOUT), err.lines
            server.wait_for_held(HELD[script])
            status = end_by(ending, child)
            stdout, stderr = out.text(), err.text()
            left = nothing_left(child)
        finally:
            harness.stop(child)  # after reading all it printed: this closes the pipes

    assert status == status_of(ending), stderr
    assert stderr == '*** Interrupted: 18 of 20 codes were not searched.\n'
    lines = stdout.splitlines()
    assert lines[1] == 'Searching for 20 flags: from BD to VN'
    assert lines[-5:-1] == [
        '-' * 20,
        '2 flags downloaded.',
        '0 not found.',
        '0 errors.',
    ]
    assert re.fullmatch(r'Elapsed time: \d+\.\d\ds', lines[-1])
    downloaded = sorted(
        f'{line.split()[0]}.gif' for line in lines if line.endswith(' OK')
    )
    saved = sorted(p.name for p in (in_tmp / 'downloaded').iterdir())
    assert saved == downloaded
    assert left == []


def test_lines_shown_before_ctrl_c_reach_a_piped_stdout(in_tmp: Path) -> None:
    """Piped into another program (``| tee log``), stdout is block-buffered: the lines
    a run showed before Ctrl-C, still in its buffer, reach the pipe before the report,
    not lost with the process (the stop's ``os._exit`` flushes nothing itself)."""
    with Holding(answered=2) as server:
        argv = ['-v', '-s', server.base_url]
        child, out, err = start_script(
            'flags2_sequential.py', *argv, cwd=in_tmp, unbuffered=False
        )
        try:
            server.wait_for_held(1)  # the third request: the first two were shown
            assert out.lines == []  # still in the script's buffer
            status = ctrl_c(child)
            lines = out.text().splitlines()
        finally:
            harness.stop(child)

    assert status == EXIT_INTERRUPTED, err.text()
    assert [line for line in lines if line.endswith(' OK')] == ['BD OK', 'BR OK']
    assert lines[-4:-1] == ['2 flags downloaded.', '0 not found.', '0 errors.']


def test_a_closed_stdout_ends_the_run_quietly(
    flag_server_factory: Callable[..., FlagServer], tmp_path: Path
) -> None:
    """``python -u flags2_asyncio.py -a -v | head -3``: once head leaves, the client's
    next line finds the pipe closed; the run ends with status 141 and nothing on
    stderr. (With -u each line reaches the pipe as it is printed, and the server's
    delay keeps lines coming for seconds: a run that wrote all its lines into the
    pipe before head left would end as usual.)"""
    server = flag_server_factory('--delay', '0.1')
    argv = ['-u', 'flags2_asyncio.py', '-a', '-v', '-s', server.base_url]
    status, head, err = run_into_head(*argv, lines=3, cwd=tmp_path)
    assert (status, err) == (EXIT_CLOSED_PIPE, '')
    assert head.splitlines()[1:] == [
        'Searching for 194 flags: from AD to ZW',
        '5 concurrent connections will be used.',
    ]
