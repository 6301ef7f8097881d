"""Every script behaves alike: ``-h`` says what the script does and what each option is.

A reader's first question to a script is ``-h``. Each runnable script's parser has a
description, and every argument it takes has a line of help: argparse would print an
argument without one as its bare name. The parsers are caught as each script starts to
parse, in this process, as the every-script spec does.
"""

from __future__ import annotations

import argparse
import ast
import functools
import re
import runpy
import sys
import tempfile

import pytest

from tests.support import CHAPTER

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


class Parsing(Exception):
    """Stops a script as it starts to parse its command line; carries its parser."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__(parser.prog)
        self.parser = parser


def parser_of(script: str) -> argparse.ArgumentParser:
    """The parser the script builds, caught when it first parses with it."""

    def stop(parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise Parsing(parser)

    path = CHAPTER / script
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as tmp:
        patch.chdir(tmp)
        patch.setattr(argparse.ArgumentParser, 'parse_known_args', stop)
        patch.setattr(sys, 'argv', [str(path)])
        with pytest.raises(Parsing) as parsing:
            runpy.run_path(str(path), run_name='__main__')
    return parsing.value.parser


@pytest.mark.parametrize('script', SCRIPTS)
def test_h_describes_the_script_and_every_argument(script: str) -> None:
    """The help opens with what the script does, and gives each argument a line
    that says what it means."""
    parser = parser_of(script)
    unexplained = [
        action.dest
        for action in parser._actions  # argparse lists them nowhere public
        if not (action.help or '').strip()
    ]
    assert (parser.description or '').strip()
    assert unexplained == []


@functools.cache
def code_names() -> frozenset[str]:
    """The names of the constants of chapter20/ that a reader might take for words,
    such as POP20_CC or DEST_DIR: UPPER_CASE with an underscore, assigned at the top
    level of a module."""
    names: set[str] = set()
    for path in CHAPTER.glob('*.py'):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = (
                    node.targets if isinstance(node, ast.Assign) else [node.target]
                )
                for target in targets:
                    names.update(
                        n.id for n in ast.walk(target) if isinstance(n, ast.Name)
                    )
    return frozenset(n for n in names if n.isupper() and '_' in n)


@pytest.mark.parametrize('script', SCRIPTS)
def test_h_speaks_the_readers_words_not_the_names_of_the_code(script: str) -> None:
    """The help says "the 20 most populous countries", not POP20_CC: no constant of
    the code appears in it (an environment variable, FLAGS_BASE_URL, is the reader's
    to set)."""
    words = set(re.findall(r'\b[A-Z][A-Z0-9_]*\b', parser_of(script).format_help()))
    assert 'POP20_CC' in code_names()
    assert sorted(words & code_names()) == []
