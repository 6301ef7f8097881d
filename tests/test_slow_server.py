"""The local flag server: right bytes, strict paths, keep-alive, load, delays, errors.

Chapter 20's flags2 clients are tested against this server (issue 3), so its own
behaviour is pinned down here. Requests go through raw sockets or http.client, which
send the path exactly as written: a client library would normalise ``..`` away first.
"""

from __future__ import annotations

import http.client
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flag_images import flag_gifs
from slow_server import LABELS, Behaviour
from tests.server_process import SERVER_SCRIPT, RunningServer

CODES = [cc.lower() for cc in flag_gifs()]
SOCKET_TIMEOUT = 10.0  # seconds for any socket operation; only a bug gets near it
SCRIPT_TIMEOUT = 60.0  # seconds for a short-lived server subprocess
CONNECTIONS = 1000
CONNECT_DEADLINE = 20.0  # seconds to open them all; a tiny backlog makes it crawl

Factory = Callable[..., RunningServer]


@pytest.fixture(scope='module')
def gifs() -> dict[str, bytes]:
    return {
        f'/flags/{cc.lower()}/{cc.lower()}.gif': gif for cc, gif in flag_gifs().items()
    }


@pytest.fixture(scope='module')
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One plain server for the tests that do not read its log."""
    server = RunningServer((), cwd=tmp_path_factory.mktemp('shared_server'))
    yield server
    server.stop()


def raw_get(port: int, target: str, host: str = '127.0.0.1') -> tuple[int, bytes]:
    """Send one request line as given; return the status and the body."""
    with socket.create_connection((host, port), timeout=SOCKET_TIMEOUT) as sock:
        request = f'GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n'
        sock.sendall(request.encode('latin-1'))
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def fetch_all(server: RunningServer, paths: list[str]) -> dict[str, bytes]:
    """GET the paths in order on one keep-alive connection; fail if it is replaced."""
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=SOCKET_TIMEOUT)
    conn.connect()
    first_socket, bodies = conn.sock, {}
    try:
        for path in paths:
            conn.request('GET', path)
            response = conn.getresponse()
            bodies[path] = response.read()
            assert response.status == 200, path
            assert response.getheader('Content-Type') == 'image/gif'
            assert not response.will_close
            assert conn.sock is first_socket
    finally:
        conn.close()
    return bodies


def statuses(server: RunningServer, paths: list[str], workers: int = 1) -> set[str]:
    """GET each path; return the paths answered 418."""

    def status(path: str) -> tuple[str, int]:
        return path, raw_get(server.port, path)[0]

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(status, paths))
    assert {code for _, code in results} <= {200, 418}
    return {path for path, code in results if code == 418}


def run_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, SERVER_SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
    )


def test_ready_line_gives_the_loopback_address_and_the_real_port(
    shared_server: RunningServer,
) -> None:
    """Port 0 picks a free port, and the ready line names it, ready to serve."""
    assert re.fullmatch(r'http://127\.0\.0\.1:\d+/flags', shared_server.base_url)
    assert shared_server.base_url.endswith(f':{shared_server.port}/flags')
    assert shared_server.port != 0
    assert raw_get(shared_server.port, '/flags/cn/cn.gif')[0] == 200


def test_server_listens_on_loopback_only_by_default(
    shared_server: RunningServer,
) -> None:
    """Bound to 127.0.0.1, not every interface: 127.0.0.2 finds no listener."""
    with pytest.raises(ConnectionRefusedError):  # Linux routes all 127/8 to loopback
        socket.create_connection(('127.0.0.2', shared_server.port), SOCKET_TIMEOUT)


def test_every_flag_is_served_with_keep_alive_and_its_exact_bytes(
    shared_server: RunningServer, gifs: dict[str, bytes]
) -> None:
    """All 194 flags come over one HTTP/1.1 connection, each exactly as generated."""
    assert fetch_all(shared_server, sorted(gifs)) == gifs


def test_two_server_runs_serve_byte_identical_flags(
    shared_server: RunningServer, flag_server_factory: Factory, gifs: dict[str, bytes]
) -> None:
    """Another server process, with another hash seed, serves the same bytes."""
    paths = sorted(gifs)
    assert fetch_all(flag_server_factory(), paths) == fetch_all(shared_server, paths)


@pytest.mark.parametrize(
    'target',
    [
        '/flags/xx/xx.gif',
        '/flags/CN/CN.gif',
        '/flags/cn/br.gif',
        '/flags/cn/cn.png',
        '/flags/cn/cn.gif/',
        '/',
        '/flags',
        '/flags/',
        '/flags/cn',
        '/flags/cn/',
        '/flags/cn/../cn/cn.gif',
        '/flags/../flags/cn/cn.gif',
        '/../../../../etc/passwd',
        '/flags/cn/%2e%2e/cn/cn.gif',
        '/flags/%2E%2E/flags/cn/cn.gif',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/flags/cn/cn%2egif',
        '/flags/c%6e/cn.gif',
        '//flags/cn/cn.gif',
        '/flags//cn/cn.gif',
        '/flags/cn//cn.gif',
        'http://127.0.0.1/flags/cn/cn.gif',
        '/flags/cn/cn.gif?download=1',
        '/flags/cn/cn.gif#top',
        '/flags/cn/cn.gif%00',
        '/etc/passwd',
        '/country_codes.txt',
        '/slow_server.py',
        '/flags/country_codes.txt',
        '*',
    ],
)
def test_anything_but_a_flag_path_gets_404(
    shared_server: RunningServer, target: str
) -> None:
    """Only /flags/<cc>/<cc>.gif exists: no normalising, no files, no listings."""
    status, body = raw_get(shared_server.port, target)
    assert (status, body) == (404, b'404 Not Found\n')


def test_thousand_concurrent_connections_are_all_served_without_a_reset(
    flag_server_factory: Factory, gifs: dict[str, bytes]
) -> None:
    """1,000 connections open at once all get their flag: the backlog is not 5."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * CONNECTIONS + 100  # ours, plus the server's (which inherits the limit)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f'needs {needed} open files; the hard limit is {hard}')
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        server = flag_server_factory()
        paths = [sorted(gifs)[i % len(gifs)] for i in range(CONNECTIONS)]
        sockets: list[socket.socket] = []
        try:
            deadline = time.perf_counter() + CONNECT_DEADLINE
            for path in paths:  # every connection is open before any is read
                if time.perf_counter() > deadline:
                    pytest.fail(f'{len(sockets)} connections in {CONNECT_DEADLINE} s')
                sock = socket.create_connection(
                    ('127.0.0.1', server.port), SOCKET_TIMEOUT
                )
                sockets.append(sock)
                sock.sendall(f'GET {path} HTTP/1.1\r\nHost: x\r\n\r\n'.encode())
            received = []
            for sock in sockets:
                response = http.client.HTTPResponse(sock)
                response.begin()
                received.append((response.status, response.read()))
        finally:
            for sock in sockets:
                sock.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert received == [(200, gifs[path]) for path in paths]


def test_client_hanging_up_mid_response_leaves_the_server_serving_quietly(
    flag_server_factory: Factory,
) -> None:
    """A reset connection costs one answer: no traceback, and the next request works."""
    server = flag_server_factory('--delay', '0.05')
    sock = socket.create_connection(('127.0.0.1', server.port), SOCKET_TIMEOUT)
    request = (
        b'GET /flags/cn/cn.gif HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n'
    )
    sock.sendall(request)
    # 100 Continue: the server has read the request and is now waiting its delay.
    assert sock.recv(100).startswith(b'HTTP/1.1 100 Continue')
    # Linger 0: close sends a reset, so the server's answer meets a dead connection.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()
    assert server.requests(at_least=1)[0].path == '/flags/cn/cn.gif'
    # The failed write follows that log line at once; the next answer takes 0.05 s.
    assert raw_get(server.port, '/flags/br/br.gif')[0] == 200
    assert server.requests(at_least=2)[1].path == '/flags/br/br.gif'
    assert server.process.poll() is None
    assert len(server.stderr_lines()) == 2, server.stderr_lines()


def test_seeded_error_server_fails_the_same_paths_in_any_arrival_order(
    flag_server_factory: Factory, gifs: dict[str, bytes]
) -> None:
    """With --seed, a path's fate depends on the seed, not on when it arrives."""
    options = ('--error-rate', '0.5', '--seed', '7')
    paths = sorted(gifs)[:40]  # enough that about half fail; a fraction of a second
    in_order = statuses(flag_server_factory(*options), paths)
    shuffled = statuses(flag_server_factory(*options), paths[::-1], workers=20)
    assert 0 < len(in_order) < len(paths)
    assert in_order == shuffled


@pytest.mark.parametrize(('rate', 'expected'), [('0', 200), ('1', 418)])
def test_error_rate_is_the_probability_of_a_teapot(
    flag_server_factory: Factory, rate: str, expected: int
) -> None:
    """--error-rate 0 never fails, 1 always answers 418 I'm a Teapot."""
    server = flag_server_factory('--error-rate', rate)
    assert {raw_get(server.port, path)[0] for path in ['/flags/cn/cn.gif'] * 5} == {
        expected
    }


def test_fixed_delay_holds_each_answer_back(flag_server_factory: Factory) -> None:
    """--delay D: no answer comes sooner than D seconds after its request."""
    server = flag_server_factory('--delay', '0.05')
    t0 = time.perf_counter()
    assert raw_get(server.port, '/flags/cn/cn.gif')[0] == 200
    assert time.perf_counter() - t0 >= 0.05
    assert server.requests(at_least=1)[0].delay == 0.05


def test_delay_range_draws_each_delay_within_it(flag_server_factory: Factory) -> None:
    """--delay MIN:MAX draws uniformly; each answer waits its own draw."""
    server = flag_server_factory('--delay', '0.01:0.03', '--seed', '1')
    for n, path in enumerate(
        ['/flags/cn/cn.gif', '/flags/xx/xx.gif', '/flags/br/br.gif']
    ):
        t0 = time.perf_counter()
        raw_get(server.port, path)
        elapsed = time.perf_counter() - t0
        delay = server.requests(at_least=n + 1)[n].delay
        assert 0.01 <= delay <= 0.03
        assert elapsed >= delay - 0.0005  # the log rounds to the millisecond


def test_delays_run_concurrently_not_one_after_the_other(
    flag_server_factory: Factory,
) -> None:
    """20 requests delayed 0.1 s each, sent at once, end far sooner than 20 x 0.1 s."""
    server = flag_server_factory('--delay', '0.1')
    paths = [f'/flags/{cc}/{cc}.gif' for cc in CODES[:20]]
    t0 = time.perf_counter()
    assert statuses(server, paths, workers=20) == set()
    # Serialised delays would take 2 s; 1 s leaves a wide margin for a loaded machine.
    assert time.perf_counter() - t0 < 1.0


def test_each_request_is_logged_as_one_parsable_line(
    flag_server_factory: Factory,
) -> None:
    """stderr gets HOST:PORT METHOD PATH STATUS DELAYs, unprintables escaped."""
    server = flag_server_factory()
    raw_get(server.port, '/flags/cn/cn.gif')
    raw_get(server.port, '/flags/\x01')
    for request in [b'BREW /pot HTTP/1.1\r\n\r\n', b'NONSENSE\r\n\r\n']:
        with socket.create_connection(
            ('127.0.0.1', server.port), SOCKET_TIMEOUT
        ) as sock:
            sock.sendall(request)
            sock.recv(1000)
    server.requests(at_least=4)
    assert server.stderr_lines() == [
        f'127.0.0.1:{server.port} GET /flags/cn/cn.gif 200 0.000s',
        f'127.0.0.1:{server.port} GET /flags/\\x01 404 0.000s',
        f'127.0.0.1:{server.port} BREW /pot 501 0.000s',
        f'127.0.0.1:{server.port} NONSENSE - 400 0.000s',
    ]


@pytest.mark.parametrize(
    'args',
    [
        ['--delay', 'soon'],
        ['--delay', '-1'],
        ['--delay', '5:1'],
        ['--delay', 'nan'],
        ['--delay', '1:inf'],
        ['--error-rate', '1.5'],
        ['--error-rate', 'often'],
        ['--seed', 'x'],
        ['70000'],
        ['-1'],
        ['eighty'],
        ['--labels', '8000'],
        ['--labels', '--delay', '1'],
        ['--bogus'],
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str]) -> None:
    """Bad input gets one line on stderr and status 2, never a traceback."""
    result = run_server(*args)
    assert result.returncode == 2
    assert result.stdout == ''
    assert re.fullmatch(r'\*\*\* Usage error: [^\n]+\. Try --help\.\n', result.stderr)


def test_busy_port_exits_1_with_one_line(shared_server: RunningServer) -> None:
    """A port already taken is reported in one line, status 1."""
    result = run_server(str(shared_server.port))
    assert result.returncode == 1
    assert result.stderr.startswith(
        f'*** Cannot serve on 127.0.0.1:{shared_server.port}'
    )
    assert result.stderr.count('\n') == 1


@pytest.mark.skipif(sys.platform == 'win32', reason='POSIX signals')
def test_ctrl_c_stops_the_server_with_status_130_and_no_traceback(
    flag_server_factory: Factory,
) -> None:
    """SIGINT ends the server as the shell expects: status 130, no traceback."""
    server = flag_server_factory()
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(SCRIPT_TIMEOUT) == 130
    server.stop()
    assert server.stderr_lines() == []


def test_labels_name_the_three_servers_of_the_clients() -> None:
    """LOCAL, DELAY and ERROR: ports 8000-8002, the book's 0.5-5 s, 25 % errors."""
    expected = {
        'LOCAL': (8000, Behaviour()),
        'DELAY': (8001, Behaviour(0.5, 5.0)),
        'ERROR': (8002, Behaviour(0.5, 5.0, 0.25)),
    }
    assert expected == LABELS


def test_labels_option_starts_the_three_servers_in_one_process(tmp_path: Path) -> None:
    """--labels prints one ready line per server; LOCAL answers at once."""
    for port in (8000, 8001, 8002):
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                pytest.skip(f'port {port} is in use on this machine')
    process = subprocess.Popen(
        [sys.executable, '-u', SERVER_SCRIPT, '--labels'],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in LABELS]
        assert raw_get(8000, '/flags/cn/cn.gif')[0] == 200
    finally:
        process.terminate()
        process.wait(SCRIPT_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()
    assert lines == [
        f'Serving flags on http://127.0.0.1:{port}/flags\n'
        for port in (8000, 8001, 8002)
    ]
