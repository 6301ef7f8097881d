"""Support for every script: each way a run can end, handled in one place.

Each runnable script imports this module first, before anything that takes time, so
that from its first line on:

- Ctrl-C (SIGINT, which a terminal sends to every process of the job, pool workers
  included) and SIGTERM (``kill``, ``timeout``, an IDE's stop button) stop the run at
  once, whatever its threads are doing: the script's one-line report on stderr and
  status 130 or 143. A second Ctrl-C changes nothing. Outside the script's work
  (``reporting``), before it starts or once it is over, the signal ends the run with
  nothing printed.
- A closed stdout (``| head``) ends the run quietly with status 141, what shells
  report for a program ended by SIGPIPE; a stdout that cannot be written (a full disk)
  ends it with one line on stderr and status 1.
- What the script started ends with it, even when it is killed with SIGKILL: the
  workers of its process pools, their forkserver, and the scripts that harness.py
  starts (such as race.py's flag server).
- A package the scripts need (httpx, tqdm) missing from the Python that runs them,
  as when a reader types ``python3 chapter20/flags.py`` rather than the README's
  ``.venv/bin/python``: one line on stderr that names it and gives the README's
  command, and status 1, not a traceback (``_missing_package``).

How: SIGINT and SIGTERM are blocked in the main thread before any other thread starts,
hence in every thread, and one thread of this module waits for them (``sigwait``) and
runs the stop. The main thread is never interrupted, so no KeyboardInterrupt lands half
way through a library call. The stop keeps every other thread from writing, prints the
report, does what the script asked for (``at_stop``: wait for a file being saved, stop
a child process...), kills the worker processes and leaves with ``os._exit``, which
waits for no thread. Processes started meanwhile inherit the blocked signals, so a
Ctrl-C cannot interrupt their start-up either; pool workers then ignore Ctrl-C, and
end when the script's process ends (``STOP_WITH_PID`` names it).

Imported by anything else (the tests, a REPL, a sub-interpreter), this module changes
nothing: Ctrl-C is Python's KeyboardInterrupt, which ``reporting`` turns into the same
report and status 130, and ``end`` is SystemExit.
"""

import _signal  # signal's C half: importing signal itself (enum...) takes milliseconds
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
STOP_SIGNALS = {_signal.SIGINT, _signal.SIGTERM}
EXIT_INTERRUPTED = 128 + _signal.SIGINT  # 130: the shells' status for these endings
EXIT_TERMINATED = 128 + _signal.SIGTERM  # 143
EXIT_CLOSED_PIPE = 128 + _signal.SIGPIPE  # 141
STOP_WITH_PID = 'STOP_WITH_PID'  # environment: the process whose end ends this one
RUN_PACKAGES = {'httpx', 'tqdm'}  # pyproject.toml's group "run": what the scripts need
# The README's set-up, from the repository's root: a venv that holds them.
SET_UP = 'python3 -m venv --upgrade-deps .venv && .venv/bin/pip install -q --group venv'


def started_as() -> str:
    """'script' in a process that Python started to run a script of this folder,
    'worker' in a process that a pool started for one (multiprocessing imports the
    script there as __mp_main__), 'interpreter' in a sub-interpreter of a script's
    process (InterpreterPoolExecutor, 3.14+), 'library' anywhere else."""
    process = sys.modules.get('multiprocessing.process')
    inheriting = process and getattr(process.current_process(), '_inheriting', False)
    # While it imports the script in a worker, __main__ is still its own bootstrap.
    path = getattr(sys.modules.get('__mp_main__' if inheriting else '__main__'),
                   '__file__', None)  # fmt: skip
    started = {os.path.realpath(arg) for arg in sys.orig_argv[1:]}
    if path is None:  # a sub-interpreter's empty __main__: is it in a script's process?
        scripts = [arg for arg in started if arg.endswith('.py')]
        return 'interpreter' if HERE in map(os.path.dirname, scripts) else 'library'
    if os.path.dirname(os.path.realpath(path)) != HERE:
        return 'library'
    if inheriting:
        return 'worker'
    return 'script' if os.path.realpath(path) in started else 'library'


ROLE = started_as()
if ROLE == 'script':  # first of all: every thread and process started later inherits it
    _signal.pthread_sigmask(_signal.SIG_BLOCK, STOP_SIGNALS)

# The rest imports only now that a Ctrl-C can no longer interrupt it.
import contextlib
import select
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, NoReturn, TextIO

POLL_INTERVAL = 0.2  # seconds between checks that a process lives, without pidfd_open
# Seconds for a worker caught half started: the stop waits at most that long for its
# launch to end, and a worker that failed to start as long for the stop to end it.
WORKER_GRACE = 1.0

_output = threading.RLock()  # every write to stdout and stderr; the stop keeps it
_stopping = threading.Lock()  # taken by the one stop, never released
_stopper: int | None = None  # the thread that runs the stop
_report: Callable[[], str] | None = None  # while the script works: its report line
_actions: list[Callable[[], None]] = []  # what the stop does before it kills workers


def at_stop(action: Callable[[], None]) -> None:
    """Have the stop call action() after the report, in the order of the calls: what
    modules ask for as they are imported (wait for the saves, kill the children)
    comes before what a script asks for on its way (remove a folder they used)."""
    _actions.append(action)


@contextlib.contextmanager
def reporting(report: str | Callable[[], str]) -> Iterator[None]:
    """While the block runs, a stop prints report on stderr (or the line report()
    returns, which may print more before). Elsewhere than in a script, a
    KeyboardInterrupt in the block does the same, then raises SystemExit(130)."""
    global _report
    _report = report if callable(report) else lambda: report
    try:
        yield
    except KeyboardInterrupt:
        print(_report(), file=sys.stderr, flush=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        _report = None


def temporary_folder(prefix: str) -> str:
    """A new folder for the run's own files, removed as the run ends, whatever ends it
    but SIGKILL: at exit, or by the stop."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    at_stop(lambda: shutil.rmtree(folder, ignore_errors=True))
    return folder


def uninterrupted() -> contextlib.AbstractContextManager[bool]:
    """A block that a stop does not cut in two: the stop waits for its end (and in a
    script, no other thread writes meanwhile: it is the lock of the output)."""
    return _output


def end(status: int, line: str = '') -> NoReturn:
    """End the run now, with line on stderr: in a script as a stop does, elsewhere
    with SystemExit."""
    if ROLE != 'script':
        if line:
            print(line, file=sys.stderr, flush=True)
        raise SystemExit(status)
    _stop(status, line)


def _stop(status: int, line: str | None = None) -> NoReturn:
    """Report, do what was asked, end the workers and exit; line None: the report."""
    global _stopper
    _stopping.acquire()  # a second stop, in another thread, waits here for the exit
    _stopper = threading.get_ident()
    _output.acquire()  # from here on, no other thread writes a byte
    try:
        if line is None and _report is not None:
            line = _report()
        if line and sys.stderr:  # None when the script was started with stderr closed
            print(line, file=sys.stderr)
        for action in _actions:
            action()
        _end_workers()
        for stream in filter(None, (sys.stdout, sys.stderr)):
            stream.flush()
    except BaseException:  # a bug of the stop: show it, and exit all the same
        import traceback

        traceback.print_exc()
    finally:
        os._exit(status)


def _end_workers() -> None:
    """Kill the processes that multiprocessing started, pool workers of any start
    method, having cleaned up as multiprocessing does at exit: release the semaphores
    of their queues (or its resource tracker reports them as leaked) and remove the
    folder of the forkserver's socket. The cleaning comes first: a dead worker may be
    started anew (Dask's nanny does so), with new semaphores. A process half started
    comes first of all: see _launching."""
    if 'multiprocessing' not in sys.modules:
        return
    import multiprocessing.util
    import shutil

    deadline = time.monotonic() + WORKER_GRACE
    while _launching() and time.monotonic() < deadline:
        time.sleep(0.005)
    multiprocessing.util._run_finalizers(0)  # type: ignore[attr-defined]
    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    if folder := config.get('tempdir'):
        shutil.rmtree(folder, ignore_errors=True)
    for child in multiprocessing.active_children():
        child.kill()


def _launching() -> bool:
    """Is a thread starting a process, between its fork and the data it sends it? The
    stop lets that end: a new Python cut off there would die of the EOF with a
    traceback, before it could import this module. (One that has not forked yet waits
    for the output, which the stop holds: it flushes stdout first.)"""
    for frame in sys._current_frames().values():
        while frame is not None:
            code = frame.f_code
            if code.co_name == '_launch' and 'multiprocessing' in code.co_filename:
                return True
            frame = frame.f_back  # type: ignore[assignment]
    return False


def _let_through(signum: int, frame: object) -> None:
    """A stop signal that some code unblocked in the main thread: block it again and
    send it on to the thread that waits for it."""
    _signal.pthread_sigmask(_signal.SIG_BLOCK, STOP_SIGNALS)
    os.kill(os.getpid(), signum)


def _wait_for_signals() -> None:
    signum = _signal.sigwait(STOP_SIGNALS)
    _stop(128 + signum)  # the others stay blocked: a second Ctrl-C changes nothing


def _watch(pid: int) -> None:
    """Stop, as SIGTERM would, as soon as process pid has ended."""

    def wait() -> None:
        _ended(pid)
        _stop(EXIT_TERMINATED)

    threading.Thread(target=wait, name=f'watch {pid}', daemon=True).start()


def _ended(pid: int, timeout: float | None = None) -> bool:
    """Wait until process pid has ended, at most timeout seconds: has it?"""
    try:
        fd = os.pidfd_open(pid)  # Linux: readable once the process has ended
    except ProcessLookupError:
        return True  # it has ended already
    except (AttributeError, OSError):  # another system: ask every POLL_INTERVAL
        deadline = None if timeout is None else time.monotonic() + timeout
        while _exists(pid):
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(POLL_INTERVAL)
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Output:
    """sys.stdout or sys.stderr, written one write at a time, see _failed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        with _output:
            try:
                return self.stream.write(text)
            except OSError as exc:
                self._failed(exc)
                return len(text)

    def flush(self) -> None:
        with _output:
            try:
                self.stream.flush()
            except OSError as exc:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        """A script's stdout closed or full ends the run; a worker lets the output
        go (its script finds out on its own next write), and so does stderr."""
        if ROLE != 'script' or self.stream is not _stdout or _stopper is not None:
            return  # (during the stop, this was the stop's own last flush)
        if isinstance(exc, BrokenPipeError):
            _stop(EXIT_CLOSED_PIPE, '')
        _stop(1, f'*** Cannot write the output: {exc.strerror or exc}.')

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding...
        return getattr(self.stream, name)


def _missing_package(
    kind: type[BaseException], exc: BaseException, traceback: TracebackType | None
) -> None:
    """sys.excepthook of a script: a package of RUN_PACKAGES that this Python cannot
    import is one line, which says how to run the script with the project's venv."""
    name = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if (name or '').partition('.')[0] not in RUN_PACKAGES:
        sys.__excepthook__(kind, exc, traceback)
        return
    import shlex

    root = os.path.dirname(HERE)
    script = os.path.relpath(os.path.realpath(sys.argv[0]), root)
    run = shlex.join(['.venv/bin/python', script, *sys.argv[1:]])
    commands = f'cd {shlex.quote(root)} && {SET_UP} && {run}'
    print(
        f'*** {os.path.basename(script)} needs {name}, which this Python'
        f" ({sys.executable}) does not have. Make the project's venv as the README"
        f' says and run the script with it: {commands}',
        file=sys.stderr,
    )


def _become_worker() -> None:
    """In a pool's worker process: Ctrl-C is the script's, SIGTERM ends the worker,
    and the worker ends when the script does."""
    global ROLE, _report, _output, _stopping, _stopper
    ROLE, _report, _stopper = 'worker', None, None
    _actions.clear()  # a forked worker must not do the script's stop
    _output, _stopping = threading.RLock(), threading.Lock()  # maybe held at the fork
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
    _signal.pthread_sigmask(_signal.SIG_UNBLOCK, {_signal.SIGTERM})
    if script := os.environ.get(STOP_WITH_PID):
        _watch(int(script))
        sys.excepthook = _failed_in_worker


def _failed_in_worker(
    kind: type[BaseException], exc: BaseException, traceback: TracebackType | None
) -> None:
    """sys.excepthook of a worker, where multiprocessing reports a failure to start:
    one that the script's stop caused (it released the semaphores of the queue that
    the worker was about to open: FileNotFoundError) is the stop's business, which
    kills the worker or ends the script in a moment: the worker waits for that,
    silent. Any other failure is printed."""
    if not _ended(int(os.environ[STOP_WITH_PID]), timeout=WORKER_GRACE):
        sys.__excepthook__(kind, exc, traceback)


_stdout = sys.stdout
if ROLE != 'library':  # each interpreter has a sys.stdout of its own
    if sys.stdout is not None:
        sys.stdout = _Output(sys.stdout)
    if sys.stderr is not None:
        sys.stderr = _Output(sys.stderr)
if ROLE in ('script', 'worker'):  # sub-interpreters take no signals, and never fork
    os.register_at_fork(after_in_child=_become_worker)
if ROLE == 'worker':
    _become_worker()
elif ROLE == 'script':
    sys.excepthook = _missing_package
    for signum in STOP_SIGNALS:  # not ignored (nohup, cmd &): it may be dropped unseen
        _signal.signal(signum, _let_through)
    if sys.version_info < (3, 14):
        # Once multiprocessing has started its resource tracker, it unblocks SIGINT and
        # SIGTERM in the thread that started it: in the processes that thread starts
        # next, a Ctrl-C would interrupt the start-up. They are blocked already, which
        # the tracker wants too: have it leave them so. (3.14 restores the mask.)
        from multiprocessing import resource_tracker

        resource_tracker._HAVE_SIGMASK = False  # type: ignore[attr-defined]
    threading.Thread(target=_wait_for_signals, name='stopping', daemon=True).start()
    if starter := os.environ.get(STOP_WITH_PID):  # set by harness.start
        _watch(int(starter))
    os.environ[STOP_WITH_PID] = str(os.getpid())
