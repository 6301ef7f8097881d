"""Let tox find every Python that pyenv has installed, not only the active one.

tox loads this file, next to tox.ini, as a plugin. tox-uv asks uv for each
environment's Python (``cpython3.12``...), and uv looks for ``python3.12`` on PATH. With
pyenv, PATH holds pyenv's shims, and a shim runs only the versions made active by
``pyenv global``, ``pyenv local`` or PYENV_VERSION: the others fail, and tox used to
skip every Python but one. So each environment gets a PYENV_VERSION that lists the
active versions first, then every other installed one, newest first; the shims then
find them all, and ``python3`` stays the one it was. tox.ini's own set_env wins, and
without pyenv this does nothing. The plugins made for pyenv, tox-pyenv-redux and
virtualenv-pyenv, work through virtualenv's discovery, which tox-uv does not use.
"""

import functools
import shutil
import subprocess

from tox.config.sets import EnvConfigSet
from tox.plugin import impl

PYENV_TIMEOUT = 30.0  # seconds; pyenv answers these in a fraction of one


@functools.cache
def pyenv_versions() -> str:
    """Every version pyenv has installed, the active ones first, as PYENV_VERSION."""
    pyenv = shutil.which('pyenv')
    if pyenv is None:
        return ''

    def ask(*args: str) -> list[str]:
        try:
            done = subprocess.run(
                [pyenv, *args], capture_output=True, text=True, timeout=PYENV_TIMEOUT
            )
        except (OSError, subprocess.SubprocessError):
            return []
        return done.stdout.replace(':', '\n').split() if done.returncode == 0 else []

    active = ask('version-name')  # '3.11.7', or '3.11.7:3.10.13'; fails if unset
    # Oldest first; without the virtualenvs that pyenv-virtualenv lists as versions.
    installed = ask('versions', '--bare', '--skip-aliases', '--skip-envs')
    return ':'.join(dict.fromkeys([*active, *reversed(installed)]))


@impl
def tox_add_env_config(env_conf: EnvConfigSet) -> None:  # pluggy: state not needed
    if versions := pyenv_versions():
        env_conf['set_env'].update({'PYENV_VERSION': versions}, override=False)
