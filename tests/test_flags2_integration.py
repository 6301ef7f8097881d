"""The flags2 clients against real servers on 127.0.0.1: no mocks.

What counts here happens below httpx's API, where respx cannot reach: connections, the
server's own log, timeouts on a socket that never answers, signals and files. The flag
server is chapter20/slow_server.py, started by the ``flag_server_factory`` fixture on a
free port; the tests that need requests to hang until they say so use a small stalling
server defined here, so Ctrl-C comes at a moment the test knows, not after a sleep.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.flag_site import CHAPTER, WAIT_TIMEOUT
from tests.server_process import RunningServer

APPROACHES = ['sequential', 'threadpool', 'asyncio']
SCRIPT_TIMEOUT = 60  # seconds for a client run as a subprocess; only a bug gets near it
PROMPT = 1.0  # seconds within which Ctrl-C must end a run
REPORT = re.compile(
    r'(\d+) flags? downloaded\.\n(\d+) not found\.\n(\d+) errors?\.\n'
    r'Elapsed time: \d+\.\d\ds\n'
)

StartServer = Callable[..., RunningServer]


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


def run_client(client: ModuleType, *argv: str) -> int:
    """Run the client's main in this process, as its script does; return the status."""
    with pytest.raises(SystemExit) as exc_info:
        client.main(
            client.download_many, client.DEFAULT_CONCUR_REQ, client.MAX_CONCUR_REQ, argv
        )
    code = exc_info.value.code
    assert isinstance(code, int)
    return code


def counts(out: str) -> tuple[int, int, int]:
    """OK, NOT_FOUND and ERROR from the final report."""
    match = REPORT.search(out)
    assert match, f'no final report in {out!r}'
    ok, not_found, errors = map(int, match.groups())
    return ok, not_found, errors


# --- Against slow_server.py -----------------------------------------------------------


def test_counts_equal_what_a_seeded_error_server_logged(
    client: ModuleType,
    flag_server_factory: StartServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """OK, not found and errors are exactly the 200, 404 and 418 answers the server
    logged, one request per code, and the error lines name the codes that got 418."""
    server = flag_server_factory('--error-rate', '0.3', '--seed', '4')

    status = run_client(client, '-v', '-m', '26', '-s', server.base_url, 'a')

    log = server.requests(at_least=26)
    logged = Counter(request.status for request in log)
    assert len(log) == 26
    assert min(logged[200], logged[404], logged[418]) > 0  # the seed gives all three
    out = capsys.readouterr().out
    assert counts(out) == (logged[200], logged[404], logged[418])
    teapots = {r.path.split('/')[2].upper() for r in log if r.status == 418}
    error_lines = {line.split()[0] for line in out.splitlines() if ' error: ' in line}
    assert error_lines == teapots
    assert status == 1


def test_saved_files_hold_exactly_the_bytes_the_server_serves(
    client: ModuleType, flag_server: RunningServer, tmp_path: Path
) -> None:
    """Each flag is saved as CC.gif in ./downloaded; a code not found saves nothing."""
    codes = ['BR', 'CN', 'US', 'ZZ']

    assert run_client(client, '-s', flag_server.base_url, *codes) == 0

    saved = {p.name: p.read_bytes() for p in (tmp_path / 'downloaded').iterdir()}
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
def test_over_a_hundred_requests_at_once_download_without_an_error(
    client: ModuleType,
    flag_server: RunningServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """-m 1000, capped at the number of codes: 120 requests at once, and not one fails
    (the book's asyncio client fails most requests above 100). With -e it would be 676
    at once; 120 keeps the test short."""
    argv = ['-a', '-l', '120', '-m', '1000', '-s', flag_server.base_url]

    assert run_client(client, *argv) == 0

    out = capsys.readouterr().out
    assert '120 concurrent connections will be used.' in out
    assert counts(out) == (120, 0, 0)


@pytest.mark.parametrize('script', APPROACHES)
def test_each_script_downloads_from_the_flag_server_with_a_progress_bar(
    script: str, flag_server: RunningServer, tmp_path: Path
) -> None:
    """The README's run: a server in one shell, a client in another."""
    command = [sys.executable, str(CHAPTER / f'flags2_{script}.py')]
    result = subprocess.run(
        [*command, '-s', flag_server.base_url, 'c', '-m', '26'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
    )

    assert result.returncode == 0, result.stderr
    assert counts(result.stdout) == (15, 11, 0)
    assert '26/26' in result.stderr
    assert len(list((tmp_path / 'downloaded').glob('C?.gif'))) == 15


# --- A server that accepts and never answers ------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A base URL whose server accepts connections, reads nothing and never answers."""
    listener = socket.create_server(('127.0.0.1', 0), backlog=64)
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                accepted.append(listener.accept()[0])
        except OSError:  # the listener was closed: the test is over
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{listener.getsockname()[1]}/flags'
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(WAIT_TIMEOUT)
        for conn in accepted:
            conn.close()


def test_a_server_that_never_answers_makes_every_request_an_error(
    client: ModuleType,
    silent_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each request ends by its timeout (6.1 s, shortened here) and counts ERROR; the
    run ends, with exit status 1."""
    monkeypatch.setattr(client, 'TIMEOUT', httpx.Timeout(0.1, pool=None))

    status = run_client(client, '-v', '-s', silent_server, 'BR', 'CN', 'US')

    out = capsys.readouterr().out
    assert counts(out) == (0, 0, 3)
    # The message of a ReadTimeout is 'timed out' with threads, empty with asyncio.
    errors = sorted(line for line in out.splitlines() if ' error: ' in line)
    assert [line.split(':')[0:2] for line in errors] == [
        [f'{cc} error', ' ReadTimeout'] for cc in ['BR', 'CN', 'US']
    ]
    assert status == 1


# --- Ctrl-C ---------------------------------------------------------------------------


class StallingServer(ThreadingHTTPServer):
    """Answers the codes in `fast` at once; every other request hangs until `stop()`."""

    daemon_threads = True

    def __init__(self, fast: set[str]) -> None:
        super().__init__(('127.0.0.1', 0), StallingHandler)
        self.fast = fast
        self.stalled: list[str] = []
        self.changed = threading.Condition()
        self.released = threading.Event()
        self.base_url = f'http://127.0.0.1:{self.server_port}/flags'

    def wait_stalled(self, count: int) -> None:
        with self.changed:
            if not self.changed.wait_for(
                lambda: len(self.stalled) >= count, WAIT_TIMEOUT
            ):
                raise TimeoutError(f'{count} requests did not come in {WAIT_TIMEOUT}s.')


class StallingHandler(BaseHTTPRequestHandler):
    server: StallingServer

    def do_GET(self) -> None:
        cc = self.path.rsplit('/', 1)[-1].removesuffix('.gif').upper()
        if cc not in self.server.fast:
            with self.server.changed:
                self.server.stalled.append(cc)
                self.server.changed.notify_all()
            self.server.released.wait(WAIT_TIMEOUT)
            return  # closes the connection without an answer
        body = b'GIF89a' + cc.encode()
        self.send_response(HTTPStatus.OK)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stalling_server() -> Iterator[StallingServer]:
    server = StallingServer(fast={'AD', 'AE'})
    thread = threading.Thread(
        target=server.serve_forever, kwargs={'poll_interval': 0.01}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        thread.join(WAIT_TIMEOUT)


class Output:
    """Collects the lines of a pipe in a thread; the test can wait for one of them."""

    def __init__(self, pipe: Iterator[str]) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe: Iterator[str]) -> None:
        for line in pipe:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def wait_for(self, line: str) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: line in self.lines, WAIT_TIMEOUT):
                raise TimeoutError(f'{line!r} not printed in {WAIT_TIMEOUT}s.')

    def text(self) -> str:
        self.thread.join(WAIT_TIMEOUT)
        return ''.join(self.lines)


@pytest.mark.parametrize(('script', 'stalled'), [
    ('sequential', 1),  # AD, AE, then AF hangs: AG and AL are never asked for
    ('threadpool', 3),  # all five at once: AF, AG and AL hang
    ('asyncio', 3),
])  # fmt: skip
def test_ctrl_c_ends_a_hung_run_at_once_with_the_partial_report_and_status_130(
    script: str, stalled: int, stalling_server: StallingServer, tmp_path: Path
) -> None:
    """SIGINT while requests hang: the run stops within a second, reports the counts so
    far and exits with 130; only complete flags are on disk, no temporary file."""
    codes = ['AD', 'AE', 'AF', 'AG', 'AL']
    command = [sys.executable, '-u', str(CHAPTER / f'flags2_{script}.py')]
    argv = ['-v', '-m', '5', '-s', stalling_server.base_url, *codes]
    with subprocess.Popen(
        [*command, *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stderr is not None
            out, err = Output(proc.stdout), Output(proc.stderr)
            out.wait_for('AD OK\n')  # a line is printed once its flag is counted
            out.wait_for('AE OK\n')
            stalling_server.wait_stalled(stalled)

            t0 = time.perf_counter()
            proc.send_signal(signal.SIGINT)
            status = proc.wait(SCRIPT_TIMEOUT)
            elapsed = time.perf_counter() - t0
            stdout, stderr = out.text(), err.text()
        finally:
            proc.kill()  # if a check above failed; the run is over otherwise

    assert status == 130
    assert elapsed < PROMPT
    assert counts(stdout) == (2, 0, 0)
    assert stderr == '*** Interrupted: 3 of 5 codes were not searched.\n'
    assert sorted(p.name for p in (tmp_path / 'downloaded').iterdir()) == [
        'AD.gif',
        'AE.gif',
    ]
