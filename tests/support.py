"""What the tests share, in one place, as CPython's ``test.support``, trio's ``tutil``.

Two limits bound every blocking wait, so that a bug fails a test instead of hanging the
suite: ``SHORT_TIMEOUT`` for anything in this process that a healthy run does at once,
``LONG_TIMEOUT`` for a subprocess or a server on a loaded machine. Scripts run through
``harness`` (chapter20/harness.py), the same code race.py and the benchmarks use:
``run_script`` for a run to its end, ``start_script`` with ``harness.Lines`` for a run
the test steers, say with Ctrl-C once a line has been printed: ``ctrl_c`` sends SIGINT
to the script's whole process group, as a terminal does, and ``nothing_left`` waits
until every process the script started has ended. ``run_as_main`` runs a script in
this process instead, where respx can answer its requests.

The conventions of the spec, which tools/spec_page.py relies on to write SPEC.md:

- A test module's docstring begins with the section of the chapter it documents and a
  colon: "A sequential download script", "Downloading with concurrent.futures",
  "Where are the futures?", "Launching processes with concurrent.futures", "Multicore
  prime checker redux", "Experimenting with Executor.map", "Downloads with progress
  display and error handling", "Using futures.as_completed", "Setting up test
  servers", "What Python 3.14 adds", "Every script behaves alike" or "Beyond the book".
- A test's name states the behaviour; the first sentence of its docstring states the
  claim. Parameters have ids made of words: ``pytest.param(..., id='no-scheme')``.
- A claim that needs a newer Python is marked with ``needs_python(3, 14)``, one that
  holds only before a version with ``older_python(3, 14)``.
- A test that proves a claim of the chapter cites its id (tests/claims.py) with
  ``@pytest.mark.claims('C17')``; a test that cites none documents what goes beyond
  the chapter.
- No sleep that hopes, no wall-clock upper bound: order is forced with events,
  barriers, respx side effects or a line waited for; promptness is for benchmarks.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import harness
from flag_images import flag_gif

SHORT_TIMEOUT = 10.0
LONG_TIMEOUT = 60.0
CHAPTER = harness.CHAPTER
ROOT = CHAPTER.parent
BASE = 'https://flags.test/data/flags'  # never resolved: respx answers first
EXIT_INTERRUPTED = 130  # what shells report for a program stopped by Ctrl-C
EXIT_TERMINATED = 143  # ... by SIGTERM
EXIT_CLOSED_PIPE = 141  # ... by SIGPIPE, as a stdout piped into `head` ends coreutils


def needs_python(major: int, minor: int) -> pytest.MarkDecorator:
    """Skip on older Pythons; tools/spec_page.py reads the version from the reason."""
    return pytest.mark.skipif(
        sys.version_info < (major, minor),
        reason=f'needs Python {major}.{minor} or newer',
    )


def older_python(major: int, minor: int) -> pytest.MarkDecorator:
    """Skip from that Python on: a claim that changed; spec_page reads the reason."""
    return pytest.mark.skipif(
        sys.version_info >= (major, minor),
        reason=f'needs Python older than {major}.{minor}',
    )


def run_script(
    *args: str, cwd: Path, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` in cwd to its end (a first arg such as flags.py names a
    script of chapter20/); FLAGS_BASE_URL is unset unless env sets it."""
    changes = {'FLAGS_BASE_URL': None, **(env or {})}
    return harness.run(*args, cwd=cwd, env=changes, timeout=LONG_TIMEOUT)


def run_as_main(script: str, *args: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """Run a script of chapter20/ in this process as ``python SCRIPT ARGS`` would:
    return its sys.exit status, or None if it ended without one.

    Cheaper than run_script by an interpreter's start-up and imports, and as telling
    for what a script does before its work starts (parsing, -h), or with its
    network mocked by respx. Its top level runs afresh, its imports do not.
    """
    path = CHAPTER / script
    monkeypatch.setattr(sys, 'argv', [str(path), *args])
    try:
        runpy.run_path(str(path), run_name='__main__')
    except SystemExit as exc:
        return exc.code
    return None


def start_script(
    *args: str,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    unbuffered: bool = True,
    **options: Any,
) -> tuple[subprocess.Popen[str], harness.Lines, harness.Lines]:
    """Start ``python -u ARGS`` as a shell starts a job, in a process group of its
    own; return the process and the lines of its stdout and stderr as they come.
    Stop it with harness.stop (a test's finally clause), which ends the group.

    ``unbuffered=False`` leaves out ``-u``: stdout is then a block-buffered pipe, so
    a line arrives at once only if the script flushes it, as one piped into ``tee``.
    """
    changes = {'FLAGS_BASE_URL': None, **(env or {})}
    if not unbuffered:  # nor the environment's PYTHONUNBUFFERED, which -u would set
        changes.setdefault('PYTHONUNBUFFERED', None)
    pipes = {'stdout': subprocess.PIPE, 'stderr': subprocess.PIPE}
    flags = ['-u'] if unbuffered else []
    options = {'start_new_session': True, **options}
    child = harness.start(*flags, *args, cwd=cwd, env=changes, **pipes, **options)
    assert child.stdout is not None
    assert child.stderr is not None
    return child, harness.Lines(child.stdout), harness.Lines(child.stderr)


def ctrl_c(child: subprocess.Popen[str]) -> int:
    """Send SIGINT as a terminal's Ctrl-C does, to the whole process group of the
    child (pool workers included), and return the exit status."""
    os.killpg(child.pid, signal.SIGINT)
    return child.wait(LONG_TIMEOUT)


def started_by(method: str, folder: Path) -> dict[str, str]:
    """An environment in which a script's process pools start their workers with
    this method, though the script leaves it to the platform (a sitecustomize.py in
    folder sets it as Python starts)."""
    code = f'import multiprocessing\nmultiprocessing.set_start_method({method!r})\n'
    (folder / 'sitecustomize.py').write_text(code)
    return {'PYTHONPATH': str(folder)}


def run_into_head(
    *args: str, lines: int, cwd: Path, env: Mapping[str, str | None] | None = None
) -> tuple[int, str, str]:
    """Run ``python ARGS | head -LINES`` in cwd: read that many lines of stdout, then
    close the pipe; return the status, the lines read and stderr."""
    changes = {'FLAGS_BASE_URL': None, **(env or {})}
    read_end, write_end = os.pipe()
    child = harness.start(
        *args, cwd=cwd, env=changes, stdout=write_end, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    os.close(write_end)
    try:
        with os.fdopen(read_end, encoding='utf-8') as pipe:  # closed after the block
            head = ''.join(pipe.readline() for _ in range(lines))
        assert child.stderr is not None
        err = child.stderr.read()  # until the child has ended and closed it
        status = child.wait(LONG_TIMEOUT)
    finally:
        harness.stop(child)
    return status, head, err


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, response.read()


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Send one request line as given, on a new connection; return status and body."""
    with socket.create_connection(('127.0.0.1', port), SHORT_TIMEOUT) as sock:
        request = f'GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
        sock.sendall(request.encode('latin-1'))
        return read_response(sock)


ENDINGS = [  # what a reader may do to a run, and the status it ends with
    pytest.param('ctrl-c', id='ctrl-c'),
    pytest.param('ctrl-c-twice', id='ctrl-c-twice'),
    pytest.param('sigterm', id='sigterm'),
]


def end_by(ending: str, child: subprocess.Popen[str]) -> int:
    """End a run as a reader would: Ctrl-C (to the process group, as a terminal
    sends it), Ctrl-C pressed again at once, or SIGTERM to the script alone; return
    the exit status."""
    if ending == 'sigterm':
        child.terminate()
    else:
        for _ in range(2 if ending == 'ctrl-c-twice' else 1):
            os.killpg(child.pid, signal.SIGINT)
    return child.wait(LONG_TIMEOUT)


def status_of(ending: str) -> int:
    return EXIT_TERMINATED if ending == 'sigterm' else EXIT_INTERRUPTED


def nothing_left(child: subprocess.Popen[str]) -> list[str]:
    """Wait until every process the child started has ended (pool workers, their
    forkserver, the scripts it ran), LONG_TIMEOUT at most; return those that did
    not. Each ends at once, or never: the wait only allows for a loaded machine."""
    deadline = time.monotonic() + LONG_TIMEOUT
    while (left := harness.still_running(child)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return left


class Transcript(io.StringIO):
    """A stand-in for sys.stdout that threads can wait on, text by text.

    Use it with ``contextlib.redirect_stdout``: a test can then hold one download back
    until another has printed its line. (pytest resets sys.stdout between a test's
    set-up and its call, so a fixture could not redirect it for the test.)
    """

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            written = super().write(text)
            self._changed.notify_all()
        return written

    def wait_for(self, text: str) -> None:
        """Block until text has been printed; TimeoutError after SHORT_TIMEOUT."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: text in self.getvalue(), SHORT_TIMEOUT
            ):
                raise TimeoutError(f'{text!r} was not printed in {SHORT_TIMEOUT}s.')


def run_flags2_main(client: Any, *argv: str) -> int:
    """Run the ``main`` of a flags2 client module here, with argv, as its script does;
    return the exit status (main always ends in SystemExit)."""
    with pytest.raises(SystemExit) as exc_info:
        client.main(
            client.download_many, client.DEFAULT_CONCUR_REQ, client.MAX_CONCUR_REQ, argv
        )
    code = exc_info.value.code
    assert isinstance(code, int), code
    return code


class Holding:
    """A flag server in this process that answers the first ``answered`` requests
    with their flags and then holds every request open, unanswered, until it closes:
    a run against it has downloads pending for as long as the test likes.
    ``wait_for_held(n)`` returns once n requests are held. Its base URL is
    ``base_url``; use it as a context manager."""

    def __init__(self, answered: int = 0) -> None:
        self.answered, self.held = answered, 0
        self.changed = threading.Condition()
        self.closing = threading.Event()
        self.listener = socket.create_server(('127.0.0.1', 0), backlog=1024)
        self.base_url = f'http://127.0.0.1:{self.listener.getsockname()[1]}/flags'
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener closed
            while True:
                connection, _ = self.listener.accept()
                serve = threading.Thread(target=self._serve, args=(connection,))
                serve.daemon = True
                serve.start()

    def _serve(self, connection: socket.socket) -> None:
        requests = connection.makefile('rb')
        with connection, requests, contextlib.suppress(OSError):
            # Each request: a line such as GET /flags/cn/cn.gif HTTP/1.1, headers, ''.
            while words := requests.readline().split():
                while requests.readline().strip():
                    pass
                with self.changed:
                    answer = self.answered > 0
                    self.answered -= answer
                    self.held += not answer
                    self.changed.notify_all()
                if not answer:
                    self.closing.wait()
                    return
                body = flag_gif(words[1].decode().rpartition('/')[2][:2].upper())
                head = f'HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n'
                connection.sendall(head.encode() + body)

    def wait_for_held(self, count: int) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.held >= count, LONG_TIMEOUT):
                raise TimeoutError(f'{count} requests were not held, only {self.held}')

    def __enter__(self) -> Holding:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.closing.set()
        self.listener.close()
