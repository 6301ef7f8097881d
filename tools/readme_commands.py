"""Run every command README.md shows, as a reader would, and fail on any that fails.

A command is a line of a ``console`` block that starts with ``$ ``. Each runs in bash
from the repository root, in the order of the README, after the README's set-up has
made ``.venv`` (CI runs this after the test command). A trailing comment can say more:

- ``# needs the internet``: not run here (the machines of CI have none);
- ``# long: ...``: not run here, for it takes longer than a CI run may (.ci/run runs a
  short form of it, as the comment says);
- ``# serves until Ctrl-C``: started in the background, left running for the commands
  that follow, and stopped with Ctrl-C at the end, which must give status 130;
- ``# status N``: N is the expected exit status (0 otherwise).

``$ export NAME=VALUE`` sets a variable for the commands after it. The README's test
command is not run again: CI has just run it, and this checks that .ci/run runs it
verbatim. It also checks that each test module and test the README names exists.
Prints one line per command; exit status 1 if any command failed.

    $ .venv/bin/python tools/readme_commands.py            # run them all
    $ .venv/bin/python tools/readme_commands.py --list     # show them, run none
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r'^```console\n(.*?)^```', re.M | re.S)
STATUS = re.compile(r'\bstatus (\d+)\b')  # in the trailing comment
READY = re.compile(r'Serving flags on http://')
COMMAND_TIMEOUT = 20 * 60.0  # seconds; the benchmarks take a few minutes
READY_TIMEOUT = 30.0


class Command(NamedTuple):
    line: int
    text: str

    @property
    def note(self) -> str:
        return self.text.partition(' #')[2]


def commands(readme: str) -> list[Command]:
    found = []
    for block in BLOCK.finditer(readme):
        first_line = readme.count('\n', 0, block.start(1)) + 1
        for n, line in enumerate(block[1].splitlines(), first_line):
            if line.startswith('$ '):
                found.append(Command(n, line.removeprefix('$ ').strip()))
    return found


def test_command(found: list[Command]) -> str:
    """The README's test command, the one line that ends by running tox's env_list."""
    tests = [c.text for c in found if c.text.endswith('&& .venv/bin/tox')]
    if len(tests) != 1:
        sys.exit(f'*** Expected one test command ending in .venv/bin/tox: {tests!r}')
    ci_script = (ROOT / '.ci' / 'run').read_text()
    if tests[0] not in ci_script:
        sys.exit('*** .ci/run does not run the README test command verbatim.')
    return tests[0]


def missing_tests(readme: str) -> list[str]:
    """Test modules and tests the README names (`test_...`) that tests/ lacks."""
    tests = ROOT / 'tests'
    sources = ''.join(path.read_text() for path in tests.glob('test_*.py'))
    cited = set(re.findall(r'`(test_\w+(?:\.py)?)`', readme))
    return sorted(
        name for name in cited
        if not (tests / name).exists() and f'def {name}(' not in sources
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition('\n')[0])
    parser.add_argument('--list', action='store_true', help='list them, run none')
    args = parser.parse_args(argv)
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    found = commands(readme)
    skip = test_command(found)
    failed = len(missing := missing_tests(readme))
    for name in missing:
        print(f'README.md names {name}, which tests/ does not have.')
    env = dict(os.environ)
    servers: list[tuple[Command, subprocess.Popen[str]]] = []
    try:
        for command in found:
            where = f'README.md:{command.line}'
            if command.text == skip:
                print(f'{where}: run by .ci/run  {command.text}')
                continue
            if 'needs the internet' in command.note:
                print(f'{where}: skipped, needs the internet  {command.text}')
                continue
            if command.note.lstrip().startswith('long:'):
                print(f'{where}: skipped, long  {command.text}')
                continue
            if args.list:
                print(f'{where}: {command.text}')
                continue
            export = re.fullmatch(r'export (\w+)=(\S+)(?:\s+#.*)?', command.text)
            if export:
                env[export[1]] = os.path.expandvars(export[2])
                print(f'{where}: set {export[1]}')
            elif 'serves until Ctrl-C' in command.note:
                servers.append((command, serve(command.text, env)))
                print(f'{where}: serving  {command.text}')
            else:
                failed += not run(where, command, env)
    finally:
        for command, server in servers:
            server.send_signal(signal.SIGINT)
            status = server.wait(READY_TIMEOUT)
            if status != 130:
                print(f'README.md:{command.line}: Ctrl-C gave status {status}')
                failed += 1
    print(f'{len(found)} commands, {failed} failed.')
    return 1 if failed else 0


def run(where: str, command: Command, env: dict[str, str]) -> bool:
    expected = int(m[1]) if (m := STATUS.search(command.note)) else 0
    t0 = time.perf_counter()
    process = subprocess.Popen(
        ['bash', '-c', command.text], cwd=ROOT, env=env, text=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,  # so that a timeout ends all it started, tox's too
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        print(f'{where}: FAILED, still running after {COMMAND_TIMEOUT:.0f}s'
              f' (a comment `# long: ...` skips it)  {command.text}')  # fmt: skip
        return False
    seconds = time.perf_counter() - t0
    ok = process.returncode == expected
    print(f'{where}: {"ok" if ok else "FAILED"} status {process.returncode}'
          f' in {seconds:.1f}s  {command.text}')  # fmt: skip
    if not ok:
        print(stdout[-3000:], stderr[-3000:], sep='\n', file=sys.stderr)
    return ok


def serve(text: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start a server in the background; return once it printed all its ready lines."""
    server = subprocess.Popen(
        shlex.split(text.partition(' #')[0]), cwd=ROOT, env=env, text=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert server.stdout is not None
    expected = 3 if '--labels' in text else 1
    deadline = time.monotonic() + READY_TIMEOUT
    ready = 0
    while ready < expected and time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        ready += bool(READY.search(line))
    if ready < expected:
        server.kill()
        sys.exit(f'*** {text} did not start.')
    return server


if __name__ == '__main__':
    sys.exit(main())
