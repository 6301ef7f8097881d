"""Beyond the book: what the spec needs from pytest, said in one line when it is absent.

The pytest settings in pyproject.toml use an option and a marker that two plugins add:
``timeout`` from pytest-timeout and ``respx`` from respx. A pytest installed outside
the project lacks them, and used to answer ``python3 -m pytest`` with a wall of errors
ending in ``Unknown config option: timeout``. pytest's ``required_plugins`` setting
makes it stop first, with one line. Here ``-p no:NAME`` keeps a plugin from loading,
which pytest sees as the plugin not being installed.
"""

from __future__ import annotations

import pytest

from tests.support import ROOT, run_script


@pytest.mark.parametrize(
    ('switched_off', 'missing'),
    [
        pytest.param(['timeout'], 'pytest-timeout', id='no-pytest-timeout'),
        pytest.param(['timeout', 'respx'], 'pytest-timeout, respx', id='neither'),
    ],
)
def test_a_pytest_without_the_spec_plugins_names_them_in_one_line(
    switched_off: list[str], missing: str
) -> None:
    """A pytest without a plugin the spec needs stops with one line naming it, status 4.

    It stops before collecting anything, with the usage error status.
    """
    options = [arg for name in switched_off for arg in ('-p', f'no:{name}')]
    done = run_script('-m', 'pytest', *options, '--collect-only', cwd=ROOT)
    assert (done.returncode, done.stdout, done.stderr.strip()) == (
        pytest.ExitCode.USAGE_ERROR,
        '',
        f'ERROR: Missing required plugins: {missing}',
    )
