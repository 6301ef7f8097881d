"""Serve generated flag GIFs on 127.0.0.1, as slowly and as unreliably as you ask.

The flags2 clients need a server whose delays and errors can be seen. This one answers
``GET /flags/<cc>/<cc>.gif`` for the codes in country_codes.txt (lower case) and 404 for
any other path. The pictures are drawn in memory by flag_images.py, in the background
after start or on first request: nothing is read from disk, so no path can reach a
file. Each request waits its delay in its own thread, then may fail with 418;
``--seed`` derives both from the request's path and how many times that path was asked
for, so a seeded run fails the same paths whatever the order of arrival.

Ready, it prints ``Serving flags on http://HOST:PORT/flags`` on stdout; then it logs one
line per request on stderr: ``HOST:PORT METHOD PATH STATUS DELAYs`` (the server's own
address; the path with unprintable characters escaped). Ctrl-C stops it with status 130;
bad options exit with status 2. Sample run::

    $ python chapter20/slow_server.py 8001 --delay 0.5:5
    Serving flags on http://127.0.0.1:8001/flags
    127.0.0.1:8001 GET /flags/cn/cn.gif 200 3.217s

``--labels`` starts, in one process, the three servers the clients' labels name:
LOCAL on 8000, DELAY on 8001 (0.5 to 5 s) and ERROR on 8002 (the same delay, 25 % 418).
"""

import argparse
import math
import random
import signal
import sys
import threading
import time
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any, NamedTuple

from flag_images import CODES_FILE, flag_gif

BIND = '127.0.0.1'  # this machine only; pass --bind 0.0.0.0 to serve the network
PORT = 8000
BACKLOG = 1024  # pending connections the kernel holds; the standard library's is 5


class Behaviour(NamedTuple):
    min_delay: float = 0.0
    max_delay: float = 0.0
    error_rate: float = 0.0


LABELS = {
    'LOCAL': (8000, Behaviour()),
    'DELAY': (8001, Behaviour(0.5, 5.0)),
    'ERROR': (8002, Behaviour(0.5, 5.0, 0.25)),
}


class FlagServer(ThreadingHTTPServer):
    request_queue_size = BACKLOG
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        codes: dict[str, str],
        behaviour: Behaviour,
        seed: int,
    ) -> None:
        super().__init__(address, FlagHandler)
        self.codes = codes  # the path of each flag -> its country code
        self.behaviour, self.seed = behaviour, seed
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()  # guards counts and the log, never a delay

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # skip HTTPServer's reverse DNS lookup of the host
        host, self.server_port = self.socket.getsockname()[:2]
        self.server_name = str(host)

    def fate(self, path: str) -> tuple[float, bool]:
        """Draw the delay and whether to fail, the same for the nth request of path."""
        with self.lock:
            self.counts[path] += 1
            nth = self.counts[path]
        draw = random.Random(f'{self.seed} {path} {nth}')
        delay = draw.uniform(self.behaviour.min_delay, self.behaviour.max_delay)
        return delay, draw.random() < self.behaviour.error_rate

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hung up: fine
            super().handle_error(request, client_address)


class FlagHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive: clients reuse their connections
    disable_nagle_algorithm = True  # else headers and body wait 40 ms for an ACK
    server: FlagServer
    delay = 0.0

    def do_GET(self) -> None:
        # The raw target: self.path has a leading '//' folded, and we normalise nothing.
        target = self.requestline.split()[1]
        self.delay, fail = self.server.fate(target)
        time.sleep(self.delay)
        if fail:
            self.reply(HTTPStatus.IM_A_TEAPOT)
        elif target in self.server.codes:
            self.reply(HTTPStatus.OK, flag_gif(self.server.codes[target]), 'image/gif')
        else:
            self.reply(HTTPStatus.NOT_FOUND)

    def reply(
        self, status: HTTPStatus, body: bytes = b'', type_: str = 'text/plain'
    ) -> None:
        body = body or f'{status.value} {status.phrase}\n'.encode()
        self.send_response(status)
        self.send_header('Content-Type', type_)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = '-', size: int | str = '-') -> None:
        host, port = self.server.server_name, self.server.server_port
        words = [*self.requestline.split(), '-', '-']
        path = ''.join(c if c.isprintable() else f'\\x{ord(c):02x}' for c in words[1])
        status = int(code) if isinstance(code, int) else code  # 3.10: str(enum) is long
        line = f'{host}:{port} {words[0]} {path} {status} {self.delay:.3f}s'
        self.delay = 0.0  # a later bad request on this connection was not delayed
        with self.server.lock:
            print(line, file=sys.stderr, flush=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # log_request writes the one line per request; errors add nothing to it


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.exit(2, f'*** Usage error: {message}. Try --help.\n')


def port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a port number from 0 to 65535'
        )
    return int(text)


def delay_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition(':')
    try:
        bounds = float(low), float(high or low)
    except ValueError:
        bounds = (math.nan, math.nan)
    if not 0 <= bounds[0] <= bounds[1] < math.inf:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not SECONDS nor MIN:MAX, with 0 <= MIN <= MAX'
        )
    return bounds


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f'{text!r} is not a probability from 0 to 1')
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = Parser(
        description='Serve generated flag GIFs, optionally slow and failing.'
    )
    parser.add_argument(
        'port', nargs='?', type=port_number, help=f'default {PORT}; 0 picks a free one'
    )
    parser.add_argument(
        '--delay',
        type=delay_range,
        metavar='D|MIN:MAX',
        help='seconds before each answer',
    )
    parser.add_argument(
        '--error-rate',
        type=probability,
        metavar='P',
        help="answer 418 I'm a teapot with probability P",
    )
    parser.add_argument(
        '--seed', type=int, help='make delays and errors the same on every run'
    )
    parser.add_argument(
        '--bind',
        default=BIND,
        metavar='HOST',
        help=f'address to listen on, default {BIND}',
    )
    parser.add_argument(
        '--labels',
        action='store_true',
        help='serve LOCAL, DELAY and ERROR on 8000, 8001, 8002',
    )
    args = parser.parse_args(argv)
    if args.labels and (
        args.port is not None or args.delay or args.error_rate is not None
    ):
        parser.error(
            '--labels sets the ports, delays and error rates itself: '
            'drop PORT, --delay and --error-rate'
        )
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    signal.signal(
        signal.SIGINT, signal.default_int_handler
    )  # even if started with it ignored
    if args.labels:
        plan = list(LABELS.values())
    else:
        low, high = args.delay or (0.0, 0.0)
        plan = [
            (
                PORT if args.port is None else args.port,
                Behaviour(low, high, args.error_rate or 0.0),
            )
        ]
    seed = random.randrange(2**64) if args.seed is None else args.seed
    try:
        all_cc = CODES_FILE.read_text().split()
        codes = {f'/flags/{cc}/{cc}.gif'.lower(): cc for cc in all_cc}
        for port, behaviour in plan:
            try:
                server = FlagServer((args.bind, port), codes, behaviour, seed)
            except OSError as exc:
                sys.exit(
                    f'*** Cannot serve on {args.bind}:{port}: {exc.strerror or exc}.'
                )
            threading.Thread(target=server.serve_forever, daemon=True).start()
            print(
                f'Serving flags on http://{args.bind}:{server.server_port}/flags',
                flush=True,
            )
        # Drawing every flag takes ~0.2 s: do it after the ready line, not before.
        threading.Thread(target=lambda: [*map(flag_gif, all_cc)], daemon=True).start()
        threading.Event().wait()  # the servers run in their threads until Ctrl-C
    except KeyboardInterrupt:
        sys.exit(130)  # the shell's status for "stopped by Ctrl-C"


if __name__ == '__main__':
    main(sys.argv[1:])
