"""Write SPEC.md, the behaviour spec as a document: every claim of the chapter, proved.

Run from anywhere, with the test dependencies installed (``tox -e spec`` does)::

    python tools/spec_page.py          # (re)write SPEC.md at the repository root
    python tools/spec_page.py --check  # write nothing; exit 1 if SPEC.md is stale
    python tools/spec_page.py --strict --output /tmp/SPEC.md

The page follows tests/claims.py, the chapter's claims C01-C34 in its order. It
collects the tests in-process (none runs): a test proves the claims its
``@pytest.mark.claims('C17')`` marker cites, and a benchmark figure of
benchmarks/RESULTS.md measures the claims in its Claims column. Each claim lists its
tests (the first sentence of the docstring, "Runs on" the ids of the executor, client
and start_method parameters, "Python" the skipif marks that read "needs Python X.Y or
newer" or "needs Python older than X.Y") and its figures. A test that cites no claim
goes beyond the chapter: to "What Python 3.14 adds" (its module's section, or a test
that needs 3.14), to "Ctrl-C and other endings" (its module's section, or its name
says ctrl_c, sigint, sigterm, sigkill, interrupt, pipe, closed_stdout, full_disk,
cannot_be_saved, stops_at_once, ending or starter), or else by its module's section
(the opening "Section name:" of its docstring). Problems go to stderr, and --strict
fails on them: a claim without a test (or, if measured, without a figure), an id that
tests/claims.py does not have, a test that breaks the conventions above.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.claims import ALL, BEYOND, CHAPTER  # noqa: E402

RESULTS = 'benchmarks/RESULTS.md'
PY314, STOPPING, ROBUST = (
    'What Python 3.14 adds',
    'Ctrl-C and other endings',
    ('The listings, made robust'),
)
# The section a module's docstring opens with, and where its uncited tests go.
MODULE_SECTIONS = {
    **{section.title: ROBUST for section in CHAPTER},
    'Multicore prime checker redux': ROBUST,  # the book's own title for that section
    'Setting up test servers': 'The flag server',
    PY314: PY314,
    'Every script behaves alike': 'Every script behaves alike',
    STOPPING: STOPPING,
    'Beyond the book': 'The race, and a Dask cluster',
}
CHAPTER_TITLE = {'multicore prime checker redux': 'Multicore prime checker'}
NO_SECTION = 'Not yet filed under a section'  # last, after the known sections
STOP_WORDS = re.compile(
    r'ctrl_c|sigint|sigterm|sigkill|interrupt|pipe|closed_stdout|full_disk|cannot_be_saved'
    r'|stops_at_once|ending|starter'
)
KINDS = ['executor', 'client', 'start_method']  # fixtures whose ids name what runs
NEEDS = re.compile(r'needs Python (older than )?(\d+)\.(\d+)( or newer)?')
LOOKS_LIKE_VERSION = re.compile(r'python|\b3\.\d+', re.IGNORECASE)
SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-Z`"(])')  # not after "e.g." or "6.1"
CLAIM_ID = re.compile(r'C\d\d')

Version = tuple[int, int]
# The oldest Python is ruff's target-version in pyproject.toml (no tomllib on 3.10).
PYPROJECT = (ROOT / 'pyproject.toml').read_text(encoding='utf-8')
TARGET = re.search(r'target-version\s*=\s*"py3(\d+)"', PYPROJECT)
OLDEST: Version = (3, int(TARGET[1]) if TARGET else 10)
Kind = tuple[int, str]  # (index in KINDS, id): kinds sort by fixture, then by order


class Pythons(NamedTuple):  # the Pythons a case runs on: from, up to (excluded)
    low: Version
    high: Version | None = None

    def __str__(self) -> str:
        low = f'{self.low[0]}.{self.low[1]}'
        last = None if self.high is None else f'{self.high[0]}.{self.high[1] - 1}'
        if last is None:
            return f'{low}+'
        return low if last == low else f'{low}\N{EN DASH}{last}'


class Case(NamedTuple):  # one collected item
    kinds: tuple[Kind, ...]
    other: tuple[tuple[str, int], ...]  # the other params, by identity of their values
    pythons: Pythons


@dataclass
class Test:  # one test function
    test: str  # tests/test_x.py::test_name
    claim: str  # the first sentence of its docstring
    section: str  # the section its module's docstring names
    cites: tuple[str, ...]  # the claim ids of its markers
    cases: list[Case] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.test.partition('::')[0]

    @property
    def name(self) -> str:
        return self.test.partition('::')[2]


class Figure(NamedTuple):  # one row of benchmarks/RESULTS.md
    benchmark: str
    cites: tuple[str, ...]
    figure: str
    value: str


class Collector:
    """A pytest plugin that turns the collected items into tests with their claims."""

    def __init__(self) -> None:
        self.tests: dict[str, Test] = {}
        self.problems: dict[str, None] = {}  # an ordered set

    def section(self, path: str, doc: str | None) -> str:
        head = ' '.join((doc or '').split()).lower()
        for name in MODULE_SECTIONS:
            if head.startswith(name.lower() + ':'):
                return name
        name, colon, _ = (doc or '').strip().partition('\n')[0].partition(':')
        if colon:
            self.problems[f'{path}: unknown section {name.strip()!r}'] = None
            return name.strip()
        self.problems[f'{path}: module docstring does not begin "Section name:"'] = None
        return NO_SECTION

    def pythons(self, item: pytest.Item) -> Pythons:
        low, high = OLDEST, None
        for mark in item.iter_markers('skipif'):
            reason = str(mark.kwargs.get('reason', ''))
            found = NEEDS.fullmatch(reason)
            if found and bool(found[1]) != bool(found[4]):  # one of the two phrasings
                version = (int(found[2]), int(found[3]))
                if found[1]:
                    high = version if high is None else min(high, version)
                else:
                    low = max(low, version)
            elif LOOKS_LIKE_VERSION.search(reason):
                test = item.nodeid.partition('[')[0]
                text = f'{test}: skipif reason {reason!r} is not "needs Python X.Y or'
                self.problems[text + ' newer" or "needs Python older than X.Y"'] = None
        return Pythons(low, high)

    def cites(self, item: pytest.Function, test: str) -> tuple[str, ...]:
        ids: list[str] = []
        for mark in item.iter_markers('claims'):
            for claim_id in mark.args:
                if claim_id not in ALL:
                    self.problems[f'{test}: cites {claim_id!r}, not a claim id'] = None
                elif claim_id not in ids:
                    ids.append(claim_id)
        return tuple(sorted(ids))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            if not isinstance(item, pytest.Function):
                continue
            test = item.nodeid.partition('[')[0]
            if test not in self.tests:
                doc = (item.function.__doc__ or '').strip().split('\n\n')[0]
                doc = ' '.join(doc.split())
                if not doc:
                    self.problems[f'{test}: the test has no docstring'] = None
                claim = SENTENCE_END.split(doc, maxsplit=1)[0] or '*(no docstring)*'
                section = self.section(test.partition('::')[0], item.module.__doc__)
                self.tests[test] = Test(test, claim, section, self.cites(item, test))
            params = item.callspec.params if hasattr(item, 'callspec') else {}
            kinds = tuple((n, params[k]) for n, k in enumerate(KINDS) if k in params)
            if not all(isinstance(value, str) for _, value in kinds):  # value = id
                self.problems[f'{test}: a kind param (executor...) is not a str'] = None
            # Each kind gets the same value objects for the other params, which thus
            # tell the cases apart (callspec.indices count across the whole product).
            other = tuple((k, id(v)) for k, v in params.items() if k not in KINDS)
            ids = tuple((n, str(value)) for n, value in kinds)
            self.tests[test].cases.append(Case(ids, other, self.pythons(item)))


def read_figures(problems: dict[str, None]) -> tuple[str, list[Figure]]:
    """The line that says where and when, and the figures of benchmarks/RESULTS.md."""
    path = ROOT / RESULTS
    if not path.exists():
        problems[f'{RESULTS} is missing: run tox -e bench'] = None
        return '', []
    lines = path.read_text(encoding='utf-8').splitlines()
    figures = []
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
        if len(cells) != 4 or cells[0] in ('Benchmark', '') or set(cells[0]) <= {'-'}:
            continue
        cites = tuple(CLAIM_ID.findall(cells[1]))
        for claim_id in cites:
            if claim_id not in ALL:
                problems[f'{RESULTS}: {cells[2]!r} cites {claim_id!r}, no claim'] = None
        figures.append(Figure(cells[0], cites, cells[2], cells[3]))
    return (lines[0] if lines else ''), figures


def span(cases: Iterable[Case]) -> Pythons:
    """The Pythons that any of the cases runs on."""
    ranges = list({case.pythons for case in cases})
    high = [r.high for r in ranges]
    return Pythons(
        min(r.low for r in ranges),
        None if None in high else max(h for h in high if h is not None),
    )


def runs_on(test: Test) -> str:
    whole = span(test.cases)
    kinds: dict[Kind, list[Case]] = {}
    cases: dict[tuple[tuple[str, int], ...], list[Case]] = {}
    for case in test.cases:
        for kind in case.kinds:
            kinds.setdefault(kind, []).append(case)
        cases.setdefault(case.other, []).append(case)
    names = []
    for (_, name), its in sorted(kinds.items(), key=lambda kv: kv[0][0]):
        pythons = span(its)
        names.append(name if pythons == whole else f'{name} ({pythons})')
    text = ', '.join(names)
    if len(cases) > 1:
        narrower = [span(its) for its in cases.values() if span(its) != whole]
        notes = [f'{narrower.count(p)} only on {p}' for p in sorted(set(narrower))]
        count = f'{len(cases)} cases' + (f' ({", ".join(notes)})' if notes else '')
        text = f'{text}; {count}' if text else count
    return text


def row(*cells: str) -> str:
    return '| ' + ' | '.join(c.replace('|', '\\|') for c in cells) + ' |'


def test_cells(test: Test) -> list[str]:
    link = f'[`{test.name}`]({test.path})'
    return [f'{test.claim} ({link})', runs_on(test), str(span(test.cases))]


def place(test: Test) -> str:
    """The section beyond the chapter for a test that cites no claim."""
    if test.section == PY314 or span(test.cases).low >= (3, 14):
        return PY314
    if STOP_WORDS.search(test.name):
        return STOPPING
    return MODULE_SECTIONS.get(test.section, NO_SECTION)


def render(tests: list[Test], measured_on: str, figures: list[Figure]) -> str:
    proofs = {claim_id: [t for t in tests if claim_id in t.cites] for claim_id in ALL}
    measures = {cid: [f for f in figures if cid in f.cites] for cid in ALL}
    beyond = [t for t in tests if not t.cites]
    cited = len(tests) - len(beyond)
    lines = [
        '# Chapter 20 "Concurrent Executors": the behaviour spec',
        '',
        'Generated by `tox -e spec -- --strict` from tests/claims.py, the docstrings',
        'and markers of the tests in `tests/`, and benchmarks/RESULTS.md; do not edit',
        'it by hand. First the chapter, section by section: each of its claims',
        "(C01-C34, in the chapter's order) with the tests that prove it, or for a",
        'claim about speed or cost the benchmark figure that measures it. Then what',
        'goes beyond the chapter. A row gives the first sentence of a test, the kinds',
        'of executor or client it runs on and the Pythons it runs on.',
        f'In all: {len(ALL)} claims, proved by {cited} tests and',
        f'{sum(len(m) > 0 for m in measures.values())} measured figures;'
        f' {len(beyond)} tests beyond the chapter;'
        f' {sum(len(t.cases) for t in tests)} test cases.',
        f'The figures come from {RESULTS}: {measured_on}',
    ]
    header = ['| Claim | Proved by | Runs on | Python |', '| --- | --- | --- | --- |']
    for section in CHAPTER:
        lines += ['', f'## {section.title}', '', section.intro, '', *header]
        for claim in section.claims:
            text = f'**{claim.id}** {claim.text}'
            if claim.measured:
                text += ' *(measured)*'
            if claim.versions:
                text += f' *({claim.versions.removesuffix(".")})*'
            cells = [[text]]
            for figure in measures[claim.id]:  # the proof of a measured claim first
                link = f'[`{figure.benchmark}`](benchmarks/{figure.benchmark}.py)'
                cells.append([f'{link}: {figure.figure}: **{figure.value}**', '', ''])
            for test in proofs[claim.id]:
                cells.append(test_cells(test))
            if len(cells) == 1:
                cells.append(['**No proof yet.**', '', ''])
            lines.append(row(*cells[0], *cells[1]))
            lines += [row('', *more) for more in cells[2:]]
    sections = [*BEYOND, NO_SECTION]
    for title in sections:
        its = [t for t in beyond if place(t) == title]
        if not its:
            continue
        lines += ['', f'## Beyond the chapter: {title}', '']
        if title in BEYOND:
            lines += [BEYOND[title], '']
        if title != ROBUST:
            lines += ['| Test | Runs on | Python |', '| --- | --- | --- |']
            lines += [row(*test_cells(t)) for t in its]
            continue
        by_section: dict[str, list[Test]] = {}
        for t in its:
            title = CHAPTER_TITLE.get(t.section.lower(), t.section)
            by_section.setdefault(title, []).append(t)
        for name in [s.title for s in CHAPTER if s.title in by_section]:
            group = by_section[name]
            lines += ['', f'### {name}', '']
            lines += ['| Test | Runs on | Python |', '| --- | --- | --- |']
            lines += [row(*test_cells(t)) for t in group]
    return '\n'.join(lines) + '\n'


def check_proofs(
    tests: list[Test], figures: list[Figure], problems: dict[str, None]
) -> None:
    for claim_id, claim in ALL.items():
        if claim.measured and not any(claim_id in f.cites for f in figures):
            problems[f'{claim_id} is measured, but no figure in {RESULTS}'] = None
        elif not claim.measured and not any(claim_id in t.cites for t in tests):
            problems[f'{claim_id} has no proof: no test cites it'] = None


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
    problems = collector.problems
    measured_on, figures = read_figures(problems)
    tests = list(collector.tests.values())
    check_proofs(tests, figures, problems)
    for problem in problems:
        print(f'spec_page: {problem}', file=sys.stderr)
    page = render(tests, measured_on, figures)
    if args.check:
        if not output.exists() or output.read_text(encoding='utf-8') != page:
            state = 'is out of date' if output.exists() else 'is missing'
            print(f'{args.output} {state}: run tox -e spec', file=sys.stderr)
            return 1
    else:
        output.write_text(page, encoding='utf-8')
    return 1 if args.strict and problems else 0


if __name__ == '__main__':
    sys.exit(main())
