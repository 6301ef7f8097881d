"""Every script behaves alike: the same help, usage errors and failures in each.

A reader meets each script of chapter20/ from the shell. Help and usage errors end
before any work, so they are shown in this process, each script run as ``python
SCRIPT ARGS`` would run it, in a fresh working directory; one of each also runs as a
real process, as do the failures of the environment and the libraries. Every
runnable script (the ones with a ``__main__`` guard, pinned in SCRIPTS) answers ``-h``
with its usage and nothing else, reports a bad command line the way argparse does, with
status 2, and turns a failure of its surroundings (a busy port, a download folder it
cannot make, no Dask) into one line and status 1. The support modules do nothing when
run. The help and usage a script should print are those of its own parser, caught in
this process as the script starts to parse (``parser_of``). Downloaders get a base URL
on a port that refuses connections, so a run that went further than it should never
leaves this machine.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.util
import io
import runpy
import socket
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import stop
from tests.support import (
    CHAPTER,
    ENDINGS,
    LONG_TIMEOUT,
    ROOT,
    end_by,
    run_as_main,
    run_script,
    start_script,
    status_of,
)

SCRIPTS = [
    'cluster_pool.py',
    'demo_executor_map.py',
    'flags.py',
    'flags2_asyncio.py',
    'flags2_sequential.py',
    'flags2_threadpool.py',
    'flags_threadpool.py',
    'flags_threadpool_futures.py',
    'primes.py',
    'proc_pool.py',
    'race.py',
    'slow_server.py',
]
LIBRARIES = [
    'arguments.py',
    'download_support.py',
    'executor_timeline.py',
    'flag_images.py',
    'flags2_common.py',
    'harness.py',
    'race_report.py',
    'race_timeline.py',
    'stopping.py',
]
# The most code lines (no docstring, comment or blank line) of each listing: 1.5 x the
# book's, or the book's + 15, whichever is more, so that its idea shows at a glance.
LISTING_LIMITS = {
    'flags.py': 45, 'flags_threadpool.py': 28, 'flags_threadpool_futures.py': 32,
    'demo_executor_map.py': 37, 'primes.py': 62, 'proc_pool.py': 47,
    'flags2_common.py': 198, 'flags2_sequential.py': 85, 'flags2_threadpool.py': 64,
    'flags2_asyncio.py': 123, 'slow_server.py': 120, 'race.py': 200,
    'cluster_pool.py': 60,
}  # fmt: skip
# The same help text here and in the scripts: 80 columns (a pipe's width), and no
# colours (Python 3.14's argparse colours its text when it thinks a terminal shows it).
PLAIN_TEXT = {'COLUMNS': '80', 'PYTHON_COLORS': '0'}
# One bad command line per script, and argparse's message for it. For a flags2 client
# it is -m above the client's own maximum, which its __main__ passes to main.
USAGE_ERRORS = [
    pytest.param('cluster_pool.py', ['0'],
                 "argument WORKERS: expected a whole number from 1 to 256, not '0'",
                 id='cluster_pool.py'),
    pytest.param('demo_executor_map.py', ['11'],
                 "argument COUNT: expected a whole number from 1 to 10, not '11'",
                 id='demo_executor_map.py'),
    pytest.param('flags.py', ['--bogus'], 'unrecognized arguments: --bogus',
                 id='flags.py'),
    pytest.param('flags2_asyncio.py', ['-m', '1001'],
                 'argument -m/--max_req: expected a whole number from 1 to 1000, '
                 "not '1001'",
                 id='flags2_asyncio.py'),
    pytest.param('flags2_sequential.py', ['-m', '2'],
                 "argument -m/--max_req: expected a whole number from 1 to 1, not '2'",
                 id='flags2_sequential.py'),
    pytest.param('flags2_threadpool.py', ['-m', '1001'],
                 'argument -m/--max_req: expected a whole number from 1 to 1000, '
                 "not '1001'",
                 id='flags2_threadpool.py'),
    pytest.param('flags_threadpool.py', ['BR'], 'unrecognized arguments: BR',
                 id='flags_threadpool.py'),
    pytest.param('flags_threadpool_futures.py', ['--threads'],
                 'unrecognized arguments: --threads',
                 id='flags_threadpool_futures.py'),
    pytest.param('primes.py', ['7'], 'unrecognized arguments: 7', id='primes.py'),
    pytest.param('proc_pool.py', ['0'],
                 "argument WORKERS: expected a whole number from 1 to 256, not '0'",
                 id='proc_pool.py'),
    pytest.param('race.py', ['-m', '99999'],
                 'argument -m/--max-req: expected a whole number from 1 to 1000, '
                 "not '99999'",
                 id='race.py'),
    pytest.param('slow_server.py', ['--delay', '1:'],
                 'argument --delay: expected SECONDS or MIN:MAX with 0 <= MIN <= MAX, '
                 "not '1:'",
                 id='slow_server.py'),
]  # fmt: skip


@pytest.fixture(scope='module')
def dead_url() -> Iterator[str]:
    """A base URL on a port this test holds without listening: connections fail."""
    with socket.socket() as holder:
        holder.bind(('127.0.0.1', 0))
        yield f'http://127.0.0.1:{holder.getsockname()[1]}/flags'


@pytest.fixture
def plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """argparse formats text here as it does in the scripts run by run_here."""
    for name, value in PLAIN_TEXT.items():
        monkeypatch.setenv(name, value)


class Parsing(Exception):
    """Stops a script as it starts to parse its command line; carries its parser."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__(parser.prog)
        self.parser = parser


@functools.cache
def parser_of(script: str) -> argparse.ArgumentParser:
    """The parser a script builds, caught in this process as the script starts to
    use it (every parse goes through parse_known_args): what its help and its usage
    are, as argparse prints them."""

    def stop(parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise Parsing(parser)

    path = CHAPTER / script
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as tmp:
        patch.chdir(tmp)  # whatever the script's top level does, it does not do here
        patch.setattr(argparse.ArgumentParser, 'parse_known_args', stop)
        patch.setattr(sys, 'argv', [str(path)])  # argparse's prog: the script's name
        with pytest.raises(Parsing) as parsing:
            runpy.run_path(str(path), run_name='__main__')
    return parsing.value.parser


def run_here(
    script: str, *args: str, cwd: Path, dead_url: str
) -> subprocess.CompletedProcess[str]:
    """Run a script in cwd as a reader would, FLAGS_BASE_URL leading nowhere."""
    env = {'FLAGS_BASE_URL': dead_url, **PLAIN_TEXT}
    return run_script(script, *args, cwd=cwd, env=env)


def has_main_guard(source: str) -> bool:
    """Whether the module has a top-level ``if __name__ == '__main__':`` block."""
    guard = ast.parse("__name__ == '__main__'", mode='eval').body
    return any(
        isinstance(node, ast.If) and ast.dump(node.test) == ast.dump(guard)
        for node in ast.parse(source).body
    )


def assert_one_line_failure(run: subprocess.CompletedProcess[str], line: str) -> None:
    assert (run.returncode, run.stdout, run.stderr) == (1, '', f'{line}\n')


def test_the_runnable_scripts_are_those_with_a_main_guard() -> None:
    """A script of chapter20/ runs when it has an ``if __name__ == '__main__':``
    block; the other modules are libraries its siblings import."""
    modules = {path.name: path.read_text() for path in CHAPTER.glob('*.py')}
    runnable = sorted(name for name, text in modules.items() if has_main_guard(text))
    assert runnable == SCRIPTS
    assert sorted(modules.keys() - set(runnable)) == LIBRARIES


@pytest.mark.usefixtures('plain_text')
@pytest.mark.parametrize('script', SCRIPTS)
def test_h_prints_the_usage_and_does_nothing_else(
    script: str,
    in_tmp: Path,
    dead_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``SCRIPT -h`` prints its help on stdout, exactly, and exits 0: no download, no
    work, no file or folder (not even ./downloaded) in the working directory."""
    monkeypatch.setenv('FLAGS_BASE_URL', dead_url)
    status = run_as_main(script, '-h', monkeypatch=monkeypatch)
    out, err = capsys.readouterr()
    assert (status, err) == (0, ''), err
    assert out.startswith(f'usage: {script} [-h]')
    assert out == parser_of(script).format_help()
    assert list(in_tmp.iterdir()) == []


@pytest.mark.usefixtures('plain_text')
def test_help_is_the_long_spelling_of_h(tmp_path: Path, dead_url: str) -> None:
    """``--help``, run as a reader runs it, prints the same help as ``-h`` and exits 0
    with nothing on stderr and nothing created."""
    run = run_here('slow_server.py', '--help', cwd=tmp_path, dead_url=dead_url)
    assert (run.returncode, run.stderr) == (0, ''), run.stderr
    expected = parser_of('slow_server.py').format_help()
    assert run.stdout == expected
    assert '\n  -h, --help ' in expected
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures('plain_text')
@pytest.mark.parametrize(('script', 'args', 'message'), USAGE_ERRORS)
def test_a_usage_error_is_argparse_own(
    script: str,
    args: list[str],
    message: str,
    in_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad command line gets argparse's report on stderr: the usage, then ``PROG:
    error: MESSAGE`` as the last line; status 2, nothing on stdout, nothing done."""
    status = run_as_main(script, *args, monkeypatch=monkeypatch)
    out, err = capsys.readouterr()
    assert (status, out) == (2, ''), err
    usage = parser_of(script).format_usage()
    assert usage.startswith(f'usage: {script} [-h]')
    assert err == f'{usage}{script}: error: {message}\n'
    assert list(in_tmp.iterdir()) == []


@pytest.mark.usefixtures('plain_text')
def test_a_usage_error_in_a_real_process_has_no_traceback(
    tmp_path: Path, dead_url: str
) -> None:
    """Run as a reader runs it, a script with a bad option prints argparse's two
    parts and nothing else, and exits 2."""
    run = run_here('slow_server.py', '--delay', '1:', cwd=tmp_path, dead_url=dead_url)
    usage = parser_of('slow_server.py').format_usage()
    message = (
        "argument --delay: expected SECONDS or MIN:MAX with 0 <= MIN <= MAX, not '1:'"
    )
    assert (run.returncode, run.stdout) == (2, '')
    assert run.stderr == f'{usage}slow_server.py: error: {message}\n'
    assert list(tmp_path.iterdir()) == []


def test_a_port_in_use_is_one_line_and_status_1(tmp_path: Path) -> None:
    """slow_server.py on a port another program listens on says so in one line and
    exits 1, without a traceback."""
    with socket.socket() as other:
        other.bind(('127.0.0.1', 0))
        other.listen()
        port = other.getsockname()[1]
        run = run_script('slow_server.py', str(port), cwd=tmp_path)
    why = 'Address already in use'
    assert_one_line_failure(
        run, f'slow_server.py: cannot serve on 127.0.0.1:{port}: {why}.'
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('script', ['flags.py', 'flags2_threadpool.py'])
def test_a_download_folder_that_cannot_be_made_is_one_line_and_status_1(
    script: str, tmp_path: Path, dead_url: str
) -> None:
    """A downloader that cannot create ./downloaded (here a file has that name) says
    so in one line and exits 1 before any request, leaving the file as it was."""
    (tmp_path / 'downloaded').write_text('not a folder\n')
    server = ['-s', dead_url] if script.startswith('flags2_') else []
    run = run_here(script, *server, cwd=tmp_path, dead_url=dead_url)
    assert_one_line_failure(
        run, '*** Cannot create the folder downloaded: File exists.'
    )
    assert [path.name for path in tmp_path.iterdir()] == ['downloaded']
    assert (tmp_path / 'downloaded').read_text() == 'not a folder\n'


@pytest.mark.parametrize(
    ('script', 'choose'),
    [
        pytest.param('flags.py', 'set FLAGS_BASE_URL to one of them, such as'
                     ' http://127.0.0.1:8000/flags', id='flags.py'),
        pytest.param('flags2_asyncio.py', 'choose one with -s LOCAL, DELAY or ERROR'
                     ' (or -s URL)', id='flags2_asyncio.py'),
    ],
)  # fmt: skip
def test_a_downloader_that_no_server_answers_says_how_to_start_or_choose_one(
    script: str, choose: str, tmp_path: Path, dead_url: str
) -> None:
    """Run as a reader runs it with no flag server at its URL, a downloader ends its
    stderr with one line: nothing answered there, the flag server may not be
    running, the command that starts the local ones, and how to choose one."""
    server = ['-s', dead_url] if script.startswith('flags2_') else []
    run = run_here(script, *server, cwd=tmp_path, dead_url=dead_url)
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1].endswith(
        f'Nothing answered at {dead_url}: is the flag server running? Start the local'
        ' flag servers with .venv/bin/python chapter20/slow_server.py --labels, and'
        f' {choose}.'
    )


@pytest.mark.skipif(
    importlib.util.find_spec('distributed') is not None, reason='Dask is installed'
)
def test_cluster_pool_without_dask_is_one_line_and_status_1(tmp_path: Path) -> None:
    """Dask is optional: without it cluster_pool.py names the install command in one
    line and exits 1."""
    run = run_script('cluster_pool.py', cwd=tmp_path)
    assert_one_line_failure(
        run, '*** cluster_pool.py needs Dask: pip install distributed'
    )
    assert list(tmp_path.iterdir()) == []


# The scripts that import httpx, themselves or through a sibling.
NEED_HTTPX = [script for script in SCRIPTS if script.startswith(('flags', 'race'))]


def set_up_and_run(script: str, *args: str) -> str:
    """The README's set-up, then the script run as given with the venv's Python."""
    return (
        f'cd {ROOT} && python3 -m venv --upgrade-deps .venv'
        f' && .venv/bin/pip install -q --group venv'
        f' && .venv/bin/python chapter20/{script} {" ".join(args)}'
    )


@pytest.mark.parametrize('script', NEED_HTTPX)
def test_a_python_without_httpx_says_how_to_run_the_script_in_one_line(
    script: str, tmp_path: Path
) -> None:
    """Run by a Python that cannot import httpx (here ``python -S``, which leaves out
    site-packages), even for ``-h``, a script says in one line what it needs and
    gives the README's command to make the venv and run the script with it; status
    1, no traceback."""
    run = run_script('-S', script, '-h', cwd=tmp_path)
    assert_one_line_failure(
        run,
        f'*** {script} needs httpx, which this Python ({sys.executable}) does not'
        " have. Make the project's venv as the README says and run the script with it:"
        f' {set_up_and_run(script, "-h")}',
    )
    assert list(tmp_path.iterdir()) == []


def test_the_missing_package_named_is_the_one_missing(tmp_path: Path) -> None:
    """With httpx there but not tqdm, a flags2 client names tqdm; the command keeps
    the arguments it was given, quoted for the shell."""
    (tmp_path / 'tqdm.py').write_text(
        "raise ModuleNotFoundError(\"No module named 'tqdm'\", name='tqdm')\n"
    )
    env = {'PYTHONPATH': str(tmp_path)}
    run = run_script(
        'flags2_threadpool.py', '-s', 'DELAY', 'a b', cwd=tmp_path, env=env
    )
    assert run.returncode == 1
    assert run.stderr.startswith('*** flags2_threadpool.py needs tqdm, which ')
    assert run.stderr.endswith(
        f'{set_up_and_run("flags2_threadpool.py", "-s", "DELAY", repr("a b"))}\n'
    )


def test_another_missing_module_is_a_bug_and_shows_its_traceback(
    tmp_path: Path,
) -> None:
    """Only the packages the README installs get the one line: any other module that
    cannot be found is a bug to see, with Python's own traceback."""
    (tmp_path / 'httpx.py').write_text(
        "raise ModuleNotFoundError(\"No module named 'httpcore'\", name='httpcore')\n"
    )
    run = run_script('flags.py', '-h', cwd=tmp_path, env={'PYTHONPATH': str(tmp_path)})
    assert run.returncode == 1
    assert run.stderr.startswith('Traceback (most recent call last):\n')
    assert run.stderr.endswith("ModuleNotFoundError: No module named 'httpcore'\n")


@pytest.mark.parametrize('library', LIBRARIES)
def test_running_a_library_does_nothing(library: str, tmp_path: Path) -> None:
    """A support module run as a script only imports: it prints nothing, exits 0 and
    creates no file.

    (A subprocess, not this process: download_support registers a pickle reducer
    when it runs, and run here as __main__ it would replace the one the tests use.)
    """
    run = run_script(library, cwd=tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (0, '', '')
    assert list(tmp_path.iterdir()) == []


NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENDMARKER}  # fmt: skip
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def code_lines(source: str) -> int:
    """The lines that hold code: no docstring, no comment, no blank line."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, *FUNCTIONS)):
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docstrings.update(range(first.lineno, (first.end_lineno or 0) + 1))
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def test_each_listing_stays_short_enough_to_read_at_a_glance() -> None:
    """Each listing keeps within its limit of code lines: the machinery that every
    script shares (stopping, saving, the command line) lives in support modules."""
    counts = {name: code_lines((CHAPTER / name).read_text()) for name in LISTING_LIMITS}
    over = {name: n for name, n in counts.items() if n > LISTING_LIMITS[name]}
    assert over == {}


@pytest.mark.parametrize('script', SCRIPTS)
def test_every_script_hands_its_endings_to_stopping_before_anything_else(
    script: str,
) -> None:
    """Each script's first statement, after its docstring, is ``import stopping``:
    from there on Ctrl-C, SIGTERM and a closed pipe end it cleanly, even while it
    imports httpx or starts a pool; earlier, only Python's own start-up runs."""
    body = ast.parse((CHAPTER / script).read_text()).body
    first = body[1] if isinstance(body[0], ast.Expr) else body[0]
    assert ast.unparse(first) == 'import stopping'


# A stand-in for httpx whose import says so, then never ends: the moment to press
# Ctrl-C while a script starts, chosen, not hoped for.
SLOW_HTTPX = """
import os, pathlib, threading
pathlib.Path(os.environ['IMPORTING']).write_text('httpx')
threading.Event().wait()
"""


@pytest.mark.parametrize('ending', ENDINGS)
def test_an_ending_while_a_script_starts_prints_nothing(
    ending: str, tmp_path: Path
) -> None:
    """Ctrl-C (once or twice) or SIGTERM while the script is still importing its
    libraries, before its work begins: status 130 or 143, and nothing at all, on
    stdout or stderr; no traceback of the import it cut short."""
    (tmp_path / 'fake' / 'httpx').mkdir(parents=True)
    (tmp_path / 'fake' / 'httpx' / '__init__.py').write_text(SLOW_HTTPX)
    importing = tmp_path / 'importing'
    env = {'PYTHONPATH': str(tmp_path / 'fake'), 'IMPORTING': str(importing)}
    child, out, err = start_script('flags.py', cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + LONG_TIMEOUT
        while not importing.exists():  # the script is inside `import httpx`
            assert child.poll() is None, err.lines
            assert time.monotonic() < deadline, 'the script did not import httpx'
            time.sleep(0.01)
        status = end_by(ending, child)
    finally:
        stop(child)
    assert (status, out.text(), err.text()) == (status_of(ending), '', '')
