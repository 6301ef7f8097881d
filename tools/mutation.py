"""Mutation testing for chapter20/: would the spec notice if the code were wrong?

For each script named in tools/mutation.toml the tool parses the source with ``ast``
and makes mutants, small plausible bugs: ``<=`` for ``<``, ``!=`` for ``==``, ``not
in`` for ``in``, ``-`` for ``+``, ``or`` for ``and``, ``x`` for ``not x``, ``n + 1``
for a number, ``''`` for a string, ``False`` for ``True``, ``return None``, ``pass``
for a simple statement, a negated ``if``, ``continue`` for ``break``. Each mutant is
one text edit at the exact source position of its node; the rest of the file stays
byte-identical. Docstrings, annotations and lines marked ``# pragma: no mutate`` are
left alone. At most ``max_mutants`` per file run: a seeded sample of the candidates, so
a commit always gets the same mutants. A mutant id reads ``FILE:LINE:COL OPERATOR``,
counted from 1 as ruff does: ``primes.py:47:10 lt->lte``.

Each worker owns a scratch copy of the repository (chapter20/, tests/, conftest.py,
pyproject.toml). It writes a mutant over its file there, runs the tests that cover the
file, and restores the file, so the mutant is live in the subprocesses that the tests
start too (``python chapter20/flags.py``). Each group of tests must first pass on the
clean copy. A mutant is killed when pytest fails or runs past its timeout
(``timeout_factor`` x the clean run, at least ``min_timeout`` s), and survives when
pytest passes. Mutants listed in tools/equivalent_mutants.txt, which behave exactly as
the original, are not run; a reason that begins ``<3.14:`` (or ``>=3.14:``) makes the
entry hold on those Pythons only, for code that runs on the others. Score: killed /
(mutants - equivalent), for each file, for the listings (``listings`` in the config:
the chapter's scripts, the flags2 series and the server, which ``min_score`` applies
to) and for all the files run.

Run it with the test dependencies installed (and ``tomli`` on Python 3.10)::

    python tools/mutation.py                          # every file of the config
    python tools/mutation.py --files primes.py --max 15 --jobs 2
    python tools/mutation.py --files flags.py --list  # show the mutants, run none

Exit status: 0 when the listings' score (the total's, if no listing ran) reaches
--min-score, 1 below it, 2 when the config is wrong or the clean copy fails its tests.
"""

from __future__ import annotations

import argparse
import ast
import bisect
import contextlib
import itertools
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parent.parent
CONFIG, EQUIVALENT = ROOT / 'tools/mutation.toml', ROOT / 'tools/equivalent_mutants.txt'
COPIED = ['chapter20', 'tests', 'conftest.py', 'pyproject.toml']
PYTEST = '-m pytest -x -q -p no:randomly -p no:cacheprovider -n 0'.split()
CLEAN_TIMEOUT = 1800  # s; pytest-timeout (pyproject.toml) already stops a hung test
PRAGMA = b'# pragma: no mutate'
# The operators that mutants swap, as OLD:NEW names of ast classes, then their tokens.
SWAP = dict(pair.split(':', 1) for pair in (
    'Lt:LtE LtE:Lt Gt:GtE GtE:Gt Eq:NotEq NotEq:Eq In:NotIn NotIn:In Is:IsNot IsNot:Is '
    'Add:Sub Sub:Add Mult:FloorDiv FloorDiv:Mult Div:Mult Mod:FloorDiv Pow:Mult '
    'LShift:RShift RShift:LShift BitOr:BitAnd BitAnd:BitOr BitXor:BitOr And:Or Or:And'
).split())  # fmt: skip
TOKENS = '< <= > >= == != in not_in is is_not + - * // / % ** << >> | & ^ and or'
TOKEN = {op: t.replace('_', ' ') for op, t in zip(SWAP, TOKENS.split(), strict=True)}
ATOMIC = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)
ANNOTATIONS = ('annotation', 'returns')  # the fields of ast nodes that hold them
REMOVABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Raise)
Edit = tuple[int, int, str, str]  # start and end offset in the source, new text, name
Run = tuple[int | None, float, str]  # pytest's exit status (None: timeout), s, output


@dataclass(frozen=True, eq=False)
class Mutant:
    file: str
    id: str  # FILE:LINE:COL OPERATOR
    start: int  # the offset of the edit in the source
    text: bytes  # the whole mutated file
    before: str  # the line of the edit, in the original and in the mutant
    after: str


class Mutator:
    """Every candidate mutant of one source file, as text edits at node positions."""

    def __init__(self, name: str, source: bytes) -> None:
        self.name, self.source = name, source
        self.lines = source.splitlines(keepends=True)  # the same lines as ast's
        self.starts = [0, *itertools.accumulate(map(len, self.lines))]

    def span(self, node: ast.expr | ast.stmt) -> tuple[int, int]:
        """A node's offsets in the source: ast counts lines from 1, columns in bytes."""
        start = self.starts[node.lineno - 1] + node.col_offset
        end = self.starts[(node.end_lineno or 1) - 1] + (node.end_col_offset or 0)
        return start, end

    def swap(
        self, op: ast.AST, a: ast.expr, b: ast.expr, tail: str = ''
    ) -> Iterator[Edit]:
        """Swap the operator between two operands (found among brackets, comments)."""
        old, new = type(op).__name__, SWAP[type(op).__name__]
        low, high = self.span(a)[1], self.span(b)[0]
        gap = re.sub(rb'#[^\r\n]*', lambda c: b' ' * len(c[0]), self.source[low:high])
        words = list(re.finditer(rb'[^\s()\\]+', gap))
        if b' '.join(w[0] for w in words).decode() == TOKEN[old] + tail:
            start, end = low + words[0].start(), low + words[-1].end()
            yield start, end, TOKEN[new] + tail, f'{old}->{new}'.lower()

    def walk(self, node: ast.AST) -> Iterator[ast.AST]:
        """The nodes to mutate: no docstring, annotation, or part of an f-string."""
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return
        yield node
        if isinstance(node, ast.JoinedStr):
            return  # before 3.12 the parts of an f-string have no positions of theirs
        for field, value in ast.iter_fields(node):
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST) and field not in ANNOTATIONS:
                    yield from self.walk(child)

    def edits(self, node: ast.AST) -> Iterator[Edit]:
        """Each mutation of one node."""
        match node:
            case ast.Compare(left=left, ops=ops, comparators=rights):
                for a, op, b in zip([left, *rights], ops, rights, strict=False):
                    yield from self.swap(op, a, b)
            case ast.BinOp(left=a, op=op, right=b) if type(op).__name__ in SWAP:
                yield from self.swap(op, a, b)
            case ast.AugAssign(target=a, op=op, value=b) if type(op).__name__ in SWAP:
                yield from self.swap(op, a, b, '=')
            case ast.BoolOp(op=op, values=values):
                for a, b in itertools.pairwise(values):
                    yield from self.swap(op, a, b)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                yield self.span(node)[0], self.span(operand)[0], '', 'drop_not'
            case ast.Constant(value=bool(flag)):
                yield *self.span(node), str(not flag), f'{flag}->{not flag}'.lower()
            case ast.Constant(value=int() | float() as n):
                number = 1 if n == 0 else 0 if n == 1 else n + 1
                yield *self.span(node), repr(number), 'num->0' if n == 1 else 'num->n+1'
            case ast.Constant(value=str() | bytes() as s):
                quoted = ('b' if isinstance(s, bytes) else '') + ("''" if s else "'XX'")
                yield *self.span(node), quoted, 'str->empty' if s else 'str->XX'
            case ast.JoinedStr():
                yield *self.span(node), "''", 'str->empty'
            case ast.If(test=test) | ast.IfExp(test=test):
                start, end = self.span(test)
                text = self.source[start:end].decode()
                negated = f'not {text}' if isinstance(test, ATOMIC) else f'not ({text})'
                yield start, end, negated, 'if->not'
            case ast.Break():
                yield *self.span(node), 'continue', 'break->continue'
            case ast.Continue():
                yield *self.span(node), 'break', 'continue->break'
        value = node.value if isinstance(node, ast.Return) else None
        if value and not (isinstance(value, ast.Constant) and value.value is None):
            yield *self.span(value), 'None', 'return->None'
        annotation = isinstance(node, ast.AnnAssign) and node.value is None
        if isinstance(node, REMOVABLE) and not annotation:
            yield *self.span(node), 'pass', 'stmt->pass'

    def mutants(self) -> list[Mutant]:
        """Every candidate that parses, once each, in the order of the source."""
        found: dict[str, Mutant] = {}
        for node in self.walk(ast.parse(self.source)):
            for start, end, new, op in self.edits(node):
                line = bisect.bisect_right(self.starts, start)  # from 1
                last = bisect.bisect_right(self.starts, max(start, end - 1))
                if any(PRAGMA in text for text in self.lines[line - 1 : last]):
                    continue
                text = self.source[:start] + new.encode() + self.source[end:]
                with contextlib.suppress(SyntaxError):
                    ast.parse(text)
                    head = self.lines[line - 1][: start - self.starts[line - 1]]
                    id_ = f'{self.name}:{line}:{len(head.decode()) + 1} {op}'
                    before = self.lines[line - 1].decode().strip()
                    after = text.splitlines()[line - 1].decode().strip()
                    found.setdefault(
                        id_, Mutant(self.name, id_, start, text, before, after)
                    )
        return sorted(found.values(), key=lambda m: (m.start, m.id))


def choose(mutants: list[Mutant], count: int, seed: int) -> list[Mutant]:
    """At most count mutants: always the same ones for the same source and seed."""
    if len(mutants) <= count:
        return mutants
    sample = random.Random(f'{seed}:{mutants[0].file}').sample(mutants, count)
    return sorted(sample, key=lambda m: (m.start, m.id))


VERSIONED = re.compile(r'(<|>=)3\.(\d+):\s*')  # a reason that holds on some Pythons


def read_equivalent() -> dict[str, str]:
    """Mutant id -> reason, from lines like ``flags.py:12:4 lt->lte  # reason``, for
    the running Python: ``# <3.14: reason`` holds before 3.14 only."""
    text = EQUIVALENT.read_text(encoding='utf-8') if EQUIVALENT.exists() else ''
    entries = (line.partition('#')[::2] for line in text.splitlines())
    found = {}
    for id_, why in entries:
        versioned = VERSIONED.match(why.strip())
        if versioned:
            before = sys.version_info[:2] < (3, int(versioned[2]))
            if before != (versioned[1] == '<'):
                continue
        if id_.strip():
            found[' '.join(id_.split())] = why.strip()
    return found


def pytest(copy: Path, tests: list[str], timeout: float) -> Run:
    """Run the tests with pytest in one copy of the repository."""
    for cache in list(copy.rglob('__pycache__')):
        shutil.rmtree(cache, ignore_errors=True)  # a stale .pyc could hide a mutant
    with tempfile.TemporaryFile() as out:
        started, status = time.monotonic(), None
        child = subprocess.Popen(
            [sys.executable, *PYTEST, *tests], cwd=copy, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            status = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGINT)  # so that pytest tears its fixtures down
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)
        seconds = time.monotonic() - started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # whatever the tests left running
        child.wait()
        out.seek(0)
        return status, seconds, out.read().decode(errors='replace')


class Scratch:
    """Copies of the repository, one per worker, lent out through a queue."""

    def __init__(self, count: int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix='mutation-'))
        self.free: queue.Queue[Path] = queue.Queue()
        for i in range(count):  # copy 0 is the snapshot the mutants come from
            source, copy = ROOT if i == 0 else self.root / '0', self.root / str(i)
            copy.mkdir()
            for item in COPIED:
                if (source / item).is_dir():
                    ignore = shutil.ignore_patterns('__pycache__')
                    shutil.copytree(source / item, copy / item, ignore=ignore)
                else:
                    shutil.copy2(source / item, copy / item)
            self.free.put(copy)
        self.chapter = self.root / '0/chapter20' if count else ROOT / 'chapter20'

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def run(
        self, tests: list[str], timeout: float, mutant: Mutant | None = None
    ) -> Run:
        """Run pytest in a free copy, with the mutant over its file if there is one."""
        copy = self.free.get()
        target = copy / 'chapter20' / (mutant.file if mutant else '')
        original = target.read_bytes() if mutant else b''
        try:
            if mutant:
                target.write_bytes(mutant.text)
            return pytest(copy, tests, timeout)
        finally:
            if mutant:
                target.write_bytes(original)
            self.free.put(copy)


def execute(plan: list[Mutant], covers: dict[str, list[str]], config: dict[str, Any],
            scratch: Scratch, jobs: int) -> dict[Mutant, str] | None:  # fmt: skip
    """Test the clean copy, then each mutant: the outcomes, or None if clean fails."""
    suites = {m.file: tuple(covers[m.file]) for m in plan}
    with ThreadPoolExecutor(jobs) as pool:
        order = sorted(set(suites.values()))
        runs = pool.map(lambda suite: scratch.run(list(suite), CLEAN_TIMEOUT), order)
        clean = dict(zip(order, runs, strict=True))
        for suite, (status, seconds, output) in clean.items():
            print(f'clean run, {seconds:.1f} s: {" ".join(suite)}', flush=True)
            if status != 0:
                print(f'{output[-4000:]}\n*** The clean copy fails {" ".join(suite)} '
                      f'(exit status {status}): fix that before mutating.')  # fmt: skip
                return None
        factor, least = config.get('timeout_factor', 3), config.get('min_timeout', 20)
        futures = {}
        for m in plan:
            timeout = max(least, factor * clean[suites[m.file]][1])
            futures[pool.submit(scratch.run, covers[m.file], timeout, m)] = m
        results: dict[Mutant, str] = {}
        for done, future in enumerate(as_completed(futures), 1):
            (status, seconds, _), m = future.result(), futures[future]
            results[m] = {None: 'timeout', 0: 'survived'}.get(status, 'killed')
            print(
                f'[{done}/{len(plan)}] {results[m]:8} {m.id} ({seconds:.1f} s)',
                flush=True,
            )
    return results


def report(
    chosen: dict[str, list[Mutant]], results: dict[Mutant, str], listings: list[str]
) -> dict[str, float]:
    """Print the score of each file, of the listings and in total, then the
    survivors; return the scores of the listings (if any ran) and of the total."""
    groups = {
        'listings': [m for name in chosen if name in listings for m in chosen[name]],
        'total': [m for mutants in chosen.values() for m in mutants],
    }
    rows = {name: [m for m in ms if m in results] for name, ms in chosen.items()}
    rows.update({name: [m for m in ms if m in results] for name, ms in groups.items()})
    print(f'\n{"file":28} killed / scored  score  equivalent  timeouts')
    scores = {}
    for name, run in rows.items():
        killed = sum(results[m] != 'survived' for m in run)
        timeouts = sum(results[m] == 'timeout' for m in run)
        equivalent = len(chosen.get(name) or groups[name]) - len(run)
        score = scores[name] = 100 * killed / len(run) if run else 100.0
        if name in groups and not groups[name]:
            continue  # no listing ran
        mark = '*' if name in listings else ''
        print(f'{name + mark:28} {killed:6} / {len(run):<6} {score:5.1f}%'
              f'  {equivalent:10}  {timeouts:8}')  # fmt: skip
    if groups['listings']:
        print('* a listing: the listings row is their score together')
    survivors = [m for m in rows['total'] if results[m] == 'survived']
    if survivors:
        print(f'\nSurviving mutants (add a test, or list in {EQUIVALENT.name}):')
    for m in survivors:
        print(f'  {m.id}\n    - {m.before}\n    + {m.after}')
    return {name: scores[name] for name, ms in groups.items() if ms}


def main(argv: list[str] | None = None) -> int:
    config = tomllib.loads(CONFIG.read_text(encoding='utf-8'))
    covers: dict[str, list[str]] = config['files']
    parser = argparse.ArgumentParser(description=(__doc__ or '').splitlines()[0])
    add = parser.add_argument
    add('--files', nargs='+', default=list(covers), help='default: all in the config')
    add('--max', type=int, default=config.get('max_mutants', 60), help='per file')
    add('--jobs', type=int, default=os.cpu_count() or 1, help='mutants run at once')
    add('--min-score', type=float, default=config.get('min_score', 90), help='percent')
    add('--list', action='store_true', help='print the mutants, run none')
    args = parser.parse_args(argv)
    files = [Path(f).name for f in args.files]  # chapter20/flags.py or flags.py
    if unknown := [f for f in files if f not in covers]:
        parser.error(f'not in {CONFIG.name}: {" ".join(unknown)}')
    if stray := [f for f in config.get('listings', []) if f not in covers]:
        parser.error(f'{CONFIG.name}: listings not in [files]: {" ".join(stray)}')
    paths = [p for f in files for p in [f'chapter20/{f}', *covers[f]]]
    if missing := [p for p in paths if not (ROOT / p).is_file()]:
        parser.error(f'no such file: {" ".join(missing)} (see {CONFIG.name})')
    known = {*covers, *config.get('skip', [])}
    for path in sorted((ROOT / 'chapter20').glob('*.py')):
        if path.name not in known:
            print(
                f'warning: {path.name} is not in {CONFIG.name}, so it gets no mutants'
            )
    equivalent = read_equivalent()
    for entry in (e for e, why in equivalent.items() if not why):
        print(f'warning: {EQUIVALENT.name} gives no reason for {entry}')
    with Scratch(0 if args.list else max(1, args.jobs)) as scratch:
        chosen = {}
        for name in files:
            candidates = Mutator(name, (scratch.chapter / name).read_bytes()).mutants()
            ids = {m.id for m in candidates}
            for entry in (e for e in equivalent if e.startswith(f'{name}:')):
                if entry not in ids:
                    print(f'warning: {EQUIVALENT.name}: {entry} is no mutant any more')
            chosen[name] = choose(candidates, args.max, config.get('seed', 0))
            print(f'{name}: {len(chosen[name])} of {len(candidates)} candidate mutants')
        plan = [m for mutants in chosen.values() for m in mutants]
        if args.list:
            for m in plan:
                print(f'{m.id:44} {m.after}')
            return 0
        for m in (m for m in plan if m.id in equivalent):
            print(f'equivalent {m.id}  # {equivalent[m.id]}')
        plan = [m for m in plan if m.id not in equivalent]
        results = execute(plan, covers, config, scratch, args.jobs)
    if results is None:
        return 2
    scores = report(chosen, results, config.get('listings', []))
    judged = 'listings' if 'listings' in scores else 'total'
    print(f'\nscore of the {judged}: {scores[judged]:.1f}%'
          f' (minimum {args.min_score:g}%); total {scores["total"]:.1f}%')  # fmt: skip
    return 1 if scores[judged] < args.min_score else 0


if __name__ == '__main__':
    sys.exit(main())
