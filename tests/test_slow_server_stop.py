"""Setting up test servers: Ctrl-C ends slow_server.py even with a connection open.

A flags2 client keeps its connections alive between requests, and the thread serving
one waits for the next request as long as the client keeps it open. Those threads must
not hold the server back when it is told to stop: they are daemon threads.
"""

from __future__ import annotations

import contextlib
import http.client
import signal
from collections.abc import Callable

from harness import FlagServer
from tests.support import EXIT_INTERRUPTED, LONG_TIMEOUT, SHORT_TIMEOUT


def test_ctrl_c_ends_the_server_while_a_client_keeps_its_connection_open(
    flag_server_factory: Callable[..., FlagServer],
) -> None:
    """After one answer on a keep-alive connection that the client leaves open,
    SIGINT ends the server at once with status 130."""
    server = flag_server_factory()
    conn = http.client.HTTPConnection('127.0.0.1', server.port, SHORT_TIMEOUT)
    with contextlib.closing(conn):
        conn.request('GET', '/flags/br/br.gif')
        response = conn.getresponse()
        response.read()
        assert not response.will_close  # the server's thread waits on this connection
        server.process.send_signal(signal.SIGINT)
        status = server.process.wait(LONG_TIMEOUT)
    assert status == EXIT_INTERRUPTED
