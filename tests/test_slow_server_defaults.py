"""Setting up test servers: what slow_server.py falls back on when it is not told.

Without a port it serves on 8000, the LOCAL server of the flags2 clients, which never
waits and never fails; and what is not a flag is a plain-text 404, not an image. The
defaults are read in this process, with a stand-in for the server class that notes
where it was asked to listen and then reports the port as taken, as a busy port would.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import signal
from collections.abc import Iterator

import pytest

import slow_server
from harness import FlagServer
from slow_server import Behaviour
from tests.support import SHORT_TIMEOUT


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[object, ...]]]:
    """Where main asked a server to listen, and how to behave; none starts."""
    calls: list[tuple[object, ...]] = []

    def busy(address: tuple[str, int], behaviour: Behaviour, seed: int) -> None:
        calls.append((address, behaviour))
        raise OSError(errno.EADDRINUSE, 'Address already in use')

    monkeypatch.setattr(slow_server, 'FlagServer', busy)
    handler = signal.getsignal(signal.SIGINT)  # main sets its own
    yield calls
    signal.signal(signal.SIGINT, handler)


def test_without_a_port_the_server_listens_on_8000(
    asked: list[tuple[object, ...]],
) -> None:
    """No PORT means 8000 on 127.0.0.1, with no delay and no errors."""
    with pytest.raises(SystemExit, match=r'cannot serve on 127\.0\.0\.1:8000:'):
        slow_server.main([])
    assert asked == [(('127.0.0.1', 8000), (0.0, 0.0, 0.0))]


def test_the_local_label_answers_at_once_and_never_fails(
    asked: list[tuple[object, ...]],
) -> None:
    """--labels starts LOCAL first, on 8000, with no delay at all and no errors."""
    with pytest.raises(SystemExit, match=r'cannot serve on 127\.0\.0\.1:8000:'):
        slow_server.main(['--labels'])
    assert asked == [(('127.0.0.1', 8000), (0.0, 0.0, 0.0))]


def test_what_is_not_a_flag_is_a_plain_text_404(flag_server: FlagServer) -> None:
    """A 404 says so in text: Content-Type text/plain, and its status line as body."""
    conn = http.client.HTTPConnection('127.0.0.1', flag_server.port, SHORT_TIMEOUT)
    with contextlib.closing(conn):
        conn.request('GET', '/flags/zz/zz.gif')
        response = conn.getresponse()
        answer = (response.status, response.getheader('Content-Type'), response.read())
    assert answer == (404, 'text/plain', b'404 Not Found\n')
