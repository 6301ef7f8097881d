"""primes.py: the chapter's numbers and its deliberately slow primality test.

Trial division takes seconds on the large primes of the fixture, so the spec checks the
fixture itself with a fast independent test (Miller-Rabin), and runs ``is_prime`` on
every number it decides quickly. ``python chapter20/primes.py`` runs the whole fixture.
"""

import pytest

import primes
from primes import NUMBERS, PRIME_FIXTURE, is_prime

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


def test_the_fixture_holds_the_chapters_20_numbers_in_ascending_order() -> None:
    """NUMBERS are the fixture's numbers; nine of them are prime."""
    assert len(PRIME_FIXTURE) == 20
    assert sorted(NUMBERS) == NUMBERS == [n for n, _ in PRIME_FIXTURE]
    assert sum(flag for _, flag in PRIME_FIXTURE) == 9


@pytest.mark.parametrize(('n', 'expected'), PRIME_FIXTURE, ids=str)
def test_the_fixture_agrees_with_an_independent_primality_test(
    n: int, expected: bool
) -> None:
    """The fixture is right, checked without trial division."""
    assert miller_rabin(n) is expected


@pytest.mark.parametrize(
    ('n', 'expected'), [pair for pair in PRIME_FIXTURE if is_quick(pair[0])], ids=str
)
def test_is_prime_agrees_with_the_fixture_where_it_is_quick(
    n: int, expected: bool
) -> None:
    """is_prime gives the fixture's answer (the numbers with small factors, and 2)."""
    assert is_prime(n) is expected


@pytest.mark.parametrize(
    ('n', 'expected'),
    [(0, False), (1, False), (2, True), (3, True), (4, False), (9, False),
     (25, False), (10_007, True), (10_007**2, False), (10_007 * 10_009, False)],
)  # fmt: skip
def test_is_prime_edge_cases(n: int, expected: bool) -> None:
    """Below 2 nothing is prime; 2 is; a prime's square needs the divisor isqrt(n)."""
    assert is_prime(n) is expected


def test_is_prime_agrees_with_a_sieve_below_10_000() -> None:
    """Every number up to 10,000 is classified right, primes and composites alike."""
    assert [n for n in range(10_000) if is_prime(n)] == sieve(10_000)


def test_running_the_module_reports_agreement(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python primes.py`` prints each number, P for primes, and the verdict."""
    monkeypatch.setattr(primes, 'PRIME_FIXTURE', [(2, True), (9, False), (97, True)])
    primes.main()
    assert capsys.readouterr().out.splitlines() == [
        '               2  P',
        '               9',
        '              97  P',
        'All 3 numbers agree with the fixture.',
    ]


def test_running_the_module_fails_on_a_wrong_fixture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fixture entry that is_prime contradicts makes the module exit with an error."""
    monkeypatch.setattr(primes, 'PRIME_FIXTURE', [(2, True), (91, True)])
    with pytest.raises(SystemExit, match=r'disagrees with the fixture on: \[91\]'):
        primes.main()
