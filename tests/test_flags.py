"""A sequential download script: flags.py, the baseline every concurrent variant reuses.

The chapter's first listing: ``get_flag`` fetches one image, ``save_flag`` writes it,
``download_many`` loops over the codes in sorted order and ``main`` times the whole run,
turning a failed download, a folder it cannot make or Ctrl-C into a short report.
In-process tests answer the requests with respx; the runs of the script as a reader
types it use the local flag server (slow_server.py) through FLAGS_BASE_URL.
"""

from __future__ import annotations

import errno
import re
import runpy
import subprocess
import types
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx

import flags
import harness
from flag_images import flag_gif
from harness import FlagServer, stop
from tests.support import (
    BASE,
    CHAPTER,
    EXIT_INTERRUPTED,
    LONG_TIMEOUT,
    ctrl_c,
    nothing_left,
    run_as_main,
    start_script,
)

REPORT = re.compile(r'20 downloads in \d+\.\d\ds')


@pytest.fixture(autouse=True)
def _flags_here(flags_here: Path) -> None:
    """flags.py downloads from BASE (answered by respx) into tmp_path."""


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C03')
def test_get_flag_requests_the_lower_cased_url(respx_mock: respx.MockRouter) -> None:
    """The site's paths are lower case (/cn/cn.gif); the codes are upper case."""
    route = respx_mock.get('/cn/cn.gif').respond(content=b'GIF89a-cn')

    assert flags.get_flag('CN') == b'GIF89a-cn'
    assert route.call_count == 1
    assert route.calls.last.request.url == f'{BASE}/cn/cn.gif'


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C03')
def test_get_flag_follows_redirects(respx_mock: respx.MockRouter) -> None:
    """get_flag follows redirects (httpx does not by default) and returns the target."""
    moved = respx_mock.get('/br/br.gif').respond(
        301, headers={'Location': '/new/br.gif'}
    )
    target = respx_mock.get('https://flags.test/new/br.gif').respond(
        content=b'GIF89a-br'
    )

    assert flags.get_flag('BR') == b'GIF89a-br'
    assert (moved.call_count, target.call_count) == (1, 1)


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C03')
def test_get_flag_raises_http_status_error_on_404(respx_mock: respx.MockRouter) -> None:
    """An error status is an exception, not an HTML error page saved as a GIF."""
    respx_mock.get('/zz/zz.gif').respond(404)

    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        flags.get_flag('ZZ')
    assert excinfo.value.response.status_code == 404


@pytest.mark.claims('C02')
def test_save_flag_writes_exactly_the_bytes_and_leaves_nothing_else(
    tmp_path: Path,
) -> None:
    """Every byte value arrives intact, and no temporary .part file is left behind."""
    image = bytes(range(256)) * 3

    flags.save_flag(image, 'CN.gif')

    assert list(tmp_path.iterdir()) == [tmp_path / 'CN.gif']
    assert (tmp_path / 'CN.gif').read_bytes() == image


def test_save_flag_replaces_an_existing_file(tmp_path: Path) -> None:
    """Saving again overwrites the old image with the new one."""
    (tmp_path / 'CN.gif').write_bytes(b'old image, longer than the new one')

    flags.save_flag(b'new', 'CN.gif')

    assert list(tmp_path.iterdir()) == [tmp_path / 'CN.gif']
    assert (tmp_path / 'CN.gif').read_bytes() == b'new'


def test_a_failed_save_leaves_the_existing_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that dies halfway (a full disk) never truncates the good file."""
    good = tmp_path / 'CN.gif'
    good.write_bytes(b'good image')

    def write_half_then_fail(path: Path, data: bytes) -> int:
        with path.open('wb') as file:
            file.write(data[: len(data) // 2])
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(Path, 'write_bytes', write_half_then_fail)
    with pytest.raises(OSError, match='No space left'):
        flags.save_flag(b'new image that does not fit', 'CN.gif')

    assert list(tmp_path.iterdir()) == [good]
    assert good.read_bytes() == b'good image'


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C02')
def test_download_many_works_in_sorted_order_and_returns_the_count(
    respx_mock: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Codes are fetched, saved and printed one after the other, in sorted order."""
    for cc in ['br', 'cn', 'in']:
        respx_mock.get(f'/{cc}/{cc}.gif').respond(content=f'GIF89a-{cc}'.encode())

    count = flags.download_many(['IN', 'BR', 'CN'])

    assert count == 3
    assert capsys.readouterr().out == 'BR CN IN '
    paths = [call.request.url.path for call in respx_mock.calls]
    assert paths == [
        '/data/flags/br/br.gif',
        '/data/flags/cn/cn.gif',
        '/data/flags/in/in.gif',
    ]
    saved = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert saved == {
        'BR.gif': b'GIF89a-br',
        'CN.gif': b'GIF89a-cn',
        'IN.gif': b'GIF89a-in',
    }


def test_download_many_of_no_codes_returns_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An empty list is no error: nothing is printed and the count is 0."""
    assert flags.download_many([]) == 0
    assert capsys.readouterr().out == ''


@pytest.mark.claims('C04')
def test_main_prints_the_count_and_the_elapsed_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """main creates DEST_DIR, hands POP20_CC to the downloader and times it."""
    dest = tmp_path / 'downloaded'
    monkeypatch.setattr(flags, 'DEST_DIR', dest)
    clock = iter([100.0, 102.25])  # a fake perf_counter: the run takes 2.25 s
    monkeypatch.setattr(
        flags, 'time', types.SimpleNamespace(perf_counter=clock.__next__)
    )
    record: list[tuple[list[str], bool]] = []

    def downloader(cc_list: list[str]) -> int:
        record.append((cc_list, dest.is_dir()))
        return 17

    flags.main(downloader)

    assert record == [(flags.POP20_CC, True)]
    assert capsys.readouterr() == ('\n17 downloads in 2.25s\n', '')


@pytest.mark.respx(base_url=BASE)
def test_main_reports_an_http_error_in_one_line_and_exits_non_zero(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 404 ends the run with one line naming the error, not a traceback."""
    respx_mock.get('/bd/bd.gif').respond(404)  # BD is the first of POP20_CC, sorted

    with pytest.raises(SystemExit) as excinfo:
        flags.main(flags.download_many)

    assert excinfo.value.code == 1
    out, err = capsys.readouterr()
    assert out == ''
    assert err == (
        "\n*** Download failed: HTTPStatusError: Client error '404 Not Found' "
        f"for url '{BASE}/bd/bd.gif'\n"
    )


def test_main_reports_an_error_without_a_message_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Some httpx exceptions have an empty str(); the line still says something."""

    def downloader(cc_list: list[str]) -> int:
        raise httpx.ReadTimeout('')

    with pytest.raises(SystemExit) as excinfo:
        flags.main(downloader)

    assert excinfo.value.code == 1
    assert capsys.readouterr().err == '\n*** Download failed: ReadTimeout: no details\n'


START = '.venv/bin/python chapter20/slow_server.py --labels'
SET_URL = 'set FLAGS_BASE_URL to one of them, such as http://127.0.0.1:8000/flags'


@pytest.mark.parametrize(
    ('base_url', 'why'),
    [
        pytest.param('http://127.0.0.1:8000/flags', 'is the flag server running? Start',
                     id='local-server-down'),
        pytest.param('http://localhost:8001/flags', 'is the flag server running? Start',
                     id='localhost-server-down'),
        pytest.param(BASE, 'is this machine offline? To work offline, start',
                     id='remote-site-offline'),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    'exc',
    [
        pytest.param(
            httpx.ConnectError('[Errno 111] Connection refused'), id='refused'
        ),
        pytest.param(httpx.ConnectTimeout('timed out'), id='no-answer-to-connect'),
    ],
)
def test_no_server_at_the_base_url_says_what_to_do_in_the_same_line(
    base_url: str,
    why: str,
    exc: httpx.TransportError,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When nothing answers at the base URL, the line that ends the run goes on: the
    local flag server may not be running (or, for a remote site, the machine may be
    offline), how to start the local servers, and that FLAGS_BASE_URL chooses one."""
    monkeypatch.setattr(flags, 'BASE_URL', base_url)

    def downloader(cc_list: list[str]) -> int:
        raise exc

    with pytest.raises(SystemExit) as excinfo:
        flags.main(downloader)

    assert excinfo.value.code == 1
    assert capsys.readouterr().err == (
        f'\n*** Download failed: {type(exc).__name__}: {exc}. Nothing answered at'
        f' {base_url}: {why} the local flag servers with {START}, and {SET_URL}.\n'
    )


@pytest.mark.respx(base_url=BASE)
def test_a_full_disk_ends_the_run_with_one_line_naming_the_flag(
    respx_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A flag that cannot be saved (a full disk) ends the run: one line on stderr
    that names the flag, not its temporary file, and status 1; nothing is left."""
    respx_mock.get('/bd/bd.gif').respond(content=b'GIF89a')
    write_bytes = Path.write_bytes

    def disk_full(self: Path, data: bytes) -> int:  # writes half, then fails
        write_bytes(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, 'No space left on device', str(self))

    monkeypatch.setattr(Path, 'write_bytes', disk_full)

    with pytest.raises(SystemExit) as excinfo:
        flags.main(flags.download_many)

    assert excinfo.value.code == 1
    assert capsys.readouterr() == (
        '',
        '\n*** Download failed: OSError: No space left on device: '
        f'{flags.DEST_DIR / "BD.gif"}\n',
    )
    assert list(flags.DEST_DIR.iterdir()) == []


def test_main_reports_ctrl_c_in_one_line_and_exits_130(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C during the downloads is reported on stderr, exit status 130.

    Here, in a test, Ctrl-C is Python's KeyboardInterrupt; run as a script, the stop
    of stopping.py prints the same line (see the runs of the script below).
    """

    def downloader(cc_list: list[str]) -> int:
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as excinfo:
        flags.main(downloader)

    assert excinfo.value.code == EXIT_INTERRUPTED
    assert capsys.readouterr() == (
        '',
        '\n*** Interrupted: the flags above were saved.\n',
    )


def test_a_file_in_the_place_of_the_folder_ends_main_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A folder it cannot create is one line and exit status 1; nothing downloads."""
    dest = tmp_path / 'downloaded'
    dest.write_text('a file, not a folder')
    monkeypatch.setattr(flags, 'DEST_DIR', dest)
    called: list[list[str]] = []

    def downloader(cc_list: list[str]) -> int:
        called.append(cc_list)
        return 0

    with pytest.raises(SystemExit) as excinfo:
        flags.main(downloader)

    # sys.exit(str) prints the line on stderr and exits with status 1.
    assert excinfo.value.code == f'*** Cannot create the folder {dest}: File exists.'
    assert called == []
    assert dest.read_text() == 'a file, not a folder'


@pytest.mark.parametrize(
    ('base_url', 'expected'),
    [
        pytest.param(None, 'https://www.fluentpython.com/data/flags', id='unset'),
        pytest.param(BASE, BASE, id='set'),
        pytest.param(f'{BASE}/', BASE, id='set-with-trailing-slash'),
    ],
)
def test_flags_base_url_comes_from_the_environment(
    base_url: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FLAGS_BASE_URL, read at import, points every script at another server."""
    if base_url is None:
        monkeypatch.delenv('FLAGS_BASE_URL', raising=False)
    else:
        monkeypatch.setenv('FLAGS_BASE_URL', base_url)

    assert runpy.run_path(str(CHAPTER / 'flags.py'))['BASE_URL'] == expected


@pytest.mark.respx  # a download would fail the test: no route, no network
def test_h_explains_flags_base_url_and_downloads_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    """flags.py -h prints its usage and says how to pick another server, status 0."""
    assert run_as_main('flags.py', '-h', monkeypatch=monkeypatch) == 0

    out, err = capsys.readouterr()
    assert out.startswith('usage: flags.py [-h]\n')
    assert 'Set FLAGS_BASE_URL to download from elsewhere than' in out
    assert err == ''
    assert list(in_tmp.iterdir()) == []


@pytest.mark.respx  # a download would fail the test: no route, no network
def test_an_argument_is_a_usage_error_with_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    """flags.py takes no argument: argparse reports one, status 2, nothing created."""
    assert run_as_main('flags.py', '--bogus', monkeypatch=monkeypatch) == 2

    out, err = capsys.readouterr()
    assert out == ''
    assert err.startswith('usage: flags.py [-h]\n')
    assert err.endswith('flags.py: error: unrecognized arguments: --bogus\n')
    assert list(in_tmp.iterdir()) == []


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C02', 'C04')
def test_the_script_downloads_every_flag_into_the_working_directory(
    respx_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    in_tmp: Path,
) -> None:
    """python flags.py saves the 20 flags in ./downloaded, asking for them one by one
    in sorted order, and reports the count and the time."""
    for cc in flags.POP20_CC:
        respx_mock.get(f'/{cc.lower()}/{cc.lower()}.gif').respond(content=flag_gif(cc))
    monkeypatch.setenv('FLAGS_BASE_URL', BASE)  # read by the script run afresh

    assert run_as_main('flags.py', monkeypatch=monkeypatch) is None  # no sys.exit

    out, err = capsys.readouterr()
    codes, report = out.splitlines()
    assert codes == ' '.join(sorted(flags.POP20_CC)) + ' '
    assert REPORT.fullmatch(report)
    assert err == ''
    assert [call.request.url.path for call in respx_mock.calls] == [
        f'/data/flags/{cc}/{cc}.gif' for cc in sorted(map(str.lower, flags.POP20_CC))
    ]
    saved = {path.stem: path.read_bytes() for path in (in_tmp / 'downloaded').iterdir()}
    assert saved == {cc: flag_gif(cc) for cc in flags.POP20_CC}


def test_ctrl_c_mid_run_exits_130_and_keeps_the_flags_already_saved(
    flag_server_factory: Callable[..., FlagServer], tmp_path: Path
) -> None:
    """Ctrl-C while a download waits for the server ends the run with one line on
    stderr and status 130; every code printed has its flag on disk."""
    server = flag_server_factory('--delay', '0.1')  # 2 s for the 20: ample time
    env = {'FLAGS_BASE_URL': server.base_url}
    child, out, err = start_script('flags.py', cwd=tmp_path, env=env)
    try:
        server.requests(at_least=1, timeout=LONG_TIMEOUT)  # BD answered: in the loop
        status = ctrl_c(child)
    finally:
        stop(child)

    assert status == EXIT_INTERRUPTED
    assert err.text() == '\n*** Interrupted: the flags above were saved.\n'
    assert nothing_left(child) == []
    printed = out.text().split()
    assert printed == sorted(flags.POP20_CC)[: len(printed)]
    assert len(printed) < len(flags.POP20_CC)
    saved = {path.name for path in (tmp_path / 'downloaded').iterdir()}
    assert {f'{cc}.gif' for cc in printed} <= saved  # no .part file, either
    assert saved <= {f'{cc}.gif' for cc in flags.POP20_CC}


@pytest.mark.skipif(not Path('/dev/full').exists(), reason='needs /dev/full')
def test_a_stdout_on_a_full_disk_ends_the_run_with_one_line(
    flag_server: FlagServer, tmp_path: Path
) -> None:
    """``flags.py > /dev/full``: the first code it prints cannot be written; the run
    ends there with one line on stderr and status 1, no traceback."""
    env = {'FLAGS_BASE_URL': flag_server.base_url}
    with Path('/dev/full').open('w') as full:
        child = harness.start(
            'flags.py', cwd=tmp_path, env=env, stdout=full, stderr=subprocess.PIPE
        )
        try:
            _, err = child.communicate(timeout=LONG_TIMEOUT)
        finally:
            stop(child)
    assert (child.returncode, err) == (
        1,
        '*** Cannot write the output: No space left on device.\n',
    )
    assert [p.name for p in (tmp_path / 'downloaded').iterdir()] == ['BD.gif']


@pytest.mark.remote
def test_the_real_site_serves_a_gif(monkeypatch: pytest.MonkeyPatch) -> None:
    """www.fluentpython.com serves the flags the chapter downloads."""
    monkeypatch.setattr(flags, 'BASE_URL', flags.REMOTE_URL)

    assert flags.get_flag('BR').startswith(b'GIF8')
