"""Setting up test servers: slow_server.py, the flag server the flags2 clients meet.

This file documents what chapter20/slow_server.py promises: the exact bytes of every
flag and 404 for any other target, keep-alive, a deep listen backlog, delays that run
side by side, seeded errors, its request log, and its command line. Tests that need
neither options nor a clean log share the session's ``flag_server``; the others start
their own with ``flag_server_factory``. Requests go through raw sockets or http.client,
which send a target exactly as written (a client library would normalise ``..`` away).
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import math
import os
import queue
import re
import resource
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import harness
import slow_server
from flag_images import CODES_FILE, flag_gif
from harness import READY_LINE, FlagServer
from slow_server import LABELS, Behaviour
from tests.support import (
    CHAPTER,
    LONG_TIMEOUT,
    SHORT_TIMEOUT,
    end_by,
    nothing_left,
    raw_get,
    read_response,
    run_script,
    start_script,
    status_of,
)

Factory = Callable[..., FlagServer]
CONNECTIONS = 1000
EXPECT_CONTINUE = (  # the server answers 100 Continue once it has read the request
    b'GET /flags/cn/cn.gif HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n'
)
NO_COLOUR = {'PYTHON_COLORS': '0'}  # Python 3.14's argparse colours a terminal's text


@pytest.fixture(scope='module')
def gifs() -> dict[str, bytes]:
    """Each flag's target, and the bytes flag_images.py draws for it in this process."""
    codes = CODES_FILE.read_text().split()
    return {f'/flags/{cc.lower()}/{cc.lower()}.gif': flag_gif(cc) for cc in codes}


def fetch_all(port: int, paths: list[str]) -> dict[str, bytes]:
    """GET the paths in order on one keep-alive connection; fail if it is replaced."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=SHORT_TIMEOUT)
    conn.connect()
    first_socket, bodies = conn.sock, {}
    with contextlib.closing(conn):
        for path in paths:
            conn.request('GET', path)
            response = conn.getresponse()
            bodies[path] = response.read()
            assert response.status == 200, path
            assert response.getheader('Content-Type') == 'image/gif'
            assert not response.will_close
            assert conn.sock is first_socket
    return bodies


def teapots(port: int, paths: list[str], workers: int = 1) -> Counter[str]:
    """GET each path, workers at a time; count the 418 answers each path got."""
    with ThreadPoolExecutor(workers) as pool:
        statuses = list(pool.map(lambda path: raw_get(port, path)[0], paths))
    assert set(statuses) <= {200, 418}
    return Counter(
        path for path, status in zip(paths, statuses, strict=True) if status == 418
    )


def test_ready_line_names_the_loopback_address_and_the_port_it_chose(
    flag_server: FlagServer,
) -> None:
    """Started on port 0, the server names the free port it chose and serves on it."""
    assert re.fullmatch(r'http://127\.0\.0\.1:\d+/flags', flag_server.base_url)
    assert flag_server.base_url.endswith(f':{flag_server.port}/flags')
    assert flag_server.port != 0
    assert raw_get(flag_server.port, '/flags/cn/cn.gif')[0] == 200


@pytest.mark.skipif(sys.platform != 'linux', reason='Linux routes all of 127/8 here')
def test_server_listens_on_loopback_only_by_default(flag_server: FlagServer) -> None:
    """Bound to 127.0.0.1, not to every interface: 127.0.0.2 finds no listener."""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.2', flag_server.port), SHORT_TIMEOUT)


def test_every_flag_comes_byte_exact_over_one_keep_alive_connection(
    flag_server: FlagServer, gifs: dict[str, bytes]
) -> None:
    """All 194 flags come over one HTTP/1.1 connection, each exactly as drawn here."""
    assert len(gifs) == 194
    assert fetch_all(flag_server.port, sorted(gifs)) == gifs


def test_each_answer_leaves_at_once_without_waiting_for_an_ack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each connection sends its answer without Nagle's delay (TCP_NODELAY): else the
    body, written after the headers, would wait for the client to acknowledge them,
    40 ms with Linux's delayed ACKs, and every flag would take that long."""
    nodelay: queue.Queue[int] = queue.Queue()
    server = slow_server.FlagServer(('127.0.0.1', 0), Behaviour(), 0)
    answer = server.finish_request

    def finish_request(request: Any, client_address: Any) -> None:
        answer(request, client_address)  # answered; the connection is still open
        nodelay.put(request.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(server, 'finish_request', finish_request)
    with server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            assert raw_get(server.server_port, '/flags/cn/cn.gif')[0] == 200
            assert nodelay.get(timeout=SHORT_TIMEOUT) != 0
        finally:
            server.shutdown()


def test_another_server_process_serves_identical_bytes(
    flag_server: FlagServer, flag_server_factory: Factory, gifs: dict[str, bytes]
) -> None:
    """A second server process, with another hash seed, serves the same bytes."""
    other = flag_server_factory()
    paths = sorted(gifs)
    assert fetch_all(other.port, paths) == fetch_all(flag_server.port, paths)


@pytest.mark.parametrize(
    'target',
    [
        pytest.param('/flags/xx/xx.gif', id='unknown-code'),
        pytest.param('/flags/CN/CN.gif', id='upper-case'),
        pytest.param('/flags/cn/br.gif', id='codes-differ'),
        pytest.param('/flags/cn/cn.png', id='other-extension'),
        pytest.param('/flags/cn/cn.gif/', id='trailing-slash'),
        pytest.param('/', id='root'),
        pytest.param('/flags', id='flags-folder'),
        pytest.param('/flags/', id='flags-folder-slash'),
        pytest.param('/flags/cn', id='code-folder'),
        pytest.param('/flags/cn/', id='code-folder-slash'),
        pytest.param('/flags/cn/../cn/cn.gif', id='dot-dot-inside'),
        pytest.param('/flags/../flags/cn/cn.gif', id='dot-dot-out-and-back'),
        pytest.param('/../../../../etc/passwd', id='dot-dot-above-root'),
        pytest.param('/flags/cn/%2e%2e/cn/cn.gif', id='encoded-dot-dot'),
        pytest.param('/flags/%2E%2E/flags/cn/cn.gif', id='encoded-upper-dot-dot'),
        pytest.param('/%2e%2e/%2e%2e/etc/passwd', id='encoded-dot-dot-above-root'),
        pytest.param('/flags/cn/cn%2egif', id='encoded-dot'),
        pytest.param('/flags/c%6e/cn.gif', id='encoded-letter'),
        pytest.param('//flags/cn/cn.gif', id='leading-double-slash'),
        pytest.param('/flags//cn/cn.gif', id='double-slash-after-flags'),
        pytest.param('/flags/cn//cn.gif', id='double-slash-after-code'),
        pytest.param('http://127.0.0.1/flags/cn/cn.gif', id='absolute-url'),
        pytest.param('/flags/cn/cn.gif?download=1', id='query'),
        pytest.param('/flags/cn/cn.gif#top', id='fragment'),
        pytest.param('/flags/cn/cn.gif%00', id='encoded-nul'),
        pytest.param('/etc/passwd', id='system-file'),
        pytest.param('/country_codes.txt', id='codes-file'),
        pytest.param('/slow_server.py', id='own-source'),
        pytest.param('/flags/country_codes.txt', id='codes-file-under-flags'),
        pytest.param('*', id='asterisk'),
    ],
)
def test_anything_but_a_flag_target_gets_404(
    flag_server: FlagServer, target: str
) -> None:
    """Only /flags/<cc>/<cc>.gif exists: no normalising, no files, no listings."""
    assert raw_get(flag_server.port, target) == (404, b'404 Not Found\n')


@pytest.fixture
def open_files_for_connections() -> Iterator[None]:
    """Raise this process's limit on open files; a server started now inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = CONNECTIONS + 200  # the sockets, and what pytest or the server holds
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f'needs {needed} open files; the hard limit is {hard}')
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.skipif(sys.platform != 'linux', reason='Linux lets a backlog reach 1000')
@pytest.mark.usefixtures('open_files_for_connections')
def test_thousand_connections_wait_in_the_backlog_and_all_get_their_flag(
    flag_server_factory: Factory, gifs: dict[str, bytes]
) -> None:
    """1,000 connections made while the server is frozen wait in its backlog, not 5."""
    if int(Path('/proc/sys/net/core/somaxconn').read_text()) < CONNECTIONS:
        pytest.skip('net.core.somaxconn caps every backlog below 1000 on this machine')
    server = flag_server_factory()
    paths = [sorted(gifs)[n % len(gifs)] for n in range(CONNECTIONS)]
    with contextlib.ExitStack() as stack:
        # Stopped, the server accepts nothing: only the kernel's queue holds them.
        server.process.send_signal(signal.SIGSTOP)
        stack.callback(server.process.send_signal, signal.SIGCONT)
        sockets = []
        for path in paths:
            address = ('127.0.0.1', server.port)
            sock = stack.enter_context(socket.create_connection(address, SHORT_TIMEOUT))
            sock.sendall(f'GET {path} HTTP/1.1\r\nHost: x\r\n\r\n'.encode())
            sockets.append(sock)
        server.process.send_signal(signal.SIGCONT)
        received = [read_response(sock) for sock in sockets]
    assert received == [(200, gifs[path]) for path in paths]


def test_client_hanging_up_mid_response_leaves_the_server_quiet_and_serving(
    flag_server_factory: Factory,
) -> None:
    """A reset connection costs its own answer only: no traceback, and no harm done."""
    server = flag_server_factory('--delay', '0.05')
    with socket.create_connection(('127.0.0.1', server.port), SHORT_TIMEOUT) as sock:
        sock.sendall(EXPECT_CONTINUE)
        assert sock.recv(100).startswith(b'HTTP/1.1 100 Continue')  # in its delay now
        # Linger 0: close sends a reset, so the answer meets a dead connection.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    # The failed write follows its log line at once; the next answer waits 0.05 s.
    assert server.requests(at_least=1)[0].path == '/flags/cn/cn.gif'
    assert raw_get(server.port, '/flags/br/br.gif')[0] == 200
    assert server.requests(at_least=2)[1].path == '/flags/br/br.gif'
    assert server.process.poll() is None
    assert len(server.stderr_lines()) == 2, server.stderr_lines()


def test_delays_of_many_requests_run_at_the_same_time(
    flag_server_factory: Factory,
) -> None:
    """20 connections all hear 100 Continue while none is answered: 20 waits at once."""
    server = flag_server_factory('--delay', '30')
    with contextlib.ExitStack() as stack:
        address = ('127.0.0.1', server.port)
        sockets = [
            stack.enter_context(socket.create_connection(address, SHORT_TIMEOUT))
            for _ in range(20)
        ]
        for sock in sockets:
            sock.sendall(EXPECT_CONTINUE)
        # A server that waited one delay after the other would not read the second.
        replies = [sock.recv(100) for sock in sockets]
    assert replies == [b'HTTP/1.1 100 Continue\r\n\r\n'] * 20
    assert server.requests() == []  # none answered; the fixture stops the server


def test_seeded_errors_fall_on_the_same_requests_in_any_arrival_order(
    flag_server_factory: Factory, gifs: dict[str, bytes]
) -> None:
    """With --seed, the nth request of a path fails or not whatever the order."""
    options = ('--error-rate', '0.5', '--seed', '7')
    paths = sorted(gifs)[:20] * 2  # each path twice: its first and its second request
    in_order = teapots(flag_server_factory(*options).port, paths)
    shuffled = teapots(flag_server_factory(*options).port, paths[::-1], workers=20)
    assert 0 < in_order.total() < len(paths)
    assert in_order == shuffled


@pytest.mark.parametrize(
    ('rate', 'status'),
    [pytest.param('0', 200, id='never'), pytest.param('1', 418, id='always')],
)
def test_error_rate_is_the_probability_of_a_teapot(
    flag_server_factory: Factory, rate: str, status: int
) -> None:
    """--error-rate 0 never fails, and 1 always answers 418 I'm a Teapot."""
    server = flag_server_factory('--error-rate', rate)
    assert {raw_get(server.port, '/flags/cn/cn.gif')[0] for _ in range(5)} == {status}


class Draw:
    """A stand-in for the random.Random of a request: its draws are the test's."""

    def __init__(self, draw: float) -> None:
        self.draw = draw

    def uniform(self, low: float, high: float) -> float:
        return low

    def random(self) -> float:
        return self.draw


@pytest.mark.parametrize(
    ('rate', 'draw', 'fails'),
    [
        pytest.param(0.0, 0.0, False, id='rate-0-lowest-draw'),
        pytest.param(0.25, 0.25, False, id='draw-equal-to-the-rate'),
        pytest.param(0.25, math.nextafter(0.25, 0), True, id='draw-just-below'),
        pytest.param(1.0, math.nextafter(1.0, 0), True, id='rate-1-highest-draw'),
    ],
)
def test_a_request_fails_when_its_draw_falls_below_the_error_rate(
    monkeypatch: pytest.MonkeyPatch, rate: float, draw: float, fails: bool
) -> None:
    """A request fails when its draw, uniform in [0, 1), falls below the rate, and
    not when it equals it: the chance of a 418 is the rate exactly, and a rate of 0
    never fails, even on the draw 0.0 that random() can return."""
    draws = SimpleNamespace(Random=lambda seed: Draw(draw))  # for slow_server.random
    monkeypatch.setattr(slow_server, 'random', draws)
    with slow_server.FlagServer(('127.0.0.1', 0), Behaviour(0, 0, rate), 0) as server:
        assert server.fate('/flags/cn/cn.gif') == (0, fails)


@pytest.mark.parametrize(
    ('delay', 'low', 'high'),
    [
        pytest.param('0.05', 0.05, 0.05, id='fixed-seconds'),
        pytest.param('0.01:0.03', 0.01, 0.03, id='min-max-range'),
    ],
)
def test_each_answer_waits_a_delay_drawn_within_the_option(
    flag_server_factory: Factory, delay: str, low: float, high: float
) -> None:
    """--delay SECONDS or MIN:MAX holds each answer back its own draw within bounds."""
    server = flag_server_factory('--delay', delay, '--seed', '1')
    for n, path in enumerate(
        ['/flags/cn/cn.gif', '/flags/xx/xx.gif', '/flags/br/br.gif']
    ):
        t0 = time.perf_counter()
        raw_get(server.port, path)
        elapsed = time.perf_counter() - t0
        logged = server.requests(at_least=n + 1)[n].delay
        assert low <= logged <= high
        assert elapsed >= logged - 0.0005  # the log rounds to the millisecond


def test_each_request_is_logged_as_one_line_with_unprintables_escaped(
    flag_server: FlagServer,
) -> None:
    """stderr gets HOST:PORT METHOD PATH STATUS DELAYs ARRIVED ANSWERED for every
    request, even a bad one, which arrives and is answered at the same moment."""
    mark = flag_server.mark()
    raw_get(flag_server.port, '/flags/cn/cn.gif')
    raw_get(flag_server.port, '/flags/\x01')
    for request in [b'BREW /pot HTTP/1.1\r\n\r\n', b'NONSENSE\r\n\r\n']:
        with socket.create_connection(('127.0.0.1', flag_server.port)) as sock:
            sock.settimeout(SHORT_TIMEOUT)
            sock.sendall(request)
            sock.recv(1000)
    flag_server.requests(at_least=4, since=mark)
    host = f'127.0.0.1:{flag_server.port}'
    lines = [line.rsplit(' ', 2) for line in flag_server.stderr_lines()[mark:]]
    assert [words for words, _, _ in lines] == [
        f'{host} GET /flags/cn/cn.gif 200 0.000s',
        f'{host} GET /flags/\\x01 404 0.000s',
        f'{host} BREW /pot 501 0.000s',
        f'{host} NONSENSE - 400 0.000s',
    ]
    assert all(re.fullmatch(r'\d+\.\d{6}', t) for _, *times in lines for t in times)
    assert [arrived == answered for _, arrived, answered in lines[2:]] == [True, True]


def test_the_log_gives_when_each_request_arrived_and_when_its_answer_began(
    flag_server_factory: Factory,
) -> None:
    """The log's two moments are time.monotonic() in the server, a clock this process
    shares: the request arrived after this test sent it, and its answer began a delay
    later, before the test had it (to the logged microsecond)."""
    server = flag_server_factory('--delay', '0.05')
    sent = time.monotonic()
    raw_get(server.port, '/flags/cn/cn.gif')
    received = time.monotonic()
    [request] = server.requests(at_least=1)
    half_a_tick = 0.0000005  # the log rounds each moment to the microsecond
    assert sent - half_a_tick <= request.arrived
    assert request.answered - request.arrived >= request.delay - 0.001  # rounded
    assert request.answered <= received + half_a_tick


def test_a_bad_request_after_a_delayed_one_on_the_same_connection_is_not_delayed(
    flag_server_factory: Factory,
) -> None:
    """On a keep-alive connection, a bad request that follows a delayed GET is logged
    with no delay of its own, arriving as it is answered: each line holds its own
    request's numbers, not those of the request before it."""
    server = flag_server_factory('--delay', '0.01')
    with socket.create_connection(('127.0.0.1', server.port), SHORT_TIMEOUT) as sock:
        sock.sendall(b'GET /flags/cn/cn.gif HTTP/1.1\r\nHost: x\r\n\r\n')
        assert read_response(sock)[0] == 200
        sock.sendall(b'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')
        assert read_response(sock)[0] == 501
    get, brew = server.requests(at_least=2)
    assert (get.method, get.delay) == ('GET', 0.01)
    assert (brew.method, brew.delay, brew.arrived) == ('BREW', 0.0, brew.answered)
    assert brew.arrived > get.answered


def test_a_mark_in_the_log_is_logged_at_once_whatever_the_delay(
    flag_server_factory: Factory,
) -> None:
    """harness's mark is a request of a method the server does not know (MARK): it
    answers 501 at once, so marking a 30 s server takes no 30 s, and the log shows it
    as such, after every request answered before it."""
    server = flag_server_factory('--delay', '30')
    first = server.mark()
    second = server.mark(timeout=SHORT_TIMEOUT)
    marks = server.requests(at_least=2)
    assert [(r.method, r.status, r.delay) for r in marks] == [('MARK', 501, 0.0)] * 2
    assert (first, second) == (1, 2)


@pytest.mark.parametrize(
    ('host', 'error'),
    [
        pytest.param('127.0.0.1', errno.EADDRINUSE, id='port-taken'),
        pytest.param('192.0.2.1', errno.EADDRNOTAVAIL, id='address-not-here'),
    ],
)
def test_a_port_it_cannot_listen_on_exits_1_with_one_line(
    flag_server: FlagServer, tmp_path: Path, host: str, error: int
) -> None:
    """A port taken, or an address not on this machine, is one line and status 1."""
    port = flag_server.port
    result = run_script('slow_server.py', str(port), '--bind', host, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    why = os.strerror(error)
    assert result.stderr == f'slow_server.py: cannot serve on {host}:{port}: {why}.\n'


# The server started with SIGINT ignored, as nohup and `cmd &` leave it: exec keeps an
# ignored signal. (Not preexec_fn: a fork that runs Python code breaks in a process
# that has subinterpreters, as a worker of this spec may, on 3.14.)
IGNORING_CTRL_C = (
    'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); '
    'os.execv(sys.executable, [sys.executable, "-u", *sys.argv[1:]])'
)


@pytest.mark.skipif(sys.platform == 'win32', reason='POSIX signals')
@pytest.mark.parametrize(
    ('launcher', 'ending'),
    [
        pytest.param([], 'ctrl-c', id='ctrl-c'),
        pytest.param(['-c', IGNORING_CTRL_C], 'ctrl-c', id='ctrl-c-ignored-at-start'),
        pytest.param([], 'sigterm', id='sigterm'),
    ],
)
def test_ctrl_c_or_sigterm_stops_it_and_prints_nothing(
    tmp_path: Path, launcher: list[str], ending: str
) -> None:
    """Ctrl-C stops the server with status 130 and no traceback, even if it was
    started with Ctrl-C ignored; SIGTERM with status 143."""
    server = str(CHAPTER / 'slow_server.py')
    child, out, err = start_script(*launcher, server, '0', cwd=tmp_path)
    try:
        assert out.wait_until(bool, LONG_TIMEOUT), err.lines
        assert end_by(ending, child) == status_of(ending)
    finally:
        harness.stop(child)
    assert err.text() == ''
    assert READY_LINE.fullmatch(out.text().removesuffix('\n'))


# A program that starts a flag server through harness, says its pid, and waits.
STARTER = f"""
import sys, threading
sys.path.insert(0, {str(CHAPTER)!r})
import harness
print(harness.FlagServer().process.pid, flush=True)
threading.Event().wait()
"""


@pytest.mark.skipif(sys.platform != 'linux', reason='reads the process table in /proc')
def test_a_server_started_through_harness_ends_with_its_starter(tmp_path: Path) -> None:
    """The servers of race.py, of the benchmarks and of this spec end when the
    process that started them is killed, even by SIGKILL, which it cannot catch:
    each watches its starter (STOP_WITH_PID, see stopping.py)."""
    starter, out, _ = start_script('-c', STARTER, cwd=tmp_path)
    try:
        assert out.wait_until(bool, LONG_TIMEOUT)
        running = [int(p.split()[0]) for p in harness.still_running(starter)]
        starter.kill()
        starter.wait(LONG_TIMEOUT)
        left = nothing_left(starter)
    finally:
        harness.stop(starter)
    assert int(out.lines[0]) in running  # the server ran, as the starter's child
    assert left == []


def test_labels_name_the_three_servers_of_the_clients() -> None:
    """LOCAL, DELAY and ERROR: ports 8000-8002, the book's 0.5-5 s, 25 % errors, and
    the words that say so."""
    assert {
        'LOCAL': (8000, Behaviour(), 'answers at once'),
        'DELAY': (8001, Behaviour(0.5, 5.0), 'waits 0.5-5 s to answer'),
        'ERROR': (8002, Behaviour(0.5, 5.0, 0.25), 'waits 0.5-5 s; 25 % are 418'),
    } == LABELS


def test_labels_option_starts_the_three_servers_in_one_process(tmp_path: Path) -> None:
    """--labels prints one ready line per server, which names its label and says
    what it does, and LOCAL answers at once."""
    child, out, err = start_script('slow_server.py', '--labels', cwd=tmp_path)
    try:
        ready = out.wait_until(lambda lines: len(lines) == len(LABELS), LONG_TIMEOUT)
        if not ready and os.strerror(errno.EADDRINUSE) in err.text():
            pytest.skip(f'a port of 8000-8002 is taken here: {err.text()}')
        assert raw_get(8000, '/flags/cn/cn.gif')[0] == 200
    finally:
        harness.stop(child)
    assert out.lines == [
        f'Serving flags on http://127.0.0.1:{port}/flags as {label}: {what}'
        for label, what, port in [
            ('LOCAL', 'answers at once', 8000),
            ('DELAY', 'waits 0.5-5 s to answer', 8001),
            ('ERROR', 'waits 0.5-5 s; 25 % are 418', 8002),
        ]
    ]


@pytest.mark.parametrize(
    'argv',
    [
        pytest.param(['--delay', 'soon'], id='delay-not-a-number'),
        pytest.param(['--delay', '-1'], id='delay-negative'),
        pytest.param(['--delay', '5:1'], id='delay-min-above-max'),
        pytest.param(['--delay', '1:'], id='delay-range-without-max'),
        pytest.param(['--delay', 'nan'], id='delay-nan'),
        pytest.param(['--delay', '1:inf'], id='delay-infinite'),
        pytest.param(['--error-rate', '1.5'], id='error-rate-above-1'),
        pytest.param(['--error-rate', 'often'], id='error-rate-not-a-number'),
        pytest.param(['--seed', 'x'], id='seed-not-a-whole-number'),
        pytest.param(['70000'], id='port-above-65535'),
        pytest.param(['-1'], id='port-negative'),
        pytest.param(['eighty'], id='port-not-a-number'),
        pytest.param(['8000', '8001'], id='two-ports'),
        pytest.param(['--labels', '8000'], id='labels-with-a-port'),
        pytest.param(['--labels', '--delay', '1'], id='labels-with-a-delay'),
        pytest.param(['--labels', '--error-rate', '0'], id='labels-with-an-error-rate'),
        pytest.param(['--bogus'], id='unknown-option'),
    ],
)
def test_bad_command_line_is_argparse_usage_error_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad command line gets the usage and one error line on stderr, and status 2."""
    for name, value in NO_COLOUR.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        slow_server.main(argv)
    out, err = capsys.readouterr()
    assert (stopped.value.code, out) == (2, '')
    assert err.startswith('usage: slow_server.py ')
    assert err.splitlines()[-1].startswith('slow_server.py: error: ')


def test_help_prints_the_usage_and_does_nothing_else(tmp_path: Path) -> None:
    """-h prints the help on stdout and exits 0 at once: no server, no file."""
    result = run_script('slow_server.py', '-h', cwd=tmp_path, env=NO_COLOUR)
    assert (result.returncode, result.stderr) == (0, '')
    assert result.stdout.startswith('usage: slow_server.py ')
    assert '--labels' in result.stdout
    assert 'Serving flags' not in result.stdout
    assert list(tmp_path.iterdir()) == []
