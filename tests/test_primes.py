"""Multicore prime checker redux: the chapter's 20 numbers and its slow primality test.

Trial division takes seconds on the large primes of the fixture, so the spec checks the
fixture itself with a fast independent test (Miller-Rabin), and runs ``is_prime`` on
every number it decides quickly. ``python chapter20/primes.py`` runs the whole fixture
(about 30 s): the spec runs the script only until Ctrl-C comes with its first line.
"""

import io
import sys
from pathlib import Path

import pytest

import primes
from primes import NUMBERS, PRIME_FIXTURE, is_prime
from tests.support import EXIT_INTERRUPTED, run_as_main, run_script

# The book's PRIME_FIXTURE, copied here: a changed digit must fail a test.
CHAPTERS_FIXTURE = [
    (2, True),
    (142702110479723, True),
    (299593572317531, True),
    (3333333333333301, True),
    (3333333333333333, False),
    (3333335652092209, False),
    (4444444444444423, True),
    (4444444444444444, False),
    (4444444488888889, False),
    (5555553133149889, False),
    (5555555555555503, True),
    (5555555555555555, False),
    (6666666666666666, False),
    (6666666666666719, True),
    (6666667141414921, False),
    (7777777536340681, False),
    (7777777777777753, True),
    (7777777777777777, False),
    (9999999999999917, True),
    (9999999999999999, False),
]
# Bases that make Miller-Rabin exact for every n below 3.3e24 (Sorenson and Webster).
WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
# Trial division finds a factor this small in microseconds; larger ones cost seconds.
QUICK_FACTOR = 1_000


def miller_rabin(n: int) -> bool:
    if n < 2:
        return False
    for p in WITNESSES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in WITNESSES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def is_quick(n: int) -> bool:
    return n < QUICK_FACTOR**2 or any(n % d == 0 for d in range(2, QUICK_FACTOR))


def sieve(limit: int) -> list[int]:
    flags = [False, False] + [True] * (limit - 2)
    for n in range(2, limit):
        if flags[n]:
            flags[n * n :: n] = [False] * len(range(n * n, limit, n))
    return [n for n, flag in enumerate(flags) if flag]


@pytest.mark.claims('C25')
def test_the_fixture_is_the_chapters_20_numbers_with_the_books_verdicts() -> None:
    """NUMBERS are the book's 20 numbers in ascending order; 9 of them are prime.

    Each number and each verdict is pinned: a neighbour of a chapter number, or a
    verdict flipped, fails here.
    """
    assert PRIME_FIXTURE == CHAPTERS_FIXTURE
    assert [n for n, _ in CHAPTERS_FIXTURE] == NUMBERS
    assert sorted(NUMBERS) == NUMBERS
    assert sum(flag for _, flag in PRIME_FIXTURE) == 9


@pytest.mark.claims('C25')
def test_the_fixture_agrees_with_an_independent_primality_test() -> None:
    """The book's verdicts are right, checked without trial division (Miller-Rabin)."""
    wrong = [n for n, flag in PRIME_FIXTURE if miller_rabin(n) is not flag]
    assert wrong == []


@pytest.mark.claims('C25')
def test_is_prime_agrees_with_the_fixture_where_it_is_quick() -> None:
    """is_prime gives the fixture's answer on the numbers with small factors, and 2."""
    quick = [(n, flag) for n, flag in PRIME_FIXTURE if is_quick(n)]
    assert len(quick) == 7  # 2 and the composites with a factor below 1,000
    assert [(n, is_prime(n)) for n, _ in quick] == quick


@pytest.mark.parametrize(
    ('n', 'expected'),
    [
        pytest.param(0, False, id='zero'),
        pytest.param(1, False, id='one'),
        pytest.param(2, True, id='two'),
        pytest.param(3, True, id='three'),
        pytest.param(4, False, id='four'),
        pytest.param(9, False, id='odd-square'),
        pytest.param(25, False, id='square-of-5'),
        pytest.param(10_007, True, id='five-digit-prime'),
        pytest.param(10_007**2, False, id='square-of-a-prime'),
        pytest.param(10_007 * 10_009, False, id='twin-primes-product'),
    ],
)
def test_is_prime_edge_cases(n: int, expected: bool) -> None:
    """Below 2 nothing is prime; 2 is; a prime's square needs the divisor isqrt(n)."""
    assert is_prime(n) is expected


def test_is_prime_agrees_with_a_sieve_below_10_000() -> None:
    """Every number up to 10,000 is classified right, primes and composites alike."""
    assert [n for n in range(10_000) if is_prime(n)] == sieve(10_000)


def test_main_prints_each_number_with_p_for_primes_and_the_verdict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """main prints each number in 16 columns, P for primes, then the verdict."""
    monkeypatch.setattr(primes, 'PRIME_FIXTURE', [(2, True), (9, False), (97, True)])
    primes.main()
    assert capsys.readouterr().out.splitlines() == [
        '               2  P',
        '               9',
        '              97  P',
        'All 3 numbers agree with the fixture.',
    ]


def test_main_fails_on_a_wrong_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixture entry that is_prime contradicts makes the run exit with an error."""
    monkeypatch.setattr(primes, 'PRIME_FIXTURE', [(2, True), (91, True)])
    with pytest.raises(SystemExit) as exited:
        primes.main()
    assert exited.value.code == '*** is_prime disagrees with the fixture on: [91].'


def test_help_describes_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``primes.py -h`` shows the usage and what a run does, and checks nothing."""
    assert run_as_main('primes.py', '-h', monkeypatch=monkeypatch) == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: primes.py [-h]\n\nCheck the 20 numbers one by one.\n')
    assert '  P' not in out


def test_an_argument_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """primes.py takes no arguments: one is refused the argparse way, exit status 2."""
    assert run_as_main('primes.py', '97', monkeypatch=monkeypatch) == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert (
        err == 'usage: primes.py [-h]\nprimes.py: error: unrecognized arguments: 97\n'
    )


def test_a_usage_error_has_no_traceback(tmp_path: Path) -> None:
    """Run as a script, a bad argument gets the usage and one error line, no more."""
    done = run_script('primes.py', '--numbers', cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, '')
    assert done.stderr == (
        'usage: primes.py [-h]\nprimes.py: error: unrecognized arguments: --numbers\n'
    )


class CtrlCAtFirstWrite(io.StringIO):
    """A stand-in for sys.stdout: Ctrl-C comes as the first number is printed."""

    def write(self, text: str) -> int:
        raise KeyboardInterrupt


def test_running_the_script_runs_main_and_ctrl_c_reports_the_count(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python primes.py`` runs main, whose Ctrl-C report says how many were checked.

    The script run in this process, as ``python primes.py`` runs it, with a Ctrl-C
    as the first result is printed (it counts once checked): the cheap way to see
    main start, as a whole run takes half a minute.
    """
    monkeypatch.setattr(sys, 'stdout', CtrlCAtFirstWrite())
    assert run_as_main('primes.py', monkeypatch=monkeypatch) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == '*** Interrupted: 1 of 20 numbers checked.\n'
