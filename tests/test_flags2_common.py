"""flags2_common.py: the command line, reports and exit status of the flags2 clients.

The three clients share ``main``: it turns the options into a sorted list of codes, a
base URL and a concurrency, prints the header, calls the client's ``download_many`` and
prints the final report, whose three count lines are always there (a script parses
them). Here ``download_many`` is a fake that records its arguments, so every option and
every bad input is checked without a request; the last tests run the real scripts.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flags import POP20_CC
from flags2_common import SERVERS, DownloadStatus, main
from tests.flag_site import CHAPTER, run_python

OK, NOT_FOUND, ERROR = DownloadStatus.OK, DownloadStatus.NOT_FOUND, DownloadStatus.ERROR
A_Z = [chr(c) for c in range(ord('A'), ord('Z') + 1)]
ALL_194 = sorted((CHAPTER / 'country_codes.txt').read_text().split())


@dataclass
class FakeDownloads:
    """Stands in for a client's download_many: records the call, reports set counts."""

    counts: dict[DownloadStatus, int] = field(default_factory=lambda: {OK: 1})
    interrupt: bool = False
    calls: list[tuple[list[str], str, bool, int]] = field(default_factory=list)
    dest_dir_existed: bool = False

    def __call__(
        self,
        cc_list: list[str],
        base_url: str,
        verbose: bool,
        concur_req: int,
        counter: Counter[DownloadStatus],
    ) -> None:
        self.calls.append((cc_list, base_url, verbose, concur_req))
        self.dest_dir_existed = Path('downloaded').is_dir()
        counter.update(self.counts)
        if self.interrupt:
            raise KeyboardInterrupt

    @property
    def call(self) -> tuple[list[str], str, bool, int]:
        assert len(self.calls) == 1
        return self.calls[0]


def run_main(
    argv: list[str],
    downloads: FakeDownloads | None = None,
    default_req: int = 30,
    max_req: int = 1000,
) -> int:
    """Run main as a client would; return its exit status."""
    with pytest.raises(SystemExit) as exc_info:
        main(downloads or FakeDownloads(), default_req, max_req, argv)
    code = exc_info.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # main creates ./downloaded, as the scripts do


# --- Which codes ----------------------------------------------------------------------


def test_no_codes_means_the_20_most_populous_countries_in_order() -> None:
    """The book's default: POP20_CC from flags.py, sorted."""
    downloads = FakeDownloads()
    run_main([], downloads)
    assert downloads.call[0] == sorted(POP20_CC)


def test_a_single_letter_stands_for_the_26_codes_it_starts() -> None:
    """`B` means BA to BZ, whether the code exists or not."""
    downloads = FakeDownloads()
    run_main(['b'], downloads)
    assert downloads.call[0] == ['B' + letter for letter in A_Z]


def test_codes_are_upper_cased_deduplicated_and_sorted() -> None:
    """Order and case of the arguments do not matter; a code is searched once."""
    downloads = FakeDownloads()
    run_main(['us', 'BR', 'cn', 'Br', 'U'], downloads)
    expected = sorted({'BR', 'CN'} | {'U' + letter for letter in A_Z})
    assert downloads.call[0] == expected


def test_all_reads_the_194_codes_next_to_the_module_from_any_directory() -> None:
    """-a reads chapter20/country_codes.txt, not a file in the working directory."""
    Path('country_codes.txt').write_text('XX YY\n')
    downloads = FakeDownloads()
    run_main(['-a'], downloads)
    assert downloads.call[0] == ALL_194
    assert (len(ALL_194), ALL_194[0], ALL_194[-1]) == (194, 'AD', 'ZW')


def test_every_means_the_676_codes_from_aa_to_zz() -> None:
    """-e tries every pair of letters, so most answers are 404."""
    downloads = FakeDownloads()
    run_main(['-e'], downloads)
    assert downloads.call[0] == [a + b for a in A_Z for b in A_Z]


@pytest.mark.parametrize(
    ('argv', 'expected'),
    [
        (['-e', '-l', '3'], ['AA', 'AB', 'AC']),
        (['-a', '--limit', '2'], ['AD', 'AE']),
        (['-l', '1'], [sorted(POP20_CC)[0]]),
        (['us', 'br', '-l', '5'], ['BR', 'US']),
    ],
)
def test_limit_keeps_the_first_n_codes_in_alphabetical_order(
    argv: list[str], expected: list[str]
) -> None:
    """-l N cuts the sorted list; a limit above its length changes nothing."""
    downloads = FakeDownloads()
    run_main(argv, downloads)
    assert downloads.call[0] == expected


# --- Which server ---------------------------------------------------------------------


def test_the_default_server_is_local_on_127_0_0_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """LOCAL names 127.0.0.1 rather than localhost, which may try IPv6 first."""
    downloads = FakeDownloads()
    run_main([], downloads)
    assert downloads.call[1] == 'http://127.0.0.1:8000/flags'
    assert capsys.readouterr().out.startswith(
        'LOCAL site: http://127.0.0.1:8000/flags\n'
    )


def test_the_labels_name_the_book_servers() -> None:
    """REMOTE is the book's site; DELAY and ERROR are slow_server.py --labels."""
    assert SERVERS == {
        'REMOTE': 'https://www.fluentpython.com/data/flags',
        'LOCAL': 'http://127.0.0.1:8000/flags',
        'DELAY': 'http://127.0.0.1:8001/flags',
        'ERROR': 'http://127.0.0.1:8002/flags',
    }


@pytest.mark.parametrize('spelling', ['delay', 'Delay', 'DELAY', 'dElAy'])
def test_server_labels_are_case_insensitive(
    spelling: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """-s delay, -s Delay and -s DELAY are the same server."""
    downloads = FakeDownloads()
    run_main(['-s', spelling], downloads)
    assert downloads.call[1] == SERVERS['DELAY']
    assert capsys.readouterr().out.startswith(f'DELAY site: {SERVERS["DELAY"]}\n')


@pytest.mark.parametrize(
    ('url', 'base_url'),
    [
        ('http://127.0.0.1:54321/flags', 'http://127.0.0.1:54321/flags'),
        ('http://127.0.0.1:54321/flags/', 'http://127.0.0.1:54321/flags'),
        (
            'https://mirror.example.org/data/flags',
            'https://mirror.example.org/data/flags',
        ),
        ('http://[::1]:8000/flags', 'http://[::1]:8000/flags'),
    ],
)
def test_an_explicit_base_url_is_used_as_given(
    url: str, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """-s also takes a base URL, such as a slow_server.py on a free port."""
    downloads = FakeDownloads()
    run_main(['--server', url], downloads)
    assert downloads.call[1] == base_url
    assert capsys.readouterr().out.startswith(f'URL site: {base_url}\n')


# --- How many at once -----------------------------------------------------------------


@pytest.mark.parametrize(
    ('argv', 'default_req', 'max_req', 'expected'),
    [
        (['-a'], 30, 1000, 30),  # the client's default
        (['-a', '-m', '7'], 30, 1000, 7),
        (['-e', '-m', '1000'], 30, 1000, 676),  # no more than there are codes
        (['-e', '-m', '5000'], 5, 1000, 676),
        (['-e', '--max_req', '999999'], 5, 100, 100),  # no more than the client's max
        ([], 30, 1000, 20),
        (['-a', '-m', '50'], 1, 1, 1),  # the sequential client
    ],
)
def test_max_req_is_capped_by_the_client_maximum_and_the_number_of_codes(
    argv: list[str], default_req: int, max_req: int, expected: int
) -> None:
    """The concurrency passed on is min(-m, the client's maximum, the codes)."""
    downloads = FakeDownloads()
    run_main(argv, downloads, default_req, max_req)
    assert downloads.call[3] == expected


@pytest.mark.parametrize(('argv', 'verbose'), [([], False), (['-v'], True)])
def test_verbose_is_passed_to_the_client(argv: list[str], verbose: bool) -> None:
    """-v asks for one line per code (and no progress bar)."""
    downloads = FakeDownloads()
    run_main(argv, downloads)
    assert downloads.call[2] is verbose


# --- The reports ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ('argv', 'default_req', 'header'),
    [
        (
            ['-a'],
            30,
            'Searching for 194 flags: from AD to ZW\n'
            '30 concurrent connections will be used.\n',
        ),
        (
            ['us', 'br', 'cn'],
            30,
            'Searching for 3 flags: BR, CN, US\n'
            '3 concurrent connections will be used.\n',
        ),
        (['br'], 30, 'Searching for 1 flag: BR\n1 connection will be used.\n'),
        (
            ['-e'],
            1,
            'Searching for 676 flags: from AA to ZZ\n1 connection will be used.\n',
        ),
    ],
)
def test_the_header_says_what_will_be_searched_and_how(
    argv: list[str], default_req: int, header: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Up to 10 codes are listed, more as a range; 1 is singular."""
    run_main(['-s', 'ERROR', *argv], FakeDownloads(), default_req)
    out = capsys.readouterr().out
    assert out.startswith(
        f'ERROR site: {SERVERS["ERROR"]}\n{header}--------------------\n'
    )


@pytest.mark.parametrize(
    ('counts', 'lines', 'status'),
    [
        ({OK: 20}, ['20 flags downloaded.', '0 not found.', '0 errors.'], 0),
        ({OK: 1}, ['1 flag downloaded.', '0 not found.', '0 errors.'], 0),
        ({NOT_FOUND: 20}, ['0 flags downloaded.', '20 not found.', '0 errors.'], 0),
        ({OK: 18, ERROR: 2}, ['18 flags downloaded.', '0 not found.', '2 errors.'], 1),
        ({OK: 17, NOT_FOUND: 2, ERROR: 1}, ['17 flags downloaded.', '2 not found.',
                                            '1 error.'], 1),
    ],
)  # fmt: skip
def test_the_final_report_always_has_the_three_counts_and_the_time(
    counts: dict[DownloadStatus, int],
    lines: list[str],
    status: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit status 1 when any download ended in ERROR, 0 otherwise."""
    assert run_main([], FakeDownloads(counts)) == status
    out = capsys.readouterr().out.splitlines()
    assert out[-5:-1] == ['--------------------', *lines]
    assert re.fullmatch(r'Elapsed time: \d+\.\d\ds', out[-1])


def test_the_download_directory_is_made_in_the_working_directory(
    tmp_path: Path,
) -> None:
    """DEST_DIR is ./downloaded, made before the downloads start."""
    downloads = FakeDownloads()
    run_main([], downloads)
    assert downloads.dest_dir_existed
    assert (tmp_path / 'downloaded').is_dir()


def test_ctrl_c_prints_the_partial_report_and_exits_with_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The counts so far are reported; os._exit skips waiting for hung threads."""
    exits: list[int] = []

    def fake_exit(status: int) -> None:
        exits.append(status)
        raise SystemExit(status)

    monkeypatch.setattr(os, '_exit', fake_exit)
    downloads = FakeDownloads({OK: 3, ERROR: 1}, interrupt=True)

    assert run_main([], downloads) == 130
    assert exits == [130]
    out, err = capsys.readouterr()
    lines = ['3 flags downloaded.', '0 not found.', '1 error.']
    assert out.splitlines()[-4:-1] == lines
    assert err == '*** Interrupted: 16 of 20 codes were not searched.\n'


# --- Bad input ------------------------------------------------------------------------

BAD_INPUT = [
    (['-s', 'NOWHERE'], "Unknown server 'NOWHERE': use REMOTE, LOCAL, DELAY, ERROR"),
    (['-s', 'localhost:8000/flags'], "Unknown server 'localhost:8000/flags'"),
    (['-s', 'ftp://127.0.0.1/flags'], "Malformed base URL 'ftp://127.0.0.1/flags'"),
    (['-s', 'http://127.0.0.1:8000'], 'Malformed base URL'),
    (['-s', 'http:///flags'], 'Malformed base URL'),
    (['-s', 'http://127.0.0.1:99999/flags'], 'Malformed base URL'),
    (['-s', 'http://flags here/flags'], 'Malformed base URL'),
    (['-s', 'http://127.0.0.1/flags?cc=br'], 'Malformed base URL'),
    (['-m', '0'], "Argument -m/--max_req: expected a number from 1 up, not '0'"),
    (['-m', '-3'], "Argument -m/--max_req: expected a number from 1 up, not '-3'"),
    (['-m', 'many'], 'Argument -m/--max_req: expected a number from 1 up'),
    (['-l', '0'], "Argument -l/--limit: expected a number from 1 up, not '0'"),
    (['-l', '1.5'], 'Argument -l/--limit: expected a number from 1 up'),
    (['1Z'], "Each CC must be a letter or two, not '1Z'"),
    (['ABC'], "Each CC must be a letter or two, not 'ABC'"),
    (['../x'], "Each CC must be a letter or two, not '../x'"),
    (['BR', 'ß'], "Each CC must be a letter or two, not 'ß'"),
    (['-a', '-e'], 'Argument -e/--every: not allowed with argument -a/--all'),
    (['-a', 'BR'], 'Give country codes, -a or -e, not two of them'),
    (['B', '-e'], 'Give country codes, -a or -e, not two of them'),
    (['--bogus'], 'Unrecognized arguments: --bogus'),
]


@pytest.mark.parametrize(('argv', 'message'), BAD_INPUT)
def test_bad_input_is_one_usage_error_line_and_exit_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No traceback, no request, no download directory: the line, then the usage."""
    downloads = FakeDownloads()
    assert run_main(argv, downloads) == 2
    out, err = capsys.readouterr()
    first, usage = err.splitlines()[:2]
    assert first.startswith(f'*** Usage error: {message}')
    assert first.endswith('.')
    assert usage.startswith('usage: ')
    assert out == ''
    assert downloads.calls == []
    assert list(tmp_path.iterdir()) == []


# --- The scripts ----------------------------------------------------------------------

CLIENTS = [
    ('flags2_sequential.py', 'default 1, at most 1'),
    ('flags2_threadpool.py', 'default 30, at most 1000'),
    ('flags2_asyncio.py', 'default 5, at most 1000'),
]


@pytest.mark.parametrize(('script', 'limits'), CLIENTS)
def test_each_script_shows_its_usage_and_concurrency_limits(
    script: str, limits: str, tmp_path: Path
) -> None:
    """The command line that the race and the README rely on, from any directory."""
    result = run_python(str(CHAPTER / script), '-h', cwd=tmp_path)
    assert result.returncode == 0
    usage = ' '.join(result.stdout.split())  # argparse wraps to the terminal width
    assert usage.startswith(
        f'usage: {script} [-h] [-a | -e] [-l N] [-m CONCURRENT] [-s LABEL|URL] [-v] '
        '[CC ...]'
    )
    assert f'({limits})' in usage
    assert result.stderr == ''


@pytest.mark.parametrize('script', [script for script, _ in CLIENTS])
def test_each_script_rejects_bad_input_without_a_traceback(
    script: str, tmp_path: Path
) -> None:
    """Exit status 2 and one line before the usage; nothing made in the directory."""
    result = run_python(str(CHAPTER / script), '-m', '0', 'BR', cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ''
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "*** Usage error: Argument -m/--max_req: expected a number from 1 up, not '0'."
    )
    assert lines[1].startswith(f'usage: {script} ')
    assert 'Traceback' not in result.stderr
    assert list(tmp_path.iterdir()) == []
