"""pytest plugin: the real flag server, ``chapter20/slow_server.py``, in a subprocess.

``flag_server_factory(*options)`` starts ``slow_server.py 0 *options`` (port 0: a
free port) with ``sys.executable -u``, waits for its ``Serving flags on ...`` line and
returns a ``RunningServer``::

    server = flag_server_factory('--delay', '0.2', '--error-rate', '.25', '--seed', '1')
    server.base_url  # 'http://127.0.0.1:PORT/flags', no trailing slash
    server.port  # the port the server chose
    server.process  # the subprocess.Popen
    server.requests()  # [Request(method='GET', path='/flags/cn/cn.gif', status=200,
    #                     delay=0.2), ...]: the request log so far, in order of logging
    server.requests(at_least=194)  # waits (up to LOG_TIMEOUT) until 194 are logged

The server logs a request when it starts its answer, but this process reads the log in a
thread, so right after a response its line may not be here yet: pass ``at_least`` when
you know how many requests were made. ``stderr_lines()`` gives everything the server
wrote on stderr, log or not (a traceback, say). ``flag_server`` is a server with no
options. Every server a test started is stopped, and waited for, at its teardown.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / 'chapter20' / 'slow_server.py'
READY_TIMEOUT = 30.0  # seconds to start and print the ready line, on a loaded machine
LOG_TIMEOUT = 10.0  # seconds for awaited request log lines to arrive
STOP_TIMEOUT = 10.0  # seconds for the server to exit after SIGTERM, then SIGKILL
READY_LINE = re.compile(r'Serving flags on (http://(\S+):(\d+)/flags)')
# HOST:PORT METHOD PATH STATUS DELAYs, as slow_server.py documents it.
LOG_LINE = re.compile(r'(\S+) (\S+) (\S+) (\d{3}) (\d+\.\d{3})s')


class Request(NamedTuple):
    method: str
    path: str
    status: int
    delay: float


class RunningServer:
    """A slow_server.py subprocess, ready to serve; call ``stop()`` when done."""

    def __init__(self, options: tuple[str, ...], cwd: Path) -> None:
        command = [sys.executable, '-u', str(SERVER_SCRIPT), '0', *options]
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stdout: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._logged = threading.Condition()
        # Threads drain both pipes, so a chatty server never blocks on a full one.
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        try:
            line = self._stdout.get(timeout=READY_TIMEOUT)
        except queue.Empty:
            line = None
        match = READY_LINE.fullmatch(line or '')
        if match is None:
            self.stop()
            stderr = ''.join(self._stderr)
            raise RuntimeError(
                f'slow_server.py {" ".join(options)} did not print its ready line '
                f'within {READY_TIMEOUT} s; it printed {line!r}; stderr: {stderr!r}'
            )
        self.base_url = match[1]
        self.port = int(match[3])

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._stdout.put(line.rstrip('\n'))
        self._stdout.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._logged:
                self._stderr.append(line)
                self._logged.notify_all()

    def stderr_lines(self) -> list[str]:
        with self._logged:
            return [line.rstrip('\n') for line in self._stderr]

    def requests(self, at_least: int = 0) -> list[Request]:
        """Return the request log so far, once it holds ``at_least`` records."""
        with self._logged:
            self._logged.wait_for(
                lambda: len(self._parse()) >= at_least, timeout=LOG_TIMEOUT
            )
            return self._parse()

    def _parse(self) -> list[Request]:
        records = []
        for line in self._stderr:
            match = LOG_LINE.fullmatch(line.rstrip('\n'))
            if match:
                _, method, path, status, delay = match.groups()
                records.append(Request(method, path, int(status), float(delay)))
        return records

    def stop(self) -> None:
        """Terminate the server, wait for it and close its pipes; safe to repeat."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for reader in self._readers:
            reader.join(STOP_TIMEOUT)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def flag_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningServer]]:
    """Start slow_server.py with the given options; every server stops at teardown."""
    started: list[RunningServer] = []

    def start(*options: str) -> RunningServer:
        server = RunningServer(options, cwd=tmp_path_factory.mktemp('server'))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def flag_server(flag_server_factory: Callable[..., RunningServer]) -> RunningServer:
    """A flag server with no delay and no errors."""
    return flag_server_factory()
