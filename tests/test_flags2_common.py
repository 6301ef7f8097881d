"""Downloads with progress display and error handling: flags2_common.py's main.

The three flags2 clients share ``main``: it turns the options into a sorted list of
codes, a base URL and a concurrency, makes the download folder, prints the header,
calls the client's ``download_many`` and prints the final report, whose three count
lines are always there (a script parses them) and whose error line names the causes,
counted. Here ``download_many`` is a fake that records its arguments, so every option
and every bad input is checked in-process, without a request; the last test runs each
real script once.
"""

from __future__ import annotations

import argparse
import errno
import io
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from flags import POP20_CC
from flags2_common import SERVERS, Counts, DownloadStatus, Outcome, error, main
from tests.support import BASE, CHAPTER

OK, NOT_FOUND, ERROR = DownloadStatus.OK, DownloadStatus.NOT_FOUND, DownloadStatus.ERROR
A_Z = [chr(c) for c in range(ord('A'), ord('Z') + 1)]
ALL_194 = sorted((CHAPTER / 'country_codes.txt').read_text().split())
URL_FORM = 'expected http(s)://HOST[:PORT]/…/flags'
USAGE = '[-h] [-a | -e] [-l N] [-m CONCURRENT] [-s LABEL|URL] [-v] [CC ...]'


@dataclass
class FakeDownloads:
    """Stands in for a client's download_many: records the call, counts the outcomes."""

    outcomes: list[Outcome] = field(default_factory=lambda: [Outcome(OK)])
    interrupt: bool = False
    failure: Exception | None = None  # raised after the outcomes, as a save may fail
    calls: list[tuple[list[str], str, bool, int]] = field(default_factory=list)
    dest_dir_existed: bool = False

    def __call__(
        self,
        cc_list: list[str],
        base_url: str,
        verbose: bool,
        concur_req: int,
        counter: Counts,
    ) -> None:
        self.calls.append((cc_list, base_url, verbose, concur_req))
        self.dest_dir_existed = Path('downloaded').is_dir()
        for outcome in self.outcomes:  # one at a time, as the clients count
            counter[outcome] += 1
        if self.interrupt:
            raise KeyboardInterrupt
        if self.failure:
            raise self.failure

    @property
    def call(self) -> tuple[list[str], str, bool, int]:
        assert len(self.calls) == 1
        return self.calls[0]


def run_main(
    argv: list[str],
    downloads: FakeDownloads | None = None,
    default_req: int = 30,
    max_req: int = 1000,
) -> int | str | None:
    """Run main as a client would; return its exit status (or its exit message)."""
    with pytest.raises(SystemExit) as exc_info:
        main(downloads or FakeDownloads(), default_req, max_req, argv)
    code = exc_info.value.code
    assert code is None or isinstance(code, (int, str))
    return code


def status_error(status: int, cc: str = 'br') -> httpx.HTTPStatusError:
    request = httpx.Request('GET', f'{BASE}/{cc}/{cc}.gif')
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError(f'{status}', request=request, response=response)


def outcomes_of(*failures: tuple[int, Exception]) -> list[Outcome]:
    """The outcomes error() gives for n downloads failing with each exception."""
    return [error('BR', exc)[0] for n, exc in failures for _ in range(n)]


@pytest.fixture
def prog(monkeypatch: pytest.MonkeyPatch) -> str:
    """Run as flags2_threadpool.py; return the program name argparse will use."""
    monkeypatch.setattr(sys, 'argv', [str(CHAPTER / 'flags2_threadpool.py')])
    return argparse.ArgumentParser().prog


# --- Which codes ----------------------------------------------------------------------


def test_no_codes_means_the_20_most_populous_countries_in_order(in_tmp: Path) -> None:
    """The book's default: POP20_CC from flags.py, sorted."""
    downloads = FakeDownloads()
    run_main([], downloads)
    assert downloads.call[0] == sorted(POP20_CC)


def test_a_single_letter_stands_for_the_26_codes_it_starts(in_tmp: Path) -> None:
    """`B` means BA to BZ, whether the code exists or not."""
    downloads = FakeDownloads()
    run_main(['b'], downloads)
    assert downloads.call[0] == ['B' + letter for letter in A_Z]


def test_codes_are_upper_cased_deduplicated_and_sorted(in_tmp: Path) -> None:
    """Order and case of the arguments do not matter; a code is searched once."""
    downloads = FakeDownloads()
    run_main(['us', 'BR', 'cn', 'Br', 'U'], downloads)
    expected = sorted({'BR', 'CN'} | {'U' + letter for letter in A_Z})
    assert downloads.call[0] == expected


def test_all_reads_the_194_codes_next_to_the_module_from_any_directory(
    in_tmp: Path,
) -> None:
    """-a reads chapter20/country_codes.txt, not a file in the working directory."""
    Path('country_codes.txt').write_text('XX YY\n')
    downloads = FakeDownloads()
    run_main(['-a'], downloads)
    assert downloads.call[0] == ALL_194
    assert (len(ALL_194), ALL_194[0], ALL_194[-1]) == (194, 'AD', 'ZW')


def test_every_means_the_676_codes_from_aa_to_zz(in_tmp: Path) -> None:
    """-e tries every pair of letters, so most answers are 404."""
    downloads = FakeDownloads()
    run_main(['-e'], downloads)
    assert downloads.call[0] == [a + b for a in A_Z for b in A_Z]


@pytest.mark.parametrize(
    ('argv', 'expected'),
    [
        pytest.param(['-e', '-l', '3'], ['AA', 'AB', 'AC'], id='every-3'),
        pytest.param(['-a', '--limit', '2'], ['AD', 'AE'], id='all-2'),
        pytest.param(['-l', '1'], [sorted(POP20_CC)[0]], id='default-1'),
        pytest.param(['us', 'br', '-l', '5'], ['BR', 'US'], id='above-the-length'),
    ],
)
def test_limit_keeps_the_first_n_codes_in_alphabetical_order(
    argv: list[str], expected: list[str], in_tmp: Path
) -> None:
    """-l N cuts the sorted list; a limit above its length changes nothing."""
    downloads = FakeDownloads()
    run_main(argv, downloads)
    assert downloads.call[0] == expected


# --- Which server ---------------------------------------------------------------------


def test_the_default_server_is_local_on_127_0_0_1(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
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


@pytest.mark.parametrize(
    'spelling',
    [
        pytest.param('delay', id='lower'),
        pytest.param('Delay', id='capitalized'),
        pytest.param('DELAY', id='upper'),
        pytest.param('dElAy', id='mixed'),
    ],
)
def test_server_labels_are_case_insensitive(
    spelling: str, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-s delay, -s Delay and -s DELAY are the same server, shown as DELAY."""
    downloads = FakeDownloads()
    run_main(['-s', spelling], downloads)
    assert downloads.call[1] == SERVERS['DELAY']
    assert capsys.readouterr().out.startswith(f'DELAY site: {SERVERS["DELAY"]}\n')


@pytest.mark.parametrize(
    ('url', 'base_url'),
    [
        pytest.param(
            'http://127.0.0.1:54321/flags',
            'http://127.0.0.1:54321/flags',
            id='free-port',
        ),
        pytest.param(
            'http://127.0.0.1:54321/flags/',
            'http://127.0.0.1:54321/flags',
            id='trailing-slash-dropped',
        ),
        pytest.param(
            'https://mirror.example.org/data/flags',
            'https://mirror.example.org/data/flags',
            id='https-path',
        ),
        pytest.param(
            'https://mirror.example.org/data/flags/',
            'https://mirror.example.org/data/flags',
            id='https-trailing-slash-dropped',
        ),
        pytest.param('http://[::1]:8000/flags', 'http://[::1]:8000/flags', id='ipv6'),
        pytest.param(
            'http://127.0.0.1:65535/flags',
            'http://127.0.0.1:65535/flags',
            id='highest-port',
        ),
    ],
)
def test_an_explicit_base_url_is_used_without_a_trailing_slash(
    url: str, base_url: str, in_tmp: Path, capsys: pytest.CaptureFixture[str]
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
        pytest.param(['-a'], 30, 1000, 30, id='the-client-default'),
        pytest.param(['-a', '-m', '7'], 30, 1000, 7, id='as-given'),
        pytest.param(['-e', '-m', '1000'], 30, 1000, 676, id='no-more-than-codes'),
        pytest.param(['-e', '-m', '100'], 5, 100, 100, id='the-client-maximum'),
        pytest.param([], 30, 1000, 20, id='default-above-codes'),
        pytest.param(['-a', '-m', '1'], 1, 1, 1, id='sequential'),
        pytest.param(['-a'], 1, 1, 1, id='sequential-default'),
    ],
)
@pytest.mark.claims('C34')
def test_max_req_is_capped_by_the_number_of_codes(
    argv: list[str], default_req: int, max_req: int, expected: int, in_tmp: Path
) -> None:
    """The concurrency passed on is min(-m or the client's default, the codes)."""
    downloads = FakeDownloads()
    run_main(argv, downloads, default_req, max_req)
    assert downloads.call[3] == expected


@pytest.mark.parametrize(
    ('argv', 'max_req'),
    [
        pytest.param(['-e', '-m', '1001'], 1000, id='one-above'),
        pytest.param(['-e', '-m', '5000'], 1000, id='threadpool'),
        pytest.param(['-e', '--max_req', '999999'], 100, id='long-option'),
        pytest.param(['-a', '-m', '50'], 1, id='sequential-50'),
        pytest.param(['-m', '2'], 1, id='sequential-2'),
    ],
)
@pytest.mark.claims('C34')
def test_max_req_above_the_client_maximum_is_a_usage_error(
    argv: list[str],
    max_req: int,
    prog: str,
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """-m is rejected above the client's maximum, never silently capped."""
    value = argv[-1]
    message = (
        f'argument -m/--max_req: expected a whole number from 1 to {max_req}, '
        f'not {value!r}'
    )
    check_usage_error(argv, message, prog, in_tmp, capsys, max_req)


@pytest.mark.parametrize(
    ('argv', 'verbose'),
    [pytest.param([], False, id='quiet'), pytest.param(['-v'], True, id='verbose')],
)
def test_verbose_is_passed_to_the_client(
    argv: list[str], verbose: bool, in_tmp: Path
) -> None:
    """-v asks for one line per code (and no progress bar)."""
    downloads = FakeDownloads()
    run_main(argv, downloads)
    assert downloads.call[2] is verbose


# --- The download folder --------------------------------------------------------------


@pytest.mark.claims('C31')
def test_the_download_folder_is_made_in_the_working_directory(in_tmp: Path) -> None:
    """DEST_DIR is ./downloaded, made before the downloads start."""
    downloads = FakeDownloads()
    run_main([], downloads)
    assert downloads.dest_dir_existed
    assert (in_tmp / 'downloaded').is_dir()


def test_a_second_run_in_the_same_folder_keeps_the_download_folder(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The folder may exist already: a second run downloads into it, as the first."""
    assert run_main([]) == 0
    (in_tmp / 'downloaded' / 'br.gif').write_bytes(b'GIF89a')
    downloads = FakeDownloads()
    assert run_main([], downloads) == 0
    assert downloads.dest_dir_existed
    assert (in_tmp / 'downloaded' / 'br.gif').read_bytes() == b'GIF89a'
    assert capsys.readouterr().err == ''


def test_a_folder_that_cannot_be_made_ends_the_run_with_one_line_before_the_header(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder that cannot be made ends the run with one line, before the header.

    Here a file is named downloaded. sys.exit with a message prints it on stderr and
    exits with status 1; nothing is downloaded.
    """
    (in_tmp / 'downloaded').write_text('not a folder')
    downloads = FakeDownloads()
    code = run_main([], downloads)
    assert code == '*** Cannot create the folder downloaded: File exists.'
    assert capsys.readouterr() == ('', '')
    assert downloads.calls == []
    assert (in_tmp / 'downloaded').read_text() == 'not a folder'


# --- The reports ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ('argv', 'default_req', 'header'),
    [
        pytest.param(
            ['-a'],
            30,
            'Searching for 194 flags: from AD to ZW\n'
            '30 concurrent connections will be used.\n',
            id='range',
        ),
        pytest.param(
            ['us', 'br', 'cn'],
            30,
            'Searching for 3 flags: BR, CN, US\n'
            '3 concurrent connections will be used.\n',
            id='listed',
        ),
        pytest.param(
            ['br', 'us'],
            30,
            'Searching for 2 flags: BR, US\n2 concurrent connections will be used.\n',
            id='two',
        ),
        pytest.param(
            ['br'],
            30,
            'Searching for 1 flag: BR\n1 connection will be used.\n',
            id='singular',
        ),
        pytest.param(
            ['-e'],
            1,
            'Searching for 676 flags: from AA to ZZ\n1 connection will be used.\n',
            id='one-connection',
        ),
        pytest.param(
            ['a', '-l', '10'],
            30,
            'Searching for 10 flags: AA, AB, AC, AD, AE, AF, AG, AH, AI, AJ\n'
            '10 concurrent connections will be used.\n',
            id='ten-listed',
        ),
        pytest.param(
            ['a', '-l', '11'],
            30,
            'Searching for 11 flags: from AA to AK\n'
            '11 concurrent connections will be used.\n',
            id='eleven-as-a-range',
        ),
    ],
)
@pytest.mark.claims('C31')
def test_the_header_says_what_will_be_searched_and_how(
    argv: list[str],
    default_req: int,
    header: str,
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Up to 10 codes are listed, more as a range; 1 is singular."""
    run_main(['-s', 'ERROR', *argv], FakeDownloads(), default_req)
    out = capsys.readouterr().out
    assert out.startswith(
        f'ERROR site: {SERVERS["ERROR"]}\n{header}--------------------\n'
    )


@pytest.mark.parametrize(
    ('outcomes', 'lines', 'status'),
    [
        pytest.param([Outcome(OK)] * 20,
                     ['20 flags downloaded.', '0 not found.', '0 errors.'], 0,
                     id='all-ok'),
        pytest.param([Outcome(OK)],
                     ['1 flag downloaded.', '0 not found.', '0 errors.'], 0,
                     id='one-ok'),
        pytest.param([Outcome(NOT_FOUND)] * 20,
                     ['0 flags downloaded.', '20 not found.', '0 errors.'], 0,
                     id='all-not-found'),
        pytest.param([Outcome(OK)] * 18 + outcomes_of((2, status_error(418))),
                     ['18 flags downloaded.', '0 not found.',
                      '2 errors: HTTP 418 (2).'], 1,
                     id='two-errors'),
        pytest.param([Outcome(OK)] * 17 + [Outcome(NOT_FOUND)] * 2
                     + outcomes_of((1, httpx.ReadTimeout(''))),
                     ['17 flags downloaded.', '2 not found.',
                      '1 error: ReadTimeout (1).'], 1,
                     id='one-error'),
        pytest.param(outcomes_of(*((1, httpx.ConnectError(f'try {n}'))
                                   for n in range(20))),
                     ['0 flags downloaded.', '0 not found.',
                      '20 errors: ConnectError (20).'], 1,
                     id='one-cause-grouped'),
        pytest.param(outcomes_of((3, httpx.ReadTimeout('')),
                                 (1, status_error(500, 'cn')),
                                 (12, httpx.ConnectError('refused')),
                                 (2, status_error(418, 'us')),
                                 (8, httpx.ConnectError('')),
                                 (3, status_error(418, 'br')))
                     + [Outcome(OK)] * 4 + [Outcome(NOT_FOUND)],
                     ['4 flags downloaded.', '1 not found.',
                      '29 errors: ConnectError (20), HTTP 418 (5), HTTP 500 (1), '
                      'ReadTimeout (3).'], 1,
                     id='causes-counted-in-alphabetical-order'),
    ],
)  # fmt: skip
@pytest.mark.claims('C31', 'C32')
def test_the_final_report_has_the_three_counts_the_causes_and_the_time(
    outcomes: list[Outcome],
    lines: list[str],
    status: int,
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The report ends with the three counts, the causes of the errors and the time.

    Each cause is counted, in alphabetical order; the exit status is 1 when any
    download ended in error, 0 otherwise.
    """
    assert run_main([], FakeDownloads(outcomes)) == status
    out = capsys.readouterr().out.splitlines()
    assert out[-5:-1] == ['--------------------', *lines]
    assert re.fullmatch(r'Elapsed time: \d+\.\d\ds', out[-1])


@pytest.mark.parametrize(
    ('exc', 'outcome', 'line'),
    [
        pytest.param(status_error(418), Outcome(ERROR, 'HTTP 418'),
                     "BR error: HTTP 418 - I'm a teapot", id='http-status'),
        pytest.param(status_error(503), Outcome(ERROR, 'HTTP 503'),
                     'BR error: HTTP 503 - Service Unavailable', id='http-503'),
        pytest.param(httpx.ConnectError('All connection attempts failed'),
                     Outcome(ERROR, 'ConnectError'),
                     'BR error: ConnectError: All connection attempts failed',
                     id='message'),
        pytest.param(httpx.ReadTimeout(''), Outcome(ERROR, 'ReadTimeout'),
                     'BR error: ReadTimeout', id='empty-message'),
        pytest.param(PermissionError(13, 'Permission denied'),
                     Outcome(ERROR, 'PermissionError'),
                     'BR error: PermissionError: [Errno 13] Permission denied',
                     id='failed-save'),
    ],
)  # fmt: skip
@pytest.mark.claims('C32')
def test_an_error_is_counted_by_its_cause_and_shown_with_its_details(
    exc: Exception, outcome: Outcome, line: str
) -> None:
    """The cause is the HTTP status or the exception's class; -v shows the message."""
    assert error('BR', exc) == (outcome, line)


def test_ctrl_c_prints_the_partial_report_and_exits_with_130(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C prints the counts so far and the codes left, and exits with 130.

    The line on stderr comes after a line break, which ends the progress bar's line.
    Here, in a test, Ctrl-C is Python's KeyboardInterrupt; run as a script, the stop
    of stopping.py prints the same report and leaves at once, without waiting for the
    threads that wait for the server (test_flags2_integration.py).
    """
    readings = [100.0, 102.5]  # a clock that starts far from 0: the run takes 2.5 s
    monkeypatch.setattr(time, 'perf_counter', lambda: readings.pop(0))
    outcomes = [Outcome(OK)] * 3 + outcomes_of((1, httpx.ConnectError('')))
    downloads = FakeDownloads(outcomes, interrupt=True)

    assert run_main([], downloads) == 130
    out, err = capsys.readouterr()
    lines = ['3 flags downloaded.', '0 not found.', '1 error: ConnectError (1).']
    assert out.splitlines()[-4:] == [*lines, 'Elapsed time: 2.50s']
    assert err == '\n*** Interrupted: 16 of 20 codes were not searched.\n'


NOTHING_ANSWERED = (
    '*** Nothing answered at {}: is the flag server running? Start the local flag'
    ' servers with .venv/bin/python chapter20/slow_server.py --labels, and choose one'
    ' with -s LOCAL, DELAY or ERROR (or -s URL).\n'
)


@pytest.mark.parametrize(
    ('argv', 'url'),
    [
        pytest.param([], 'http://127.0.0.1:8000/flags', id='local'),
        pytest.param(['-s', 'delay'], 'http://127.0.0.1:8001/flags', id='delay'),
    ],
)
def test_a_run_that_no_server_answered_says_what_to_do_after_the_report(
    argv: list[str], url: str, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When no download got an answer, only ConnectError or ConnectTimeout, a line
    on stderr follows the report: the flag server may not be running, how to start
    the local ones, and that -s chooses one."""
    failed = outcomes_of((19, httpx.ConnectError('')), (1, httpx.ConnectTimeout('')))
    assert run_main(argv, FakeDownloads(failed)) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-2] == '20 errors: ConnectError (19), ConnectTimeout (1).'
    assert err == NOTHING_ANSWERED.format(url)


class LogFile(io.RawIOBase):
    """A file that takes a script's stdout and stderr, as ``> run.log 2>&1`` does."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.data += data
        return len(data)


INTERRUPTED = '*** Interrupted: 17 of 20 codes were not searched.\n'


@pytest.mark.parametrize(
    ('outcomes', 'interrupt', 'last_line'),
    [
        pytest.param(outcomes_of((20, httpx.ConnectError(''))), False,
                     NOTHING_ANSWERED.format(SERVERS['LOCAL']), id='nothing-answered'),
        pytest.param([Outcome(OK)] * 3, True, INTERRUPTED, id='ctrl-c'),
    ],
)  # fmt: skip
def test_the_report_comes_before_the_line_after_it_in_one_log_file(
    outcomes: list[Outcome],
    interrupt: bool,
    last_line: str,
    in_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With stdout and stderr in one file (``> run.log 2>&1``), the final report
    comes before the line on stderr that follows it: the report is flushed, though a
    file or a pipe holds stdout back until its buffer fills, and stderr does not."""
    log = LogFile()
    monkeypatch.setattr(sys, 'stdout', io.TextIOWrapper(io.BufferedWriter(log)))
    monkeypatch.setattr(
        sys, 'stderr', io.TextIOWrapper(io.BufferedWriter(log), line_buffering=True)
    )
    readings = [100.0, 102.5]  # a clock that starts far from 0: the run takes 2.5 s
    monkeypatch.setattr(time, 'perf_counter', lambda: readings.pop(0))

    run_main([], FakeDownloads(outcomes, interrupt))
    assert log.data.decode().endswith(f'Elapsed time: 2.50s\n{last_line}')


@pytest.mark.parametrize(
    'outcomes',
    [
        pytest.param([Outcome(OK), *outcomes_of((19, httpx.ConnectError('')))],
                     id='one-answered'),
        pytest.param(outcomes_of((19, httpx.ConnectError('')), (1, status_error(418))),
                     id='one-error-answered'),
        pytest.param([], id='nothing-asked'),
    ],
)  # fmt: skip
def test_a_run_that_a_server_answered_says_nothing_of_starting_one(
    outcomes: list[Outcome], in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One answer, even a 418, shows a server is there: no advice to start one."""
    run_main([], FakeDownloads(outcomes))
    assert capsys.readouterr().err == ''


def test_a_flag_that_cannot_be_saved_ends_the_run_with_one_line(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk is not a download error to count: the run ends with one line on
    stderr naming the flag, and status 1, without the final report."""
    full = OSError(errno.ENOSPC, 'No space left on device', 'downloaded/BR.gif')
    downloads = FakeDownloads([Outcome(OK)], failure=full)

    assert run_main(['-v'], downloads) == 1
    out, err = capsys.readouterr()
    why = 'OSError: No space left on device: downloaded/BR.gif'
    assert err == f'*** Download failed: {why}\n'
    assert '-' * 20 not in out


# --- Bad input ------------------------------------------------------------------------


def check_usage_error(
    argv: list[str],
    message: str,
    prog: str,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    max_req: int = 1000,
) -> None:
    """argparse's way: exit status 2, the usage, then PROG: error: MESSAGE."""
    downloads = FakeDownloads()
    assert run_main(argv, downloads, max_req=max_req) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f'usage: {prog} [-h] ')
    assert err.endswith(f'\n{prog}: error: {message}\n')
    assert 'Traceback' not in err
    assert out == ''
    assert downloads.calls == []
    assert list(folder.iterdir()) == []


def unknown(server: str) -> str:
    return f'unknown server {server!r}: use REMOTE, LOCAL, DELAY, ERROR or a base URL'


def malformed(url: str) -> str:
    return f'malformed base URL {url!r}: {URL_FORM}'


def not_a_number(option: str, text: str, limits: str = 'from 1 to 1000') -> str:
    return f'argument {option}: expected a whole number {limits}, not {text!r}'


def not_a_code(text: str) -> str:
    return f'each CC must be a letter or two, not {text!r}'


TWO_KINDS = 'give country codes, -a or -e, not two of them'
BAD_INPUT = [
    pytest.param(['-s', 'NOWHERE'], unknown('NOWHERE'), id='unknown-server'),
    pytest.param(['-s', 'dela'], unknown('dela'), id='misspelt-label'),
    pytest.param(['-s', 'localhost:8000/flags'], unknown('localhost:8000/flags'),
                 id='no-scheme'),
    pytest.param(['-s', 'ftp://127.0.0.1/flags'], malformed('ftp://127.0.0.1/flags'),
                 id='ftp'),
    pytest.param(['-s', 'http://127.0.0.1:8000'], malformed('http://127.0.0.1:8000'),
                 id='no-flags-path'),
    pytest.param(['-s', 'http:///flags'], malformed('http:///flags'), id='no-host'),
    pytest.param(['-s', 'http://127.0.0.1:65536/flags'],
                 malformed('http://127.0.0.1:65536/flags'), id='port-65536'),
    pytest.param(['-s', 'http://127.0.0.1:99999/flags'],
                 malformed('http://127.0.0.1:99999/flags'), id='port-99999'),
    pytest.param(['-s', 'http://flags here/flags'],
                 malformed('http://flags here/flags'), id='space-in-host'),
    pytest.param(['-s', 'http://127.0.0.1/flags?cc=br'],
                 malformed('http://127.0.0.1/flags?cc=br'), id='query'),
    pytest.param(['-m', '0'], not_a_number('-m/--max_req', '0'), id='max-req-0'),
    pytest.param(['-m', '-3'], not_a_number('-m/--max_req', '-3'),
                 id='max-req-negative'),
    pytest.param(['-m', 'many'], not_a_number('-m/--max_req', 'many'),
                 id='max-req-word'),
    pytest.param(['-m', '2.5'], not_a_number('-m/--max_req', '2.5'),
                 id='max-req-fraction'),
    pytest.param(['-l', '0'], not_a_number('-l/--limit', '0', 'from 1 up'),
                 id='limit-0'),
    pytest.param(['-l', '-1'], not_a_number('-l/--limit', '-1', 'from 1 up'),
                 id='limit-negative'),
    pytest.param(['-l', '1.5'], not_a_number('-l/--limit', '1.5', 'from 1 up'),
                 id='limit-fraction'),
    pytest.param(['-l', 'ten'], not_a_number('-l/--limit', 'ten', 'from 1 up'),
                 id='limit-word'),
    pytest.param(['1Z'], not_a_code('1Z'), id='digit-in-code'),
    pytest.param(['ABC'], not_a_code('ABC'), id='three-letters'),
    pytest.param(['../x'], not_a_code('../x'), id='path'),
    pytest.param(['BR', 'ß'], not_a_code('ß'), id='non-ascii-letter'),
    pytest.param(['-a', '-e'],
                 'argument -e/--every: not allowed with argument -a/--all',
                 id='all-and-every'),
    pytest.param(['-a', 'BR'], TWO_KINDS, id='all-and-codes'),
    pytest.param(['B', '-e'], TWO_KINDS, id='every-and-codes'),
    pytest.param(['--bogus'], 'unrecognized arguments: --bogus', id='unknown-option'),
]  # fmt: skip


@pytest.mark.parametrize(('argv', 'message'), BAD_INPUT)
def test_bad_input_is_a_usage_error_with_exit_status_2(
    argv: list[str],
    message: str,
    prog: str,
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bad input is a usage error: the usage, PROG: error: MESSAGE, exit status 2.

    No request is made and no download folder is created.
    """
    check_usage_error(argv, message, prog, in_tmp, capsys)


# --- The scripts ----------------------------------------------------------------------

LIMITS = {
    'flags2_sequential': 'default 1, at most 1',
    'flags2_threadpool': 'default 30, at most 1000',
    'flags2_asyncio': 'default 5, at most 1000',
}


@pytest.mark.claims('C31')
def test_each_client_shows_its_usage_and_concurrency_limits(
    client: ModuleType, prog: str, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-h shows the command line the race and the README rely on, with the limits."""
    with pytest.raises(SystemExit) as exc_info:
        main(
            client.download_many,
            client.DEFAULT_CONCUR_REQ,
            client.MAX_CONCUR_REQ,
            ['-h'],
        )
    assert exc_info.value.code == 0
    out, err = capsys.readouterr()
    usage = ' '.join(out.split())  # argparse wraps to the terminal width
    assert usage.startswith(f'usage: {prog} {USAGE}')
    assert f'({LIMITS[client.__name__]})' in usage
    assert err == ''
    assert list(in_tmp.iterdir()) == []
