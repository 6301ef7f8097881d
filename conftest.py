"""The ``--remote`` option, for the few tests that would use the real flag site.

Path set-up is pytest's ``pythonpath`` setting (pyproject.toml): it puts ``chapter20/``
on ``sys.path``, so the tests import the scripts by plain name, as the scripts import
each other. The fixtures are in tests/conftest.py, the helpers in tests/support.py.
"""

from __future__ import annotations

import pytest


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
