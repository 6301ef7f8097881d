"""proc_pool.py: CPU-bound checks on a process pool, and what a process pool needs.

The script uses the platform's default start method, as a reader's run would. The test
process has threads (pytest-xdist, the pools of other tests), where forking is unsafe,
so the in-process tests hand the script a pool with the forkserver or spawn method.
"""

import re
import subprocess
import sys
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing.context import BaseContext

import pytest

import proc_pool
from proc_pool import PrimeResult, check, check_numbers
from tests.executor_tasks import SUBPROCESS_TIMEOUT, square

SCRIPT = proc_pool.__file__
# Decided at once: three primes, a prime's square, an even and an odd composite.
SMALL = [97, 2, 10_007**2, 100, 10_007, 91]
LINE = re.compile(r'(?P<n>[ \d]{16})  (?P<flag>[P ]) (?P<elapsed>[ \d]{2}\.\d{6})s')


def test_check_returns_the_number_its_primality_and_the_time_it_took() -> None:
    """check(n) is what crosses the process boundary: a small picklable tuple."""
    n, flag, elapsed = check(10_007)
    assert (n, flag) == (10_007, True)
    assert 0 <= elapsed < 1
    assert check(10_007**2)[:2] == (10_007**2, False)


def test_check_numbers_prints_each_number_largest_first_with_its_flag(
    executor: Executor, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any Executor will do: the report lists the numbers in descending order."""
    results = check_numbers(executor, '4 workers', SMALL)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Checking 6 numbers with 4 workers:'
    assert re.fullmatch(r'Total time: \d+\.\d\ds', out[-1])
    rows = [LINE.fullmatch(line) for line in out[1:-1]]
    assert all(rows), out
    got = [(int(row['n']), row['flag'] == 'P') for row in rows if row]
    expected = [(n, n in (97, 2, 10_007)) for n in sorted(SMALL, reverse=True)]
    assert got == expected
    assert [result[:2] for result in results] == expected
    assert all(isinstance(result, PrimeResult) for result in results)


@pytest.fixture
def pools(
    mp_context: BaseContext, monkeypatch: pytest.MonkeyPatch
) -> list[ProcessPoolExecutor]:
    """main() builds its pool with a safe start method; here are the pools it built."""
    built: list[ProcessPoolExecutor] = []

    def make(max_workers: int | None = None) -> ProcessPoolExecutor:
        built.append(ProcessPoolExecutor(max_workers, mp_context=mp_context))
        return built[-1]

    monkeypatch.setattr(proc_pool, 'ProcessPoolExecutor', make)
    monkeypatch.setattr(proc_pool, 'NUMBERS', SMALL)
    return built


def test_main_prints_the_worker_count_it_was_given(
    pools: list[ProcessPoolExecutor], capsys: pytest.CaptureFixture[str]
) -> None:
    """``proc_pool.py 2`` checks the numbers with two processes."""
    proc_pool.main(['2'])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Checking 6 numbers with 2 processes:'
    assert [int(line.split()[0]) for line in out[1:-1]] == sorted(SMALL, reverse=True)
    assert vars(pools[0])['_max_workers'] == 2  # private: the pool's only record of it


def test_main_prints_the_actual_default_worker_count(
    pools: list[ProcessPoolExecutor], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without an argument the pool picks its size; the script prints that number."""
    proc_pool.main([])
    first_line = capsys.readouterr().out.splitlines()[0]
    # The executor keeps its size in a private attribute; there is no public accessor.
    actual = vars(pools[0])['_max_workers']
    assert first_line == f'Checking 6 numbers with {actual} processes:'


def test_a_lambda_cannot_be_sent_to_a_process_pool(mp_context: BaseContext) -> None:
    """Calls travel to worker processes pickled, and pickle sends functions by name.

    A lambda has no importable name, so the call fails when the result is read; a
    module-level function of the same body works.
    """
    with ProcessPoolExecutor(1, mp_context=mp_context) as executor:
        assert list(executor.map(square, [3])) == [9]
        results = executor.map(lambda n: n * n, [3])
        # 3.10 to 3.12 say "Can't pickle local object", 3.13 "Can't get local object".
        with pytest.raises(AttributeError, match=r"Can't \w+ local object .*<lambda>"):
            list(results)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )


def test_help_shows_the_usage() -> None:
    """``proc_pool.py -h`` explains the optional worker count."""
    proc = run('-h')
    assert proc.returncode == 0
    assert proc.stdout.startswith('usage: proc_pool.py [-h] [WORKERS]')
    assert 'number of processes (default: the CPU count)' in proc.stdout


@pytest.mark.parametrize('workers', ['0', '-1', 'two', '1.5', '2 3'])
def test_a_bad_worker_count_is_a_one_line_usage_error(
    workers: str,
) -> None:
    """Bad input gets one clear line on stderr and exit status 2, no traceback."""
    proc = run(*workers.split())
    assert proc.returncode == 2
    assert proc.stdout == ''
    assert re.fullmatch(r'proc_pool\.py: error: .+; try -h for help\.\n', proc.stderr)
    assert 'Traceback' not in proc.stderr
