"""Support for the scripts' command lines: the types of value their options take.

Each type returns the value or raises ``argparse.ArgumentTypeError``, so that argparse
reports a bad value its own way: the usage, then ``PROG: error: argument …: MESSAGE``
on stderr, and exit status 2. Every limit is enforced the same way in every script: a
value out of range is rejected, never silently capped. ``newer_python_options`` makes
an option that an older Python lacks a usage error that names the Python it needs.
"""

import argparse
import math
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """A whole number from low to high (no upper limit if high is None)."""
    limits = f'from {low} up' if high is None else f'from {low} to {high}'

    def parse(text: str) -> int:
        if text.isascii() and text.isdigit():
            value = int(text)
            if low <= value and (high is None or value <= high):
                return value
        message = f'expected a whole number {limits}, not {text!r}'
        raise argparse.ArgumentTypeError(message)

    return parse


def number_in(low: float, high: float) -> Callable[[str], float]:
    """A number from low to high: a decimal such as 0.25, never NaN."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not low <= value <= high:  # NaN fails this too
            raise argparse.ArgumentTypeError(
                f'expected a number from {low:g} to {high:g}, not {text!r}'
            )
        return value

    return parse


def delay_range(text: str) -> tuple[float, float]:
    """SECONDS, or MIN:MAX with 0 <= MIN <= MAX: both ends finite."""
    low, colon, high = text.partition(':')
    seconds = number_in(0, math.inf)
    try:
        bounds = seconds(low), seconds(high if colon else low)
    except argparse.ArgumentTypeError:
        bounds = (math.nan, math.nan)
    if not bounds[0] <= bounds[1] < math.inf:
        raise argparse.ArgumentTypeError(
            f'expected SECONDS or MIN:MAX with 0 <= MIN <= MAX, not {text!r}'
        )
    return bounds


positive_int = int_in(1)


class _NeedsNewerPython(argparse.Action):
    """An option of a newer Python: given on this one, a usage error that says so."""

    def __init__(self, *args: Any, python: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.python = python

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        needed, this = '.'.join(map(str, self.python)), platform.python_version()
        message = f'needs Python {needed} or newer; this is Python {this}'
        raise argparse.ArgumentError(self, message)


def newer_python_options(
    parser: argparse.ArgumentParser, options: Mapping[str, tuple[int, int]]
) -> argparse.ArgumentParser:
    """Options that a newer Python brings (option: its version): on an older one,
    each is left out of -h, and given, it is a usage error that names the version it
    needs, not an unrecognized argument. Returns the parser."""
    for option, version in options.items():
        if sys.version_info < version:
            parser.add_argument(
                option, action=_NeedsNewerPython, python=version, nargs='?',
                default=argparse.SUPPRESS, help=argparse.SUPPRESS,
            )  # fmt: skip
    return parser
