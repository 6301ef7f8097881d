"""The soak: end every script at moments nobody chose, and check that it ended cleanly.

The spec stops each script at chosen moments; this tool draws the moments from a seed
and sends every ending a user can cause: Ctrl-C (SIGINT to the whole process group, as
a terminal sends it), Ctrl-C twice, SIGTERM to the main process alone, SIGKILL to it,
and a closed stdout (``| head``). Each script runs as a reader runs it, with its real
default inputs, against one flag server that waits 0.05 to 0.6 s before each answer.
Each trial checks what the README promises (see stopping.py):

- status: 130 for Ctrl-C, 143 for SIGTERM, 141 for a closed pipe; or the run's own
  status if the run was over before the ending came;
- time: from the signal to the exit at most STOP_LIMIT, and for SIGKILL, to the end of
  every process the script started, at most KILL_LIMIT;
- stderr: the script's one-line report and nothing else (a closed pipe: nothing), or
  nothing at all before its work began and after its last line; progress bars aside;
- processes: none of those it started lives on (zombies, already ended, aside);
- files: none left but complete flags; after SIGKILL, never a partial flag.

It prints the seed, a line per bad trial, a table and the line ``soak: T trials, B
bad``, and exits 1 when B > 0. Run it with the interpreters of the spec's tox
environments (``tox`` first makes them), or name interpreters with ``--python``::

    python tools/soak.py --runs 20            # .tox/py3*/bin/python, else this Python
    python tools/soak.py --runs 2 --python .tox/py314/bin/python --only proc_pool.py
    python tools/soak.py --list                # the scenarios
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import math
import os
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / 'chapter20'
sys.path.insert(0, str(CHAPTER))

import stopping  # noqa: E402

import harness  # noqa: E402
from flag_images import flag_gif  # noqa: E402

STOP_LIMIT = 1.0  # seconds from the signal to the exit (README: within a second)
KILL_LIMIT = 2.0  # seconds from SIGKILL to the end of every process it started
RUN_LIMIT = 120.0  # seconds for a trial to end by itself once its ending is sent
STARTUP = 0.25  # seconds: a signal before this may come before the script's first line
# What CPython prints when a Ctrl-C interrupts its search for sys.path[0]'s importer as
# it starts: it shows the KeyboardInterrupt and runs the script on, the signal spent.
SPENT_IN_STARTUP = 'Failed checking if argv[0] is an import path entry'
SERVER_DELAY = '0.05:0.6'
ENDINGS = ['ctrl-c', 'ctrl-c twice', 'sigterm', 'sigkill', 'closed pipe']
SIGNALS = ['ctrl-c', 'ctrl-c twice', 'sigterm']  # those with a time limit to stop
BAR = re.compile(r'\s*\d+%\|.*\| *\d+/\d+ \[.*\]\s*$')  # a tqdm progress bar
FLAGS_REPORT = r'\*\*\* Interrupted: the flags above were saved\.'
NUMBERS_REPORT = r'\*\*\* Interrupted: \d+ of 20 numbers checked\.'
FLAGS2_REPORT = r'\*\*\* Interrupted: \d+ of \d+ codes were not searched\.'
CODE = r'\b[A-Z]{2}\b'


@dataclass(frozen=True)
class Scenario:
    """A script as a reader runs it, and what its output says of its progress."""

    argv: tuple[str, ...]  # SERVER stands for the flag server's base URL
    horizon: float  # endings come at moments drawn from 0 to this many seconds
    report: str | None  # the regex of the report line on stderr; None: no report
    begun: str  # a regex of stdout: the work is under way, so a stop reports it
    over: str  # a regex of stdout: the last line is out, the report is optional
    status: int = 0  # the status of a run to its end
    needs: tuple[int, int] = (3, 10)
    module: str = ''  # a module the interpreter must have, such as 'distributed'
    start_method: str = ''  # multiprocessing's, set by a sitecustomize; '' default
    endings: tuple[str, ...] = tuple(ENDINGS)

    @property
    def name(self) -> str:
        words = [a for a in self.argv if a != 'SERVER' and a != '-s']
        method = f' ({self.start_method})' if self.start_method else ''
        return ' '.join(words) + method


def flags(*argv: str, horizon: float, begun: str = CODE, **more: Any) -> Scenario:
    """A script of the flags.py series: its codes, then 'N downloads in S s'."""
    return Scenario(argv, horizon, FLAGS_REPORT, begun, r'^\d+ downloads in ', **more)


def numbers(*argv: str, horizon: float, **more: Any) -> Scenario:
    """proc_pool.py or cluster_pool.py: a line per number, then the total time."""
    return Scenario(argv, horizon, NUMBERS_REPORT, '^Checking', '^Total time', **more)


def flags2(*argv: str, horizon: float) -> Scenario:
    """A flags2 client, against the soak's server: the final report ends it."""
    return Scenario(
        (*argv, '-s', 'SERVER'), horizon, FLAGS2_REPORT, '^Searching', '^Elapsed time'
    )


FUTURES = 'flags_threadpool_futures.py'
METHODS = ['spawn', 'forkserver', 'fork']
SCENARIOS = [
    flags('flags.py', horizon=8),
    flags('flags_threadpool.py', horizon=2),
    flags(FUTURES, horizon=4, begun='^Scheduled for'),
    flags(FUTURES, '--processes', horizon=4, begun='^Scheduled for'),
    flags(FUTURES, '--interpreters', horizon=4, begun='^Scheduled', needs=(3, 14)),
    *(flags(FUTURES, '--processes', horizon=4, begun='^Scheduled', start_method=m)
      for m in METHODS),
    Scenario(('demo_executor_map.py',), 5, r'\*\*\* Interrupted: \d results taken\.',
             'Script starting', r'result 4: 40$'),
    Scenario(('primes.py',), 12, NUMBERS_REPORT, r'^ +\d+', '^All 20 numbers agree'),
    numbers('proc_pool.py', horizon=10),
    *(numbers('proc_pool.py', horizon=6, start_method=m) for m in METHODS),
    flags2('flags2_sequential.py', horizon=8),
    flags2('flags2_threadpool.py', horizon=2),
    flags2('flags2_asyncio.py', horizon=3),
    flags2('flags2_threadpool.py', '-e', '-m', '1000', horizon=4),
    Scenario(('slow_server.py', '0'), 2, None, '^Serving', '$^',
             endings=('ctrl-c', 'ctrl-c twice', 'sigterm', 'sigkill')),
    Scenario(('race.py',), 20, r'\*\*\* Interrupted: the race stopped all it started\.',
             '^Flag server', '^CPU race: '),
    numbers('cluster_pool.py', '2', horizon=8, module='distributed'),
]  # fmt: skip


@dataclass
class Trial:
    python: str
    version: str
    scenario: Scenario
    ending: str
    moment: float
    problems: list[str] = field(default_factory=list)
    stop: float | None = None  # seconds from the ending to the exit
    in_startup: bool = False  # the signal came before the script's first line ran

    @property
    def bad(self) -> bool:
        return bool(self.problems)


def interpreters(given: list[str]) -> list[tuple[str, str]]:
    """(python, version) for each interpreter given, else for each spec env of tox."""
    found = given or sorted(str(p) for p in ROOT.glob('.tox/py3*/bin/python'))
    if not found:
        print('soak: no .tox/py3*/bin/python: run tox first; using this Python.')
        found = [sys.executable]
    code = 'import sys; print("%d.%d" % sys.version_info[:2])'
    found = [str(Path.cwd() / py) for py in found]  # not resolved: a venv's is a link
    return [
        (py, subprocess.check_output([py, '-c', code], text=True).strip())
        for py in found
    ]


def has_module(python: str, module: str) -> bool:
    check = f'import importlib.util as u; exit(u.find_spec({module!r}) is None)'
    return subprocess.run([python, '-c', check]).returncode == 0


def read_until(fd: int, chunks: list[bytes], close_at: float | None) -> None:
    """Read fd into chunks until end of file, or close it at time close_at."""
    while True:
        timeout = None if close_at is None else max(0.0, close_at - time.monotonic())
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:  # the moment to close our end has come
            break
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(fd)


def run_trial(trial: Trial, server_url: str, sites: Path, chapter: Path) -> Trial:
    """Run one trial in a folder of its own and note every problem it shows."""
    scenario, mark = trial.scenario, uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix='soak-') as folder:
        work, tmp = Path(folder, 'work'), Path(folder, 'tmp')
        work.mkdir()
        tmp.mkdir()
        env = {
            **os.environ,
            harness.MARK: mark,
            'TMPDIR': str(tmp),
            'FLAGS_BASE_URL': server_url,
            'PYTHONUNBUFFERED': '',
            'PYTHONPATH': str(sites / scenario.start_method)
            if scenario.start_method
            else '',
        }
        env[stopping.STOP_WITH_PID] = str(os.getpid())  # no trial outlives the soak
        argv = [server_url if a == 'SERVER' else a for a in scenario.argv]
        child = subprocess.Popen(
            [trial.python, str(chapter / argv[0]), *argv[1:]],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: Ctrl-C goes to all of it
        )
        assert child.stdout is not None
        assert child.stderr is not None
        started = time.monotonic()
        at = started + trial.moment
        out: list[bytes] = []
        err: list[bytes] = []
        closing = at if trial.ending == 'closed pipe' else None
        readers = [
            threading.Thread(
                target=read_until, args=(os.dup(child.stdout.fileno()), out, closing)
            ),
            threading.Thread(
                target=read_until, args=(os.dup(child.stderr.fileno()), err, None)
            ),
        ]
        child.stdout.close()
        child.stderr.close()
        for reader in readers:
            reader.start()
        exited, exit_time = threading.Event(), [0.0]

        def wait() -> None:
            child.wait()
            exit_time[0] = time.monotonic()
            exited.set()

        threading.Thread(target=wait, daemon=True).start()
        exited.wait(max(0.0, at - time.monotonic()))
        if exited.is_set() and exit_time[0] < at:  # before the reader closed its end
            ended_first, status = True, child.returncode
        else:
            ended_first = False
            sent = time.monotonic() if closing is None else at
            if trial.ending.startswith('ctrl-c'):
                os.killpg(child.pid, signal.SIGINT)
                if trial.ending == 'ctrl-c twice':
                    time.sleep(random.Random(trial.moment).uniform(0.01, 0.3))
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGINT)
            elif trial.ending == 'sigterm':
                child.send_signal(signal.SIGTERM)
            elif trial.ending == 'sigkill':
                child.kill()
            deadline, spent = time.monotonic() + RUN_LIMIT, False
            while not exited.wait(0.1) and time.monotonic() < deadline:
                if spent := SPENT_IN_STARTUP.encode() in b''.join(err):
                    break  # the script runs on, as if no signal came: see check
            if exited.is_set():
                trial.stop = exit_time[0] - sent
            else:
                if not spent:
                    trial.problems.append(
                        f'still running {RUN_LIMIT:.0f}s after the ending'
                    )
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                exited.wait()
            status = child.returncode
        for reader in readers:
            reader.join(RUN_LIMIT)
        left = harness.marked(mark)
        deadline = time.monotonic() + (
            KILL_LIMIT if trial.ending == 'sigkill' else STOP_LIMIT
        )
        while left and time.monotonic() < deadline:
            time.sleep(0.02)
            left = harness.marked(mark)
        if left:
            trial.problems.append(f'left running: {left}')
            for line in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(line.split()[0]), signal.SIGKILL)
        stdout = b''.join(out).decode(errors='replace')
        stderr = b''.join(err).decode(errors='replace')
        check(trial, status, stdout, stderr, ended_first)
        check_files(trial, work, tmp)
    return trial


def expected_status(ending: str) -> int:
    return {
        'ctrl-c': 130,
        'ctrl-c twice': 130,
        'sigterm': 143,
        'sigkill': -9,
        'closed pipe': 141,
    }[ending]


def in_python_startup(trial: Trial, status: int, stdout: str, stderr: str) -> bool:
    """Whether the signal came while Python itself was starting, before stopping.py
    could block it: then Python's own handling is all there is (it dies by the signal,
    or prints KeyboardInterrupt or 'Fatal Python error'), none of ours. A traceback
    may name the script, but only at or before its first line, ``import stopping``,
    and stopping.py only before the line that blocks the signals."""
    if trial.ending not in ('ctrl-c', 'ctrl-c twice', 'sigterm'):
        return False
    if stderr.startswith(SPENT_IN_STARTUP) and trial.moment <= STARTUP:
        return True  # CPython took the signal for itself, then ran the script on
    if stdout:
        return False
    if trial.moment > STARTUP or status not in (-2, -15, 1):
        return False
    if 'Fatal Python error' in stderr or not stderr:
        return True
    if not stderr.rstrip().endswith('KeyboardInterrupt'):
        return False
    frames = re.findall(r'File "([^"]+)", line (\d+)', stderr)
    return all(int(line) <= before_stopping(path) for path, line in frames)


def before_stopping(path: str) -> float:
    """The last line of a file of ours at which a signal is still Python's to handle:
    a script's first statement (``import stopping``), the line of stopping.py that
    blocks the signals; any line of a file of Python's own."""
    file = Path(path)
    if file.parent != CHAPTER:
        return math.inf
    source = file.read_text()
    if file.name == 'stopping.py':
        return source[: source.index('_signal.pthread_sigmask(')].count('\n') + 1
    return ast.parse(source).body[1].lineno  # after the module's docstring


def check(
    trial: Trial, status: int, stdout: str, stderr: str, ended_first: bool
) -> None:
    scenario, ending = trial.scenario, trial.ending
    if not ended_first and in_python_startup(trial, status, stdout, stderr):
        trial.in_startup = True
        return
    over = re.search(scenario.over, stdout, re.M) is not None
    begun = re.search(scenario.begun, stdout, re.M) is not None
    lines = [line for line in re.split(r'[\r\n]', stderr) if line.strip()]
    lines = [line for line in lines if not BAR.fullmatch(line)]
    if ended_first or (over and status == scenario.status):  # the run was over first
        if status != scenario.status or lines:
            trial.problems.append(f'ended by itself with status {status}: {lines}')
        return
    if status != expected_status(ending):
        trial.problems.append(f'status {status}, not {expected_status(ending)}')
    late = trial.stop is not None and trial.stop > STOP_LIMIT
    if late and ending not in ('closed pipe', 'sigkill'):
        trial.problems.append(f'stopped {trial.stop:.2f}s after the signal')
    if ending == 'sigkill':
        return
    reports = [
        ln for ln in lines if scenario.report and re.fullmatch(scenario.report, ln)
    ]
    stray = [ln for ln in lines if ln not in reports]
    if stray:
        trial.problems.append(f'stray lines on stderr: {stray[:6]}')
    if len(reports) > 1:
        trial.problems.append(f'{len(reports)} reports')
    wanted = scenario.report and ending != 'closed pipe' and begun and not over
    if wanted and not reports:
        trial.problems.append('no report, though the work had begun')
    if ending == 'closed pipe' and reports:
        trial.problems.append('a report after a closed pipe: the stop should be quiet')


def check_files(trial: Trial, work: Path, tmp: Path) -> None:
    for path in sorted(work.rglob('*')):
        relative = path.relative_to(work)
        if path.is_dir() and relative == Path('downloaded'):
            continue
        if path.parent == work / 'downloaded' and path.suffix == '.gif':
            if path.read_bytes() != flag_gif(path.stem):
                trial.problems.append(f'a partial flag: {relative}')
            continue
        if trial.ending == 'sigkill' and path.name.endswith('.part'):
            continue  # SIGKILL cannot be cleaned after; the flag's name stays whole
        trial.problems.append(f'left behind: {relative}')
    if trial.ending != 'sigkill':
        leftover = [str(p.relative_to(tmp)) for p in tmp.iterdir()]
        if leftover:
            trial.problems.append(f'left in TMPDIR: {leftover}')


def plan(
    pythons: list[tuple[str, str]], runs: int, seed: int, only: list[str]
) -> list[Trial]:
    """runs trials per scenario and Python, the endings in turn, at seeded moments."""
    draw = random.Random(seed)
    trials = []
    for python, version in pythons:
        for scenario in SCENARIOS:
            if only and not any(name in scenario.name for name in only):
                continue
            if tuple(map(int, version.split('.'))) < scenario.needs:
                continue
            if scenario.module and not has_module(python, scenario.module):
                print(
                    f'soak: {scenario.name} skipped on {version}: no {scenario.module}'
                )
                continue
            endings = list(scenario.endings)
            draw.shuffle(endings)
            for n in range(runs):
                moment = round(draw.uniform(0, scenario.horizon), 3)
                trials.append(
                    Trial(python, version, scenario, endings[n % len(endings)], moment)
                )
    return trials


def start_method_sites(folder: Path) -> Path:
    """Folders holding a sitecustomize that sets multiprocessing's start method."""
    for method in ['spawn', 'forkserver', 'fork']:
        (folder / method).mkdir()
        (folder / method / 'sitecustomize.py').write_text(
            f'import multiprocessing\nmultiprocessing.set_start_method({method!r})\n'
        )
    return folder


def table(trials: list[Trial], by: Callable[[Trial], tuple[str, ...]]) -> list[str]:
    """A row per group of trials (by script and Python, or by Python): good/all for
    each ending, the slowest stop after a signal, the signals in Python's start-up."""
    groups: dict[tuple[str, ...], list[Trial]] = defaultdict(list)
    for trial in trials:
        groups[by(trial)].append(trial)
    heads = ['script', 'Python'][-len(next(iter(groups), ('',))) :]
    rows = [[*heads, *ENDINGS, 'slowest stop', "in Python's start-up"]]
    for key, group in groups.items():
        row = list(key)
        for ending in ENDINGS:
            done = [t for t in group if t.ending == ending]
            good = sum(not t.bad for t in done)
            row.append(f'{good}/{len(done)}' if done else '-')
        stops = [t.stop for t in group if t.stop is not None and t.ending in SIGNALS]
        row.append(f'{max(stops):.2f}s' if stops else '-')
        row.append(str(sum(t.in_startup for t in group)))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        '  '.join(
            cell.ljust(w) if i < len(heads) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition('\n')[0])
    parser.add_argument(
        '--runs', type=int, default=5, help='trials per script and Python'
    )
    parser.add_argument(
        '--seed', type=int, help='the moments and endings (default: random)'
    )
    parser.add_argument('--python', action='append', default=[], help='an interpreter')
    parser.add_argument(
        '--only', action='append', default=[], help='scenarios whose name has this'
    )
    parser.add_argument(
        '--jobs', type=int, default=2, help='trials at once (default: 2)'
    )
    parser.add_argument(
        '--list', action='store_true', help='list the scenarios, run nothing'
    )
    parser.add_argument('--verbose', action='store_true', help='a line per trial')
    parser.add_argument(
        '--chapter',
        type=Path,
        default=CHAPTER,
        help='run the scripts of this folder instead, say an older version of it',
    )
    args = parser.parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            endings = ', '.join(scenario.endings)
            print(f'{scenario.name}: moments in 0-{scenario.horizon}s, {endings}')
        return 0
    seed = random.randrange(10**6) if args.seed is None else args.seed
    print(f'soak: seed {seed} (--seed {seed} draws the same trials)', flush=True)
    trials = plan(interpreters(args.python), args.runs, seed, args.only)
    with (
        harness.FlagServer('--delay', SERVER_DELAY) as server,
        tempfile.TemporaryDirectory(prefix='soak-sites-') as sites,
        ThreadPoolExecutor(args.jobs) as pool,
    ):
        start_method_sites(Path(sites))
        running = [
            pool.submit(run_trial, t, server.base_url, Path(sites), args.chapter)
            for t in trials
        ]
        for n, trial in enumerate(f.result() for f in as_completed(running)):
            if args.verbose or trial.bad:
                print(
                    f'{n + 1}/{len(trials)} {trial.version} {trial.scenario.name}, '
                    f'{trial.ending} at {trial.moment}s: stop {trial.stop}',
                    flush=True,
                )
            if trial.bad:
                print(
                    f'BAD {trial.scenario.name} on {trial.version}, {trial.ending} at '
                    f'{trial.moment}s: {"; ".join(trial.problems)}',
                    flush=True,
                )
    print(*table(trials, lambda t: (t.scenario.name, t.version)), sep='\n')
    print('', *table(trials, lambda t: (t.version,)), sep='\n')
    bad = sum(trial.bad for trial in trials)
    early = sum(trial.in_startup for trial in trials)
    if early:
        print(
            f"soak: {early} signals came in Python's own start-up, before any line of "
            'the scripts ran (see the README): not counted as bad, nor as good.'
        )
    print(f'soak: {len(trials)} trials, {bad} bad')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
