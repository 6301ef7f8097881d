"""Ctrl-C and other endings: stopping.py, the one place where each way a run ends is
handled, seen from inside (the runs of each script show it from outside).

A script imports stopping first; Python's start-up is all that runs before it. In any
other process, this one included, the module must change nothing global, so these
tests can import the scripts; and a save in progress, in any thread, must end before a
stop does, so that no temporary file stays behind.
"""

from __future__ import annotations

import stopping

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import download_support
import harness
from flag_images import flag_gif
from harness import stop
from primes import NUMBERS
from tests.support import (
    CHAPTER,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    LONG_TIMEOUT,
    SHORT_TIMEOUT,
    Holding,
    ctrl_c,
    needs_python,
    nothing_left,
    run_script,
    start_script,
    started_by,
)


def test_imported_by_a_test_it_changes_nothing_global() -> None:
    """Here stopping is a library: Ctrl-C is still Python's KeyboardInterrupt, stdout
    and stderr are the test's own, and no signal is blocked."""
    assert stopping.ROLE == 'library'
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not isinstance(sys.stdout, stopping._Output)
    assert not stopping.STOP_SIGNALS & signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_reporting_turns_a_keyboard_interrupt_into_the_report_and_status_130(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Outside a script, a KeyboardInterrupt in the block prints what the report says
    at that moment, and becomes SystemExit(130)."""
    done: list[str] = []

    def work() -> None:
        with stopping.reporting(lambda: f'*** Interrupted: {len(done)} done.'):
            done.append('one')
            raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exited:
        work()
    assert exited.value.code == 130
    assert capsys.readouterr() == ('', '*** Interrupted: 1 done.\n')


def test_end_prints_one_line_and_exits_with_the_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Outside a script, end(status, line) is the line on stderr and SystemExit."""
    with pytest.raises(SystemExit) as exited:
        stopping.end(1, '*** Cannot write the output: No space left on device.')
    assert exited.value.code == 1
    assert capsys.readouterr().err == (
        '*** Cannot write the output: No space left on device.\n'
    )


def test_end_with_a_status_alone_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """end(status) without a line ends the run with that status and prints nothing."""
    with pytest.raises(SystemExit) as exited:
        stopping.end(2)
    assert exited.value.code == 2
    assert capsys.readouterr() == ('', '')


def test_a_stop_waits_for_a_save_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save holds its folder's lock while it writes; the stop takes that lock for
    good, so it waits for the save under way, here in another thread, to end: when
    the stop goes on, the flag is whole and its temporary file gone."""
    writing, asking, release = threading.Event(), threading.Event(), threading.Event()
    record: list[str] = []
    write_bytes, flock = Path.write_bytes, fcntl.flock

    def slow_write(path: Path, data: bytes) -> int:
        writing.set()
        assert release.wait(SHORT_TIMEOUT)
        return write_bytes(path, data)

    def asking_flock(fd: int, how: int) -> None:
        if how == fcntl.LOCK_EX:
            asking.set()  # the stop asks for the lock, and waits from here on
        flock(fd, how)

    monkeypatch.setattr(Path, 'write_bytes', slow_write)
    monkeypatch.setattr(fcntl, 'flock', asking_flock)
    monkeypatch.setattr(download_support, '_folders', set())

    def save() -> None:
        download_support.save_atomically(tmp_path / 'CN.gif', b'GIF89a')

    def stop() -> None:  # what a stop does first, then what it finds on disk
        download_support._wait_for_saves()
        found = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        record.append(f'stopped, finding {found}')

    saving, stopping_ = threading.Thread(target=save), threading.Thread(target=stop)
    saving.start()
    try:
        assert writing.wait(SHORT_TIMEOUT)
        probe = os.open(tmp_path, os.O_RDONLY)
        try:  # the save holds the lock: an exclusive one is refused meanwhile
            with pytest.raises(BlockingIOError):
                flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
        stopping_.start()
        assert asking.wait(SHORT_TIMEOUT)
        record.append('released')
    finally:
        release.set()
    saving.join(SHORT_TIMEOUT)
    stopping_.join(SHORT_TIMEOUT)
    assert record == ['released', "stopped, finding {'CN.gif': b'GIF89a'}"]


def test_a_folder_made_for_downloads_is_locked_by_the_stop_before_any_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop also takes the lock of a download folder in which this process has
    saved nothing yet: a process pool's workers save into it, and none may start."""
    monkeypatch.setattr(download_support, '_folders', set())
    folder = tmp_path / 'downloaded'
    download_support.make_folder(folder)

    download_support._wait_for_saves()

    probe = os.open(folder, os.O_RDONLY)
    try:  # a save, here or in a worker process, would wait for this lock
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        os.close(probe)


# Run as sitecustomize in a script's process: the first save writes half its file, says
# so, then waits until the stop asks for the folder's lock before it writes the rest.
SAVE_CAUGHT_MIDWAY = """
import fcntl, os, pathlib, threading
asked = threading.Event()
flock, write_bytes = fcntl.flock, pathlib.Path.write_bytes

def asking_flock(fd, how):
    if how == fcntl.LOCK_EX:
        asked.set()
    flock(fd, how)

def write_midway(path, data):
    write_bytes(path, data[: len(data) // 2])
    pathlib.Path(os.environ['SAVING']).touch()
    asked.wait(60)
    return write_bytes(path, data)

fcntl.flock, pathlib.Path.write_bytes = asking_flock, write_midway
"""


def test_a_script_stopped_while_it_saves_a_flag_ends_once_the_save_is_done(
    tmp_path: Path,
) -> None:
    """Ctrl-C while flags.py is half way through writing a flag: the stop waits for
    that save, so the run ends with the flag whole on disk and no temporary file."""
    (tmp_path / 'site').mkdir()
    (tmp_path / 'site' / 'sitecustomize.py').write_text(SAVE_CAUGHT_MIDWAY)
    (tmp_path / 'run').mkdir()
    saving = tmp_path / 'saving'
    with Holding(answered=1) as server:
        env = {
            'FLAGS_BASE_URL': server.base_url,
            'PYTHONPATH': str(tmp_path / 'site'),
            'SAVING': str(saving),
        }
        child, _, err = start_script('flags.py', cwd=tmp_path / 'run', env=env)
        try:
            deadline = time.monotonic() + LONG_TIMEOUT
            while not saving.exists():  # BD.gif is half written
                assert child.poll() is None, err.lines
                assert time.monotonic() < deadline, 'flags.py saved nothing'
                time.sleep(0.01)
            status = ctrl_c(child)
            left = nothing_left(child)
        finally:
            stop(child)
    assert status == EXIT_INTERRUPTED, err.lines
    saved = {p.name: p.read_bytes() for p in (tmp_path / 'run/downloaded').iterdir()}
    assert saved == {'BD.gif': flag_gif('BD')}
    assert left == []


# The globals that a script's stopping changes, as a process sees them after the import.
GLOBALS_AFTER_IMPORT = f"""
import signal, sys
sys.path.insert(0, {str(CHAPTER)!r})
stdout, stderr = sys.stdout, sys.stderr
import stopping
print(stopping.ROLE, sys.stdout is stdout, sys.stderr is stderr,
      signal.getsignal(signal.SIGINT) is signal.default_int_handler,
      sorted(stopping.STOP_SIGNALS & signal.pthread_sigmask(signal.SIG_BLOCK, [])))
"""


def test_imported_where_no_script_runs_it_changes_nothing_global(
    tmp_path: Path,
) -> None:
    """In a process that runs no file, such as ``python -c`` or a REPL, stopping is a
    library too: stdout and stderr stay Python's own, Ctrl-C its KeyboardInterrupt,
    and no signal is blocked."""
    run = run_script('-c', GLOBALS_AFTER_IMPORT, cwd=tmp_path)
    assert (run.returncode, run.stderr) == (0, '')
    assert run.stdout == 'library True True True []\n'


@pytest.mark.parametrize(
    'site',
    [
        pytest.param('', id='pidfd'),
        pytest.param('import os\ndel os.pidfd_open\n', id='polling'),
    ],
)
def test_a_script_stops_as_sigterm_would_once_the_process_it_ends_with_ends(
    site: str, tmp_path: Path
) -> None:
    """A script whose STOP_WITH_PID process ends, even by SIGKILL, stops as SIGTERM
    would stop it: status 143 (here the flag server, which reports nothing). Where
    os.pidfd_open is missing (macOS, an old Linux), it asks every POLL_INTERVAL."""
    (tmp_path / 'sitecustomize.py').write_text(site)
    other = [sys.executable, '-c', 'import sys; sys.stdin.read()']
    with subprocess.Popen(other, stdin=subprocess.PIPE) as process:
        env = {
            **os.environ,
            stopping.STOP_WITH_PID: str(process.pid),
            'PYTHONPATH': str(tmp_path),
        }
        server = subprocess.Popen(
            [sys.executable, '-u', str(CHAPTER / 'slow_server.py'), '0'],
            cwd=tmp_path, env=env, text=True, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            assert server.stdout.readline().startswith('Serving flags on ')
            process.kill()
            process.wait()  # reaped, as its own parent would: a zombie still exists
            status = server.wait(LONG_TIMEOUT)
            assert server.stderr is not None
            err = server.stderr.read()
        finally:
            stop(server)
    assert (status, err) == (EXIT_TERMINATED, '')


# Run as sitecustomize in a script's process: Ctrl-C while the script imports stopping,
# once stopping has blocked the signals (its import registers hooks at fork: the first
# call, in stopping's import, sends the signal; a kill to this process, unblocked, is
# handled before os.kill returns).
CTRL_C_DURING_THE_IMPORT = """
import os, signal, sys
register = os.register_at_fork

def register_at_fork(**hooks):
    if 'stopping' in sys.modules and os.register_at_fork is register_at_fork:
        os.register_at_fork = register
        os.kill(os.getpid(), signal.SIGINT)
    register(**hooks)

os.register_at_fork = register_at_fork
"""


def test_ctrl_c_while_the_script_imports_stopping_is_a_quiet_stop(
    tmp_path: Path,
) -> None:
    """Ctrl-C while the script imports stopping, once its first line has blocked the
    signals, waits for the thread that stops the run: status 130, nothing on stderr,
    and no KeyboardInterrupt traceback out of the middle of an import."""
    (tmp_path / 'sitecustomize.py').write_text(CTRL_C_DURING_THE_IMPORT)
    env = {'PYTHONPATH': str(tmp_path)}
    child, _, err = start_script('slow_server.py', '0', cwd=tmp_path, env=env)
    try:
        status = child.wait(LONG_TIMEOUT)
    finally:
        stop(child)
    assert (status, err.text()) == (EXIT_INTERRUPTED, '')


# Run as sitecustomize in flags.py's process: the stop's wait for the saves fails.
BROKEN_STOP = """
import fcntl
flock = fcntl.flock

def broken_flock(fd, how):
    if how == fcntl.LOCK_EX:
        raise RuntimeError('a bug in what the stop does')
    flock(fd, how)

fcntl.flock = broken_flock
"""


def test_a_stop_that_fails_shows_why_and_ends_the_run_all_the_same(
    tmp_path: Path,
) -> None:
    """A bug in what the stop does (here, taking a folder's lock raises) is shown, a
    traceback after the report, and the run still ends at once, with the stop's
    status: a stop never hangs and never hides its own error."""
    (tmp_path / 'site').mkdir()
    (tmp_path / 'site' / 'sitecustomize.py').write_text(BROKEN_STOP)
    with Holding() as server:
        env = {'FLAGS_BASE_URL': server.base_url, 'PYTHONPATH': str(tmp_path / 'site')}
        child, _, err = start_script('flags.py', cwd=tmp_path, env=env)
        try:
            server.wait_for_held(1)
            status = ctrl_c(child)
        finally:
            stop(child)
    lines = err.text().splitlines()
    assert status == EXIT_INTERRUPTED
    assert lines[:3] == [
        '',
        '*** Interrupted: the flags above were saved.',
        'Traceback (most recent call last):',
    ]
    assert lines[-1] == 'RuntimeError: a bug in what the stop does'


# Run as sitecustomize in flags.py's process: while the stop runs (holding its locks),
# the first lock it asks for forks a process first, as a pool starting a worker then
# would. That process says so, then waits for its own end; the stop goes on once it
# has heard from it.
FORK_DURING_THE_STOP = """
import fcntl, os, select, threading, warnings
flock = fcntl.flock
forked = False

def forking_flock(fd, how):
    global forked
    if how == fcntl.LOCK_EX and not forked:
        forked = True
        heard, say = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # 3.12+: fork() in a process with threads
            pid = os.fork()
        if pid == 0:
            print('forked during the stop', flush=True)
            os.write(say, b'.')
            threading.Event().wait()  # until the end of the script ends it
        select.select([heard], [], [], 60)
    flock(fd, how)

fcntl.flock = forking_flock
"""


def test_a_process_forked_during_the_stop_writes_and_ends_with_the_script(
    tmp_path: Path,
) -> None:
    """A process forked while the stop holds its locks, as a pool may start a
    worker then, gets locks of its own and no stop of the script's to do: it can
    write, and it ends with the script, though the script's locks stay held in it."""
    (tmp_path / 'site').mkdir()
    (tmp_path / 'site' / 'sitecustomize.py').write_text(FORK_DURING_THE_STOP)
    with Holding() as server:
        env = {'FLAGS_BASE_URL': server.base_url, 'PYTHONPATH': str(tmp_path / 'site')}
        child, out, err = start_script('flags.py', cwd=tmp_path, env=env)
        try:
            server.wait_for_held(1)
            status = ctrl_c(child)
            left = nothing_left(child)
        finally:
            end_what_is_left(child)
    assert status == EXIT_INTERRUPTED, err.lines
    assert out.text() == 'forked during the stop\n'
    assert left == []


# Run as sitecustomize in proc_pool.py's process and its workers: the first check of
# each worker says so in the folder STUCK, then never ends. It waits; or, with
# HOLD_THE_GIL set, it spins in a C loop that never lets go of the GIL, so that no
# thread of that worker runs Python code again.
STUCK_WORKERS = """
import itertools, os, threading, time
script = os.environ.setdefault('SCRIPT_PID', str(os.getpid()))
perf_counter = time.perf_counter

def stuck_perf_counter():
    if str(os.getpid()) != script:
        open(os.path.join(os.environ['STUCK'], str(os.getpid())), 'w').close()
        if os.environ.get('HOLD_THE_GIL'):
            sum(itertools.count())
        threading.Event().wait()
    return perf_counter()

time.perf_counter = stuck_perf_counter
"""


def start_stuck_workers(
    folder: Path, start_method: str = '', hold_the_gil: bool = False
) -> tuple[subprocess.Popen[str], harness.Lines]:
    """``proc_pool.py 2`` with STUCK_WORKERS, once both workers are in their first
    check for good; return the script's process and its stderr."""
    env = started_by(start_method, folder) if start_method else {}
    with (folder / 'sitecustomize.py').open('a') as site:
        site.write(STUCK_WORKERS)
    stuck = folder / 'stuck'
    stuck.mkdir()
    env |= {'PYTHONPATH': str(folder), 'STUCK': str(stuck)}
    env |= {'HOLD_THE_GIL': '1'} if hold_the_gil else {}
    child, _, err = start_script('proc_pool.py', '2', cwd=folder, env=env)
    deadline = time.monotonic() + LONG_TIMEOUT
    while len(list(stuck.iterdir())) < 2:
        if child.poll() is not None or time.monotonic() > deadline:
            stop(child)
            pytest.fail(f'the workers did not start their checks: {err.lines}')
        time.sleep(0.01)
    return child, err


def end_what_is_left(child: subprocess.Popen[str]) -> None:
    """Kill whatever the run left running, after a failed test; then stop it."""
    for process in harness.still_running(child):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(process.split()[0]), signal.SIGKILL)
    stop(child)


def test_a_stop_kills_workers_that_hold_the_gil(tmp_path: Path) -> None:
    """Ctrl-C ends the pool's workers at once even when they can run no Python code
    (here each spins in a C loop that keeps the GIL, as a long regex search can): the
    stop kills them, rather than wait for them to notice that the script has ended."""
    child, err = start_stuck_workers(tmp_path, hold_the_gil=True)
    try:
        status = ctrl_c(child)
        left = nothing_left(child)
    finally:
        end_what_is_left(child)
    assert status == EXIT_INTERRUPTED
    assert err.text() == '*** Interrupted: 0 of 20 numbers checked.\n'
    assert left == []


@pytest.mark.parametrize(
    'start_method',
    [
        pytest.param('fork', id='fork'),
        pytest.param('forkserver', id='forkserver'),
        pytest.param('spawn', id='spawn'),
    ],
)
def test_workers_busy_in_a_task_end_when_sigkill_ends_the_script(
    start_method: str, tmp_path: Path
) -> None:
    """SIGKILL, which the script cannot catch, ends its pool's workers too, even in a
    task that would never end: each watches the script (STOP_WITH_PID), whatever
    started it, a fork of the script, a fork of the fork server, or a new Python."""
    child, _ = start_stuck_workers(tmp_path, start_method)
    try:
        child.kill()
        child.wait(LONG_TIMEOUT)
        left = nothing_left(child)
    finally:
        end_what_is_left(child)
    assert left == []


# Added to the sitecustomize that picks the start method: each process the script
# starts (pool workers, the fork server) sends itself SIGINT as it starts up, before
# it imports anything of the script, as a Ctrl-C landing at that moment would.
CTRL_C_AS_A_PROCESS_STARTS = """
import os, signal
if os.environ.setdefault('SCRIPT_PID', str(os.getpid())) != str(os.getpid()):
    os.kill(os.getpid(), signal.SIGINT)
"""


@pytest.mark.parametrize(
    'start_method',
    [pytest.param('spawn', id='spawn'), pytest.param('forkserver', id='forkserver')],
)
def test_a_ctrl_c_as_a_pool_process_starts_up_waits_there_unseen(
    start_method: str, tmp_path: Path
) -> None:
    """A Ctrl-C that reaches a pool's process as it starts up, before it has imported
    stopping, is held back there (SIGINT stays blocked, as in every process that the
    script starts), not a KeyboardInterrupt out of its start-up: the run goes on,
    and a Ctrl-C to the script ends it with its one-line report only. (On 3.10-3.13
    this needs stopping to keep the resource tracker from unblocking the signals.)"""
    env = started_by(start_method, tmp_path)
    with (tmp_path / 'sitecustomize.py').open('a') as site:
        site.write(CTRL_C_AS_A_PROCESS_STARTS)
    child, out, err = start_script('proc_pool.py', '2', cwd=tmp_path, env=env)
    try:
        # The first result: not prime, known at once; the second takes seconds.
        first = f'{max(NUMBERS):16}     '
        started = out.wait_until(
            lambda lines: any(line.startswith(first) for line in lines), LONG_TIMEOUT
        )
        status = ctrl_c(child)
        left = nothing_left(child)
    finally:
        stop(child)
    assert started, (out.lines, err.lines)
    assert status == EXIT_INTERRUPTED
    assert err.text() == '*** Interrupted: 1 of 20 numbers checked.\n'
    assert left == []


# Added to the sitecustomize that picks spawn: in the script's process, each worker is
# held between its fork and the data that the script sends it, until the test says.
HOLD_A_WORKER_HALF_STARTED = """
import os, time
from multiprocessing import util
if os.environ.setdefault('SCRIPT_PID', str(os.getpid())) == str(os.getpid()):
    spawnv_passfds = util.spawnv_passfds

    def holding(path, args, passfds):
        pid = spawnv_passfds(path, args, passfds)
        if 'spawn_main' in repr(args):  # a worker (the resource tracker is another)
            open('forked', 'w').close()
            while not os.path.exists('go'):
                time.sleep(0.005)
        return pid

    util.spawnv_passfds = holding
"""


def test_a_worker_half_started_at_ctrl_c_ends_unseen(tmp_path: Path) -> None:
    """A Ctrl-C while a pool's worker is half started, forked but not yet sent what to
    run: the stop lets the script send it, then ends it, so that the new Python does
    not die of an unfinished message with a traceback of its own. The run ends with
    the report alone."""
    env = started_by('spawn', tmp_path)
    with (tmp_path / 'sitecustomize.py').open('a') as site:
        site.write(HOLD_A_WORKER_HALF_STARTED)
    child, _, err = start_script('proc_pool.py', '2', cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + LONG_TIMEOUT
        while not (forked := (tmp_path / 'forked').exists()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        os.killpg(child.pid, signal.SIGINT)
        reported = err.wait_until(bool, LONG_TIMEOUT)  # the stop has begun
        (tmp_path / 'go').touch()
        status = child.wait(LONG_TIMEOUT)
        left = nothing_left(child)
    finally:
        stop(child)
    assert forked
    assert reported, (status, err.text())
    assert status == EXIT_INTERRUPTED
    assert err.text() == '*** Interrupted: 0 of 20 numbers checked.\n'
    assert left == []


@needs_python(3, 14)
@pytest.mark.skipif(sys.platform != 'linux', reason="reads the threads' names in /proc")
def test_the_thread_that_waits_for_the_stop_signals_is_named_stopping(
    tmp_path: Path,
) -> None:
    """The thread that waits for Ctrl-C and SIGTERM is named ``stopping``, a name the
    system shows from Python 3.14 on (``ps -L``, ``top -H``, a debugger), so a reader
    looking at a script's threads can tell it from the script's own."""
    child, out, _ = start_script('slow_server.py', '0', cwd=tmp_path)
    try:
        assert out.wait_until(bool, LONG_TIMEOUT)  # serving: every thread has started
        tasks = Path(f'/proc/{child.pid}/task')
        names = [(task / 'comm').read_text().strip() for task in tasks.iterdir()]
    finally:
        stop(child)
    assert 'stopping' in names
