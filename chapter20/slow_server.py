"""Serve generated flag GIFs on 127.0.0.1, as slowly and as unreliably as you ask.

The flags2 clients need a server whose delays and errors can be seen. This one answers
``GET /flags/<cc>/<cc>.gif`` for the codes in country_codes.txt (lower case) and 404 for
any other request target, taken exactly as sent: nothing is normalised, and nothing is
read from disk, because flag_images.py draws the pictures in memory (in the background
once the server is ready, or on first request). Each request waits its delay in its own
thread, then may fail with 418; ``--seed`` derives both from the seed, the path and how
many times that path was asked for, so a seeded run fails the same requests whatever
the order of arrival.

Once listening, it prints ``Serving flags on http://HOST:PORT/flags`` on stdout, then
logs one line per request on stderr: ``HOST:PORT METHOD PATH STATUS DELAYs ARRIVED
ANSWERED`` (the server's own address; unprintable characters of the path escaped; the
moments the request arrived and its answer began, in seconds of ``time.monotonic()``,
a clock that every process of the machine shares, so race.py can draw them). Ctrl-C
stops it with status 130; a usage error exits with status 2, a port it cannot listen
on with 1. Sample run::

    $ .venv/bin/python chapter20/slow_server.py 8001 --delay 0.5:5
    Serving flags on http://127.0.0.1:8001/flags
    127.0.0.1:8001 GET /flags/cn/cn.gif 200 3.217s 5012.004118 5015.221540

``--labels`` starts, in one process, the three servers the clients' labels name,
and each ready line says which one it is::

    $ .venv/bin/python chapter20/slow_server.py --labels
    Serving flags on http://127.0.0.1:8000/flags as LOCAL: answers at once
    Serving flags on http://127.0.0.1:8001/flags as DELAY: waits 0.5-5 s to answer
    Serving flags on http://127.0.0.1:8002/flags as ERROR: waits 0.5-5 s; 25 % are 418
"""

import stopping  # noqa: F401 (first: from here on, every way the run can end is clean)

import argparse
import random
import sys
import threading
import time
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from typing import Any, NamedTuple

from arguments import delay_range, int_in, number_in
from flag_images import CODES_FILE, flag_gif

PROG = Path(__file__).name  # in messages, also when main() runs inside another program
BIND = '127.0.0.1'  # this machine only; pass --bind 0.0.0.0 to serve the network
PORT = 8000
# The request target of each flag -> its country code.
FLAGS = {f'/flags/{cc}/{cc}.gif'.lower(): cc for cc in CODES_FILE.read_text().split()}


class Behaviour(NamedTuple):
    min_delay: float = 0.0
    max_delay: float = 0.0
    error_rate: float = 0.0


LABELS = {  # the servers the flags2 clients name: port, behaviour, what it does
    'LOCAL': (8000, Behaviour(), 'answers at once'),
    'DELAY': (8001, Behaviour(0.5, 5.0), 'waits 0.5-5 s to answer'),
    'ERROR': (8002, Behaviour(0.5, 5.0, 0.25), 'waits 0.5-5 s; 25 % are 418'),
}


class FlagServer(ThreadingHTTPServer):
    request_queue_size = 1024  # pending connections the kernel holds; socketserver's: 5
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], behaviour: Behaviour, seed: int
    ) -> None:
        super().__init__(address, FlagHandler)
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
            draw = random.Random(f'{self.seed} {path} {self.counts[path]}')
        delay = draw.uniform(self.behaviour.min_delay, self.behaviour.max_delay)
        return delay, draw.random() < self.behaviour.error_rate

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hung up: fine
            super().handle_error(request, client_address)


class FlagHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive: clients reuse their connections
    disable_nagle_algorithm = True  # else headers and body wait 40 ms for an ACK
    server: FlagServer
    delay = arrived = 0.0  # of the request being answered; arrived 0.0: not a GET

    def do_GET(self) -> None:
        self.arrived = time.monotonic()
        # The raw target: self.path has a leading '//' folded, and we normalise nothing.
        target = self.requestline.split()[1]
        self.delay, fail = self.server.fate(target)
        time.sleep(self.delay)
        cc = None if fail else FLAGS.get(target)
        status = HTTPStatus(418 if fail else 200 if cc else 404)
        body = flag_gif(cc) if cc else f'{status.value} {status.phrase}\n'.encode()
        self.send_response(status)
        self.send_header('Content-Type', 'image/gif' if cc else 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = '-', size: int | str = '-') -> None:
        host, port = self.server.server_name, self.server.server_port
        words = [*self.requestline.split(), '-', '-']
        path = ''.join(c if c.isprintable() else f'\\x{ord(c):02x}' for c in words[1])
        status = int(code) if isinstance(code, int) else code  # 3.10: str(enum) is long
        now = time.monotonic()  # the answer begins: this line comes before its bytes
        times = f'{self.delay:.3f}s {self.arrived or now:.6f} {now:.6f}'
        line = f'{host}:{port} {words[0]} {path} {status} {times}'
        self.delay = self.arrived = 0.0  # a later bad request has neither
        with self.server.lock:
            print(line, file=sys.stderr, flush=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # log_request writes the one line per request; errors add nothing to it


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    about = 'Serve generated flag GIFs, as slowly and unreliably as you ask.'
    parser = argparse.ArgumentParser(PROG, description=about)
    add = parser.add_argument
    add('port', nargs='?', type=int_in(0, 65535), help=f'default {PORT}; 0: a free one')
    add('--delay', type=delay_range, help='wait SECONDS or MIN:MAX before each answer')
    add('--error-rate', type=number_in(0, 1), help='answer 418 with this probability')
    add('--seed', type=int, help='the same delays and errors on every run')
    add('--bind', default=BIND, metavar='HOST', help=f'listen on HOST, default {BIND}')
    labels = 'serve LOCAL, DELAY and ERROR on ports 8000, 8001 and 8002'
    add('--labels', action='store_true', help=labels)
    args = parser.parse_args(argv)
    if args.labels and (args.port, args.delay, args.error_rate) != (None, None, None):
        parser.error('--labels cannot be combined with PORT, --delay or --error-rate')
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    low, high = args.delay or (0.0, 0.0)
    behaviour = Behaviour(low, high, args.error_rate or 0.0)
    port = PORT if args.port is None else args.port
    plan = LABELS.items() if args.labels else [('', (port, behaviour, ''))]
    seed = random.randrange(2**64) if args.seed is None else args.seed
    for label, (port, behaviour, what) in plan:
        try:
            server = FlagServer((args.bind, port), behaviour, seed)
        except OSError as exc:
            why = exc.strerror or exc
            sys.exit(f'{PROG}: cannot serve on {args.bind}:{port}: {why}.')
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f'http://{args.bind}:{server.server_port}/flags'
        named = f' as {label}: {what}' if label else ''
        print(f'Serving flags on {url}{named}', flush=True)
    # Drawing every flag takes ~0.2 s: do it after the ready line, not before.
    draw_all = threading.Thread(target=lambda: [*map(flag_gif, FLAGS.values())])
    draw_all.daemon = True  # a stop need not wait for it
    draw_all.start()
    threading.Event().wait()  # the servers serve until a stop (stopping.py) ends them


if __name__ == '__main__':
    main()
