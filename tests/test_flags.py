"""flags.py, the sequential baseline that every concurrent variant reuses or matches.

The chapter's first listing: ``get_flag`` fetches one image, ``save_flag`` writes it,
``download_many`` loops over the codes in sorted order and ``main`` times the whole run.
Unit tests answer the requests with respx; the subprocess tests use a real local server.
"""

from __future__ import annotations

import re
import types
from pathlib import Path

import httpx
import pytest
import respx

import flags
from tests.flag_site import CHAPTER, FlagSite, run_python

BASE = 'https://flags.test/data/flags'  # never resolved: respx answers first


@pytest.fixture(autouse=True)
def _flags_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(flags, 'BASE_URL', BASE)
    monkeypatch.setattr(flags, 'DEST_DIR', tmp_path)


@pytest.mark.respx(base_url=BASE)
def test_get_flag_requests_the_lower_cased_url(respx_mock: respx.MockRouter) -> None:
    """The site's paths are lower case (/cn/cn.gif); the codes are upper case."""
    route = respx_mock.get('/cn/cn.gif').respond(content=b'GIF89a-cn')

    assert flags.get_flag('CN') == b'GIF89a-cn'
    assert route.call_count == 1
    assert route.calls.last.request.url == f'{BASE}/cn/cn.gif'


@pytest.mark.respx(base_url=BASE)
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
def test_get_flag_raises_http_status_error_on_404(respx_mock: respx.MockRouter) -> None:
    """An error status is an exception, not an HTML error page saved as a GIF."""
    respx_mock.get('/zz/zz.gif').respond(404)

    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        flags.get_flag('ZZ')
    assert excinfo.value.response.status_code == 404


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
    assert capsys.readouterr().out == '\n17 downloads in 2.25s\n'


@pytest.mark.respx(base_url=BASE)
def test_main_reports_an_http_error_in_one_line_and_exits_non_zero(
    respx_mock: respx.MockRouter,
) -> None:
    """A 404 ends the run with one line naming the error, not a traceback."""
    respx_mock.get('/bd/bd.gif').respond(404)  # BD is the first of POP20_CC, sorted

    with pytest.raises(SystemExit) as excinfo:
        flags.main(flags.download_many)

    message = excinfo.value.code
    assert isinstance(message, str)  # sys.exit(str) prints it and exits with status 1
    assert message.strip().splitlines() == [
        "*** Download failed: HTTPStatusError: Client error '404 Not Found' "
        f"for url '{BASE}/bd/bd.gif'"
    ]


def test_main_reports_an_error_without_a_message_in_one_line() -> None:
    """Some httpx exceptions have an empty str(); the line still says something."""

    def downloader(cc_list: list[str]) -> int:
        raise httpx.ReadTimeout('')

    with pytest.raises(SystemExit) as excinfo:
        flags.main(downloader)

    assert excinfo.value.code == '\n*** Download failed: ReadTimeout: no details'


@pytest.mark.parametrize(
    ('base_url', 'expected'),
    [(None, 'https://www.fluentpython.com/data/flags'), (BASE, BASE)],
    ids=['default', 'FLAGS_BASE_URL'],
)
def test_flags_base_url_comes_from_the_environment(
    base_url: str | None, expected: str, tmp_path: Path
) -> None:
    """FLAGS_BASE_URL, read at import, points every script at another server."""
    code = f'import sys; sys.path.insert(0, {str(CHAPTER)!r}); import flags; '
    code += 'print(flags.BASE_URL)'
    result = run_python('-c', code, cwd=tmp_path, base_url=base_url)

    assert (result.returncode, result.stdout, result.stderr) == (0, f'{expected}\n', '')


def test_the_script_downloads_every_flag_into_the_working_directory(
    flag_site: FlagSite, tmp_path: Path
) -> None:
    """python chapter20/flags.py, run elsewhere, saves the 20 flags in ./downloaded."""
    result = run_python(
        str(CHAPTER / 'flags.py'), cwd=tmp_path, base_url=flag_site.base_url
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ''
    codes, report = result.stdout.splitlines()[0], result.stdout.splitlines()[-1]
    assert codes == ' '.join(sorted(flag_site.images)) + ' '
    assert re.fullmatch(r'20 downloads in \d+\.\d\ds', report)
    assert flag_site.paths == [
        f'/flags/{cc}/{cc}.gif' for cc in sorted(map(str.lower, flags.POP20_CC))
    ]
    saved = {
        path.stem: path.read_bytes() for path in (tmp_path / 'downloaded').iterdir()
    }
    assert saved == flag_site.images


def test_the_script_exits_with_one_line_when_the_site_says_404(
    flag_site: FlagSite, tmp_path: Path
) -> None:
    """A wrong FLAGS_BASE_URL gives a one-line error on stderr and exit status 1."""
    result = run_python(
        str(CHAPTER / 'flags.py'),
        cwd=tmp_path,
        base_url=f'{flag_site.base_url}/nowhere',
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "*** Download failed: HTTPStatusError: Client error '404 Not Found' "
        f"for url '{flag_site.base_url}/nowhere/bd/bd.gif'"
    ]


@pytest.mark.remote
def test_the_real_site_serves_a_gif(monkeypatch: pytest.MonkeyPatch) -> None:
    """www.fluentpython.com serves the flags the chapter downloads."""
    monkeypatch.setattr(flags, 'BASE_URL', 'https://www.fluentpython.com/data/flags')

    assert flags.get_flag('BR').startswith(b'GIF8')
