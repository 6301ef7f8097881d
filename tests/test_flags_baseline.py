"""A sequential download script: what flags.py asks of each request and of its folder.

Two promises of the chapter's first listing that the other flags.py tests leave
implicit: every request carries a timeout, so a silent server cannot hang the script,
and ``main`` is content with a download folder left by an earlier run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

import flags
from tests.support import BASE


@pytest.mark.respx(base_url=BASE)
@pytest.mark.claims('C03')
def test_get_flag_gives_every_request_a_timeout_of_6_1_seconds(
    flags_here: Path, respx_mock: respx.MockRouter
) -> None:
    """The request has a timeout: 6.1 s to connect, to read, to write and to wait
    for a connection, the book's figure."""
    route = respx_mock.get('/br/br.gif').respond(content=b'GIF89a-br')

    flags.get_flag('BR')

    timeouts = route.calls.last.request.extensions['timeout']
    assert timeouts == dict.fromkeys(['connect', 'read', 'write', 'pool'], 6.1)


@pytest.mark.claims('C04')
def test_main_downloads_into_a_folder_that_exists_already(
    flags_here: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An existing download folder is fine: main keeps it and its files, and runs the
    downloader as on a first run."""
    dest = flags_here / 'downloaded'
    dest.mkdir()
    (dest / 'BR.gif').write_bytes(b'GIF89a-old')
    monkeypatch.setattr(flags, 'DEST_DIR', dest)

    flags.main(len)

    assert (dest / 'BR.gif').read_bytes() == b'GIF89a-old'
    out = capsys.readouterr().out
    assert out.startswith('\n20 downloads in ')
