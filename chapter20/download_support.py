"""Support for the download scripts: saving safely, one-line reports, picklable errors.

``save_atomically`` writes a file aside and renames it into place, so a reader sees the
old file or the new one, never half of one, and a failed write leaves the old one. It
holds a shared lock (``flock``) on the folder meanwhile, and a stop (stopping.py) takes
that lock exclusively before it ends the run: a save in progress in any thread,
sub-interpreter or worker process finishes first, so no temporary file stays behind.
``make_folder`` creates the download folder or ends the script with one line.
``one_line`` names an exception in one line, even when httpx gave it several or none;
``failure`` adds, when no server answered, what to do: ``unreachable`` says it.

Importing this module also teaches pickle to carry ``httpx.HTTPStatusError``, whose
constructor has required keyword-only arguments: without that, a 404 in a worker
process could not travel back to the caller, and it would break the whole pool.
"""

import stopping

import contextlib
import copyreg
import fcntl
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

_folders: set[Path] = set()  # where this process saves: the stop waits for them
NO_ANSWER = (httpx.ConnectError, httpx.ConnectTimeout)  # no server at that address
START_LOCAL = '.venv/bin/python chapter20/slow_server.py --labels'  # as the README says
# How the flags.py series is told its server (flags.py reads it).
SET_BASE_URL = 'set FLAGS_BASE_URL to one of them, such as http://127.0.0.1:8000/flags'


def save_atomically(path: Path, data: bytes) -> None:
    part = path.with_name(f'.{path.name}.{uuid.uuid4().hex}.part')
    _folders.add(path.parent)
    with _locked(path.parent, fcntl.LOCK_SH):  # many saves at once, but no stop
        try:
            part.write_bytes(data)
            part.replace(path)
        except OSError as exc:  # a full disk...: name the flag, not its temporary file
            exc.filename, exc.filename2 = str(path), None
            raise
        finally:
            part.unlink(missing_ok=True)


def make_folder(path: Path) -> None:
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:  # a file of that name, no permission, a read-only disk...
        sys.exit(f'*** Cannot create the folder {path}: {exc.strerror}.')
    _folders.add(path)  # the workers of a process pool may save into it


@contextlib.contextmanager
def _locked(folder: Path, how: int) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, how)  # released when fd closes, or when the process ends
        yield
    finally:
        os.close(fd)


def _wait_for_saves() -> None:
    """Take each folder's lock for good: the saves under way end, no other starts."""
    for folder in list(_folders):  # a copy: a thread may add to it meanwhile
        with contextlib.suppress(OSError):  # a folder removed meanwhile
            fd = os.open(folder, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)


stopping.at_stop(_wait_for_saves)


def one_line(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:  # without '[Errno 28]' and quotes
        reason = f'{exc.strerror}: {exc.filename}' if exc.filename else exc.strerror
    else:
        reason = next(iter(str(exc).splitlines()), '') or 'no details'
    return f'{type(exc).__name__}: {reason}'


def unreachable(base_url: str, choose: str) -> str:
    """What to do when no server answered at base_url: start the local flag servers,
    then choose one (choose says how: an option, a variable)."""
    why = 'is this machine offline? To work offline, start'
    if urlsplit(base_url).hostname in ('127.0.0.1', 'localhost', '::1'):
        why = 'is the flag server running? Start'
    return (
        f'Nothing answered at {base_url}: {why} the local flag servers with'
        f' {START_LOCAL}, and {choose}.'
    )


def failure(exc: Exception, base_url: str) -> str:
    """The line that ends a run of the flags.py series: what failed, and when no
    server answered at base_url, what to do."""
    line = f'*** Download failed: {one_line(exc)}'
    if isinstance(exc, NO_ANSWER):
        line = f'{line.removesuffix(".")}. {unreachable(base_url, SET_BASE_URL)}'
    return line


def rebuild_status_error(
    message: str, request: httpx.Request, response: httpx.Response
) -> httpx.HTTPStatusError:
    return httpx.HTTPStatusError(message, request=request, response=response)


def reduce_status_error(
    exc: httpx.HTTPStatusError,
) -> tuple[Callable[..., httpx.HTTPStatusError], tuple[object, ...]]:
    return rebuild_status_error, (str(exc), exc.request, exc.response)


copyreg.pickle(httpx.HTTPStatusError, reduce_status_error)
