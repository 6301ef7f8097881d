"""Support for the download scripts: saving safely, one-line reports, picklable errors.

``save_atomically`` writes a file aside and renames it into place, so a reader sees the
old file or the new one, never half of one, and a failed write leaves the old one.
``make_folder`` creates the download folder or ends the script with one line.
``one_line`` names an exception in one line, even when httpx gave it several or none.

Importing this module also teaches pickle to carry ``httpx.HTTPStatusError``, whose
constructor has required keyword-only arguments: without that, a 404 in a worker
process could not travel back to the caller, and it would break the whole pool.
"""

import copyreg
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx


def save_atomically(path: Path, data: bytes) -> None:
    part = path.with_name(f'.{path.name}.{uuid.uuid4().hex}.part')
    try:
        part.write_bytes(data)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def make_folder(path: Path) -> None:
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:  # a file of that name, no permission, a read-only disk...
        sys.exit(f'*** Cannot create the folder {path}: {exc.strerror}.')


def one_line(exc: Exception) -> str:
    reason = next(iter(str(exc).splitlines()), '') or 'no details'
    return f'{type(exc).__name__}: {reason}'


def rebuild_status_error(
    message: str, request: httpx.Request, response: httpx.Response
) -> httpx.HTTPStatusError:
    return httpx.HTTPStatusError(message, request=request, response=response)


def reduce_status_error(
    exc: httpx.HTTPStatusError,
) -> tuple[Callable[..., httpx.HTTPStatusError], tuple[object, ...]]:
    return rebuild_status_error, (str(exc), exc.request, exc.response)


copyreg.pickle(httpx.HTTPStatusError, reduce_status_error)
