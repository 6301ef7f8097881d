"""Shared set-up for the behaviour spec.

pytest's ``pythonpath`` setting (pyproject.toml) puts ``chapter20/`` on ``sys.path``, so
the tests import the scripts by plain name, exactly as the scripts import each other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
CHAPTER = ROOT / 'chapter20'

pytest_plugins = ['tests.flag_site']


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        '--remote',
        action='store_true',
        help='also run the tests that download from the real www.fluentpython.com',
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption('--remote'):
        return
    skip = pytest.mark.skip(reason='needs the internet; run with --remote')
    for item in items:
        if 'remote' in item.keywords:
            item.add_marker(skip)
