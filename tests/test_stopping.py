"""Ctrl-C and other endings: stopping.py, the one place where each way a run ends is
handled, seen from inside (the runs of each script show it from outside).

A script imports stopping first; Python's start-up is all that runs before it. In any
other process, this one included, the module must change nothing global, so these
tests can import the scripts; and a save in progress, in any thread, must end before a
stop does, so that no temporary file stays behind.
"""

from __future__ import annotations

import stopping

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
from flag_images import flag_gif
from harness import stop
from tests.support import (
    CHAPTER,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    LONG_TIMEOUT,
    SHORT_TIMEOUT,
    Holding,
    ctrl_c,
    nothing_left,
    run_script,
    start_script,
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


def test_a_script_stops_as_sigterm_would_once_the_process_it_ends_with_ends(
    tmp_path: Path,
) -> None:
    """A script whose STOP_WITH_PID process ends, even by SIGKILL, stops as SIGTERM
    would stop it: status 143 (here the flag server, which reports nothing)."""
    other = [sys.executable, '-c', 'import sys; sys.stdin.read()']
    with subprocess.Popen(other, stdin=subprocess.PIPE) as process:
        env = {**os.environ, stopping.STOP_WITH_PID: str(process.pid)}
        server = subprocess.Popen(
            [sys.executable, '-u', str(CHAPTER / 'slow_server.py'), '0'],
            cwd=tmp_path, env=env, text=True, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            assert server.stdout.readline().startswith('Serving flags on ')
            process.kill()
            status = server.wait(LONG_TIMEOUT)
            assert server.stderr is not None
            err = server.stderr.read()
        finally:
            stop(server)
    assert (status, err) == (EXIT_TERMINATED, '')
