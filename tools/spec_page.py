"""Write SPEC.md, the behaviour spec as a document, from the tests' docstrings.

Run from anywhere, with the test dependencies installed (``tox -e spec`` does)::

    python tools/spec_page.py          # (re)write SPEC.md at the repository root
    python tools/spec_page.py --check  # write nothing; exit 1 if SPEC.md is stale
    python tools/spec_page.py --strict --output /tmp/SPEC.md

It collects the tests in-process (none runs) and files each test function under the
chapter section that opens its module's docstring ("Section name: ..."). The claim is
the first sentence of the test's docstring, "Runs on" the ids of the executor, client
and start_method parameters, "Python" the skipif marks that read "needs Python X.Y or
newer". Tests that break these conventions are listed on stderr; --strict fails them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = [
    'A sequential download script',
    'Downloading with concurrent.futures',
    'Where are the futures?',
    'Launching processes with concurrent.futures',
    'Multicore prime checker redux',
    'Experimenting with Executor.map',
    'Downloads with progress display and error handling',
    'Using futures.as_completed',
    'Setting up test servers',
    'What Python 3.14 adds',
    'Every script behaves alike',
    'Beyond the book',
]
NO_SECTION = 'Not yet filed under a section'  # last, after the unknown sections
KINDS = ['executor', 'client', 'start_method']  # fixtures whose ids name what runs
NEEDS = re.compile(r'needs Python (\d+)\.(\d+) or newer')
LOOKS_LIKE_VERSION = re.compile(r'python|\b3\.\d+', re.IGNORECASE)
SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-Z`"(])')  # not after "e.g." or "6.1"

Version = tuple[int, int]
# The oldest Python is ruff's target-version in pyproject.toml (no tomllib on 3.10).
PYPROJECT = (ROOT / 'pyproject.toml').read_text(encoding='utf-8')
TARGET = re.search(r'target-version\s*=\s*"py3(\d+)"', PYPROJECT)
OLDEST: Version = (3, int(TARGET[1]) if TARGET else 10)
Kind = tuple[int, str]  # (index in KINDS, id): kinds sort by fixture, then by order


class Case(NamedTuple):  # one collected item
    kinds: tuple[Kind, ...]
    other: tuple[tuple[str, int], ...]  # the other params, by identity of their values
    needs: Version


@dataclass
class Claim:  # one test function
    test: str  # tests/test_x.py::test_name
    claim: str
    section: str
    cases: list[Case] = field(default_factory=list)


class Collector:
    """A pytest plugin that turns the collected items into claims."""

    def __init__(self) -> None:
        self.claims: dict[str, Claim] = {}
        self.problems: dict[str, None] = {}  # an ordered set

    def section(self, path: str, doc: str | None) -> str:
        head = ' '.join((doc or '').split()).lower()
        for name in SECTIONS:
            if head.startswith(name.lower() + ':'):
                return name
        name, colon, _ = (doc or '').strip().partition('\n')[0].partition(':')
        if colon:
            self.problems[f'{path}: unknown section {name.strip()!r}'] = None
            return name.strip()
        self.problems[f'{path}: module docstring does not begin "Section name:"'] = None
        return NO_SECTION

    def needs(self, item: pytest.Item) -> Version:
        needed = OLDEST
        for mark in item.iter_markers('skipif'):
            reason = str(mark.kwargs.get('reason', ''))
            found = NEEDS.fullmatch(reason)
            if found:
                needed = max(needed, (int(found[1]), int(found[2])))
            elif LOOKS_LIKE_VERSION.search(reason):
                test = item.nodeid.partition('[')[0]
                text = f'{test}: skipif reason {reason!r} is not "needs Python X.Y or'
                self.problems[text + ' newer"'] = None
        return needed

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            if not isinstance(item, pytest.Function):
                continue
            test = item.nodeid.partition('[')[0]
            if test not in self.claims:
                doc = (item.function.__doc__ or '').strip().split('\n\n')[0]
                doc = ' '.join(doc.split())
                if not doc:
                    self.problems[f'{test}: the test has no docstring'] = None
                claim = SENTENCE_END.split(doc, maxsplit=1)[0] or '*(no docstring)*'
                section = self.section(test.partition('::')[0], item.module.__doc__)
                self.claims[test] = Claim(test, claim, section)
            params = item.callspec.params if hasattr(item, 'callspec') else {}
            kinds = tuple((n, params[k]) for n, k in enumerate(KINDS) if k in params)
            if not all(isinstance(value, str) for _, value in kinds):  # value = id
                self.problems[f'{test}: a kind param (executor...) is not a str'] = None
            # Each kind gets the same value objects for the other params, which thus
            # tell the cases apart (callspec.indices count across the whole product).
            other = tuple((k, id(v)) for k, v in params.items() if k not in KINDS)
            ids = tuple((n, str(value)) for n, value in kinds)
            self.claims[test].cases.append(Case(ids, other, self.needs(item)))


def version(needed: Version) -> str:
    return f'{needed[0]}.{needed[1]}+'


def runs_on(claim: Claim, floor: Version) -> str:
    kinds: dict[Kind, Version] = {}  # the oldest Python of each kind
    cases: dict[tuple[tuple[str, int], ...], Version] = {}  # and of each other case
    for case in claim.cases:
        for kind in case.kinds:
            kinds[kind] = min(kinds.get(kind, case.needs), case.needs)
        cases[case.other] = min(cases.get(case.other, case.needs), case.needs)
    text = ', '.join(
        name if needed <= floor else f'{name} ({version(needed)})'
        for (_, name), needed in sorted(kinds.items(), key=lambda kv: kv[0][0])
    )
    if len(cases) > 1:
        later = [needed for needed in cases.values() if needed > floor]
        notes = [f'{later.count(v)} only on {version(v)}' for v in sorted(set(later))]
        count = f'{len(cases)} cases' + (f' ({", ".join(notes)})' if notes else '')
        text = f'{text}; {count}' if text else count
    return text


def render(claims: list[Claim]) -> str:
    names = [name.lower() for name in SECTIONS]

    def rank(claim: Claim) -> tuple[int, str, str]:  # then collection order (stable)
        section, path = claim.section.lower(), claim.test.partition('::')[0]
        if section in names:
            return (names.index(section), '', path)
        return (len(SECTIONS) + (claim.section == NO_SECTION), section, path)

    lines = [
        '# Chapter 20 "Concurrent Executors": the behaviour spec',
        '',
        'This page is generated by `tox -e spec` from the docstrings of the tests in',
        '`tests/`; do not edit it by hand. Each claim is the first sentence of a test,',
        'which checks it on every kind and Python version listed. In all:',
        f'{len(claims)} claims, {sum(len(c.cases) for c in claims)} test cases.',
    ]
    section = None
    for claim in sorted(claims, key=rank):
        if claim.section != section:
            section = claim.section
            lines += ['', f'## {section}', '', '| Claim | Test | Runs on | Python |']
            lines.append('| --- | --- | --- | --- |')
        floor = min(case.needs for case in claim.cases)
        cells = [claim.claim, f'`{claim.test}`', runs_on(claim, floor), version(floor)]
        lines.append('| ' + ' | '.join(c.replace('|', '\\|') for c in cells) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition('\n')[0])
    parser.add_argument('--check', action='store_true', help='compare, write nothing')
    parser.add_argument('--strict', action='store_true', help='fail on any problem')
    parser.add_argument('--output', type=Path, default=ROOT / 'SPEC.md')
    args = parser.parse_args(argv)
    output = args.output.resolve()
    os.chdir(ROOT)
    collector = Collector()
    options = ['--collect-only', '-q', '-p', 'no:randomly', '-p', 'no:cacheprovider']
    # -m '' undoes pyproject's -m 'not cluster': the Dask claims belong in the spec too.
    with contextlib.redirect_stdout(io.StringIO()) as log:
        status = pytest.main([*options, '-m', '', 'tests'], plugins=[collector])
    if status != pytest.ExitCode.OK:
        text = log.getvalue()  # from the errors on, not the list of collected tests
        sys.stderr.write(text[text.rfind('\n', 0, max(text.find(' ERRORS '), 0)) + 1 :])
        print(f'spec_page: collection failed ({status!r})', file=sys.stderr)
        return 2
    for problem in collector.problems:
        print(f'spec_page: {problem}', file=sys.stderr)
    page = render(list(collector.claims.values()))
    if args.check:
        if not output.exists() or output.read_text(encoding='utf-8') != page:
            state = 'is out of date' if output.exists() else 'is missing'
            print(f'{args.output} {state}: run tox -e spec', file=sys.stderr)
            return 1
    else:
        output.write_text(page, encoding='utf-8')
    return 1 if args.strict and collector.problems else 0


if __name__ == '__main__':
    sys.exit(main())
