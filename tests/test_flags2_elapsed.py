"""Downloads with progress display and error handling: the time the final report gives.

``main`` reads the clock before the downloads start and after they end; the report's
last line is the difference. A fake clock that starts far from zero shows it: a sum
instead of a difference, or one reading only, would print another number.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flags2_common import Counts, DownloadStatus, Outcome, main


def test_the_report_ends_with_the_time_the_downloads_took(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last line is the time between the clock readings around the downloads:
    ``Elapsed time: 3.25s`` for a run from 100.0 s to 103.25 s."""
    readings = [100.0, 103.25]
    record: list[int] = []

    def download_many(
        cc_list: list[str],
        base_url: str,
        verbose: bool,
        concur_req: int,
        counter: Counts,
    ) -> None:
        record.append(len(readings))  # the first reading is taken, the last is not
        counter[Outcome(DownloadStatus.OK)] += len(cc_list)

    monkeypatch.setattr(time, 'perf_counter', lambda: readings.pop(0))
    with pytest.raises(SystemExit) as exc_info:
        main(download_many, 1, 1, ['BR'])

    assert exc_info.value.code == 0
    assert record == [1]
    assert capsys.readouterr().out.splitlines()[-4:] == [
        '1 flag downloaded.',
        '0 not found.',
        '0 errors.',
        'Elapsed time: 3.25s',
    ]
