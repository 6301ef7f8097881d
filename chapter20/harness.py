"""Support for race.py, the benchmarks and the spec: run the scripts as a reader would.

All three do the same few things: start ``slow_server.py`` on a free port and stop it
on every way out, run a script of this folder as a subprocess, wait for a line it
prints, and read the report it ends with. Each of those is written once, here::

    with FlagServer('--delay', '0.2') as server:
        done = run('flags2_threadpool.py', '-s', server.base_url, cwd=tmp)
        print(parse_report(done.stdout))  # {'ok': 20.0, ..., 'elapsed': 0.25}
"""

import stopping

import contextlib
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

CHAPTER = Path(__file__).resolve().parent
READY_TIMEOUT = 30.0  # seconds for a server to start, on a loaded machine
STOP_TIMEOUT = 10.0  # seconds for a child to exit after SIGTERM, before SIGKILL
STOPPING_TIMEOUT = 0.5  # the same in a stop, which must end in a second; ours take ms
MARK = 'HARNESS_MARK'  # environment: a child's descendants inherit its mark
READY_LINE = re.compile(r'Serving flags on (http://\S+:(\d+)/flags)')
# HOST:PORT METHOD PATH STATUS DELAYs ARRIVED ANSWERED, as slow_server.py logs each
# request; the moments are seconds of time.monotonic(), a clock all processes share.
MOMENT = r'(\d+\.\d{6})'  # to the microsecond
LOG_LINE = re.compile(rf'\S+ (\S+) (\S+) (\d{{3}}) (\d+\.\d{{3}})s {MOMENT} {MOMENT}')
REPORT = {  # the last lines each downloader prints
    'elapsed': r'^(?:Elapsed time: |\d+ downloads in )(\d+\.\d+)s$',
    'ok': r'^(\d+) flags? downloaded\.$',
    'not found': r'^(\d+) not found\.$',
    'errors': r'^(\d+) errors?[.:]',
}


class Request(NamedTuple):
    method: str
    path: str
    status: int
    delay: float
    arrived: float  # time.monotonic() in the server, when the request arrived
    answered: float  # ... and when its answer began


def parse_report(output: str) -> dict[str, float]:
    """The figures of a downloader's final report that are present in output."""
    found = {key: re.search(pattern, output, re.M) for key, pattern in REPORT.items()}
    return {key: float(match[1]) for key, match in found.items() if match}


def ideal_io(requests: int, workers: int, delay: float) -> float:
    """N requests of d seconds, W at a time: ceil(N / W) x d, so N x d one by one."""
    return math.ceil(requests / workers) * delay


def ideal_cpu(task_times: Sequence[float], workers: int) -> float:
    """CPU-bound tasks on W workers: max(sum / W, longest task); 0 for no tasks."""
    return max(sum(task_times) / workers, max(task_times, default=0.0))


def environment(changes: Mapping[str, str | None] | None) -> dict[str, str]:
    """This process's environment with changes applied; None removes a variable."""
    env = dict(os.environ)
    for name, value in (changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def start(
    *args: str, env: Mapping[str, str | None] | None = None, **options: Any
) -> subprocess.Popen[str]:
    """Start ``python ARGS``; a bare name such as ``flags.py`` is a script here.

    The script ends when this process does, even killed by SIGKILL (it watches the
    pid that STOP_WITH_PID names, see stopping.py); and if this process is a script
    itself, its stop kills every child still running (``_kill_children``).
    """
    command = [sys.executable, *args]
    for n, arg in enumerate(args, 1):
        if not arg.startswith('-'):  # the first argument that is not an option
            if arg.endswith('.py') and os.sep not in arg:
                command[n] = str(CHAPTER / arg)
            break
    mark = os.environ.get(MARK) or uuid.uuid4().hex  # a marked process passes it on
    changes = {**(env or {}), stopping.STOP_WITH_PID: str(os.getpid()), MARK: mark}
    options = {'text': True, 'stdin': subprocess.DEVNULL, **options}
    with stopping.uninterrupted():  # a stop waits for a child being started
        child = subprocess.Popen(command, env=environment(changes), **options)
        _children.add(child)
    _marks[child.pid] = mark
    return child


def still_running(child: subprocess.Popen[str]) -> list[str]:
    """The processes of child's making, itself included, that have not ended: pool
    workers, a forkserver, the children of its children. (Linux: read from /proc,
    where every descendant carries the child's MARK; elsewhere, always [].)"""
    return marked(_marks[child.pid])


def marked(mark: str) -> list[str]:
    """'PID COMMAND' of each live process whose environment has MARK=mark."""
    found = []
    for proc in Path('/proc').glob('[0-9]*'):
        with contextlib.suppress(OSError):  # ended meanwhile, or not ours to read
            if f'{MARK}={mark}\0'.encode() not in (proc / 'environ').read_bytes():
                continue
            stat = (proc / 'stat').read_text()
            if stat[stat.rindex(')') + 2] != 'Z':  # a zombie has ended already
                command = (proc / 'cmdline').read_bytes().replace(b'\0', b' ')
                found.append(f'{proc.name} {command.decode(errors="replace")}')
    return found


def run(
    *args: str,
    timeout: float,
    env: Mapping[str, str | None] | None = None,
    **options: Any,
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` to its end; return its status and its captured output."""
    pipes = {'stdout': subprocess.PIPE, 'stderr': subprocess.PIPE}
    child = start(*args, env=env, **pipes, **options)
    try:
        out, err = child.communicate(timeout=timeout)
    finally:
        stop(child)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def stop(child: subprocess.Popen[str]) -> None:
    """End a child, and the process group it leads if any, and wait; safe to repeat."""
    _children.discard(child)
    if child.poll() is None:
        leads_group = os.name == 'posix' and os.getpgid(child.pid) == child.pid
        child.terminate()
        try:
            child.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if leads_group:  # its own children too, such as the workers of a pool
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
    for pipe in (child.stdin, child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()


_children: set[subprocess.Popen[str]] = set()  # started, not yet stopped
_marks: dict[int, str] = {}  # pid of a child: the MARK of its descendants


def _kill_children() -> None:
    """At a stop: end every child still running as SIGTERM ends a script (its own stop
    cleans up after it: pool workers, a forkserver's folder), then kill the process
    group it leads, with whatever outlived STOPPING_TIMEOUT. (None starts meanwhile:
    the stop holds the lock of ``start``.)"""
    children = list(_children)
    for child in children:
        child.terminate()
    deadline = time.monotonic() + STOPPING_TIMEOUT
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(child.pid) == child.pid:
                os.killpg(child.pid, signal.SIGKILL)
            child.kill()
        child.wait()  # then nothing writes into its working folder any more


stopping.at_stop(_kill_children)


class Lines:
    """The lines a pipe delivers, read by a thread; callers may wait for one."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.closed = False
        self._reader = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._reader.start()

    def _read(self, pipe: IO[str]) -> None:
        # stop() may close the pipe under this loop: that ends it, like end of file.
        with contextlib.suppress(ValueError, OSError):
            for line in pipe:
                with self.changed:
                    self.lines.append(line.rstrip('\n'))
                    self.changed.notify_all()
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def wait_until(self, found: Callable[[list[str]], bool], timeout: float) -> bool:
        """Wait until found(lines) is true; False if the pipe closed or time ran out."""
        with self.changed:
            self.changed.wait_for(lambda: found(self.lines) or self.closed, timeout)
            return found(self.lines)

    def wait_for(self, line: str, timeout: float) -> None:
        """Wait for this whole line; TimeoutError if it does not come."""
        if not self.wait_until(lambda lines: line in lines, timeout):
            raise TimeoutError(f'{line!r} was not printed; got {self.lines[-5:]!r}')

    def text(self, timeout: float = STOP_TIMEOUT) -> str:
        """Everything the pipe delivered, once it has closed."""
        self._reader.join(timeout)
        with self.changed:
            return ''.join(f'{line}\n' for line in self.lines)


class FlagServer:
    """``slow_server.py 0 OPTIONS`` in a subprocess, ready to serve; a context manager.

    ``base_url`` and ``port`` say where it listens; ``requests()`` parses its log.
    """

    def __init__(self, *options: str, cwd: Path | None = None) -> None:
        self.process = start(
            '-u', 'slow_server.py', '0', *options,
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.stdout, self.log = Lines(self.process.stdout), Lines(self.process.stderr)

        def ready(lines: list[str]) -> bool:
            return any(READY_LINE.fullmatch(line) for line in lines)

        if not self.stdout.wait_until(ready, READY_TIMEOUT):
            self.stop()
            raise RuntimeError(
                f'slow_server.py {" ".join(options)} did not start: '
                f'{self.stdout.lines!r} {self.log.lines!r}'
            )
        match = next(filter(None, map(READY_LINE.fullmatch, self.stdout.lines)))
        self.base_url, self.port = match[1], int(match[2])

    def requests(
        self, at_least: int = 0, since: int = 0, timeout: float = STOP_TIMEOUT
    ) -> list[Request]:
        """The requests logged after mark ``since``, once there are at_least of them.

        The server logs a request as it answers it, and a thread here reads the log, so
        right after a response its line may not be here yet: say how many you expect.
        """

        def logged(lines: list[str]) -> list[Request]:
            return _requests(lines[since:])

        self.log.wait_until(lambda lines: len(logged(lines)) >= at_least, timeout)
        with self.log.changed:
            return logged(self.log.lines)

    def mark(self, timeout: float = STOP_TIMEOUT) -> int:
        """A mark in the log: requests(since=mark) are those made after this call.

        It asks for a path nobody else asks for and waits until that request is logged,
        so a server can be shared by tests run one after the other. The method MARK is
        none the server knows: it answers 501 at once, without its delay.
        """
        path = f'/mark/{uuid.uuid4().hex}'
        with socket.create_connection(('127.0.0.1', self.port), timeout) as sock:
            sock.sendall(f'MARK {path} HTTP/1.0\r\n\r\n'.encode())
            while sock.recv(4096):  # the whole answer: the log line was written first
                pass

        def marked(lines: list[str]) -> bool:
            return any(f' {path} ' in line for line in lines)

        if not self.log.wait_until(marked, timeout):
            raise TimeoutError(f'the server did not log {path}')
        with self.log.changed:
            return next(n for n, line in enumerate(self.log.lines, 1) if path in line)

    def arrived_since(self, moment: float) -> list[Request]:
        """The requests that arrived at moment (a time.monotonic()) or later and whose
        answers have reached their clients, in the order of the answers; no mark.

        The server logs each request before it sends the answer, so a client that has
        its answer finds the line logged; the mark makes sure this process read it.
        """
        last = self.mark()
        with self.log.changed:
            logged = _requests(self.log.lines[:last])
        return [r for r in logged if r.arrived >= moment and r.method != 'MARK']

    def stderr_lines(self) -> list[str]:
        with self.log.changed:
            return list(self.log.lines)

    def stop(self) -> None:
        stop(self.process)

    def __enter__(self) -> 'FlagServer':
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _requests(lines: list[str]) -> list[Request]:
    records = []
    for match in filter(None, map(LOG_LINE.fullmatch, lines)):
        method, path, status, *seconds = match.groups()
        records.append(Request(method, path, int(status), *map(float, seconds)))
    return records
