"""Setting up test servers: the pictures the local flag server sends.

The chapter's clients download flags; the local flag server (``slow_server.py``) serves
the GIFs that ``flag_images.py`` draws in memory. These tests read every GIF with a
small decoder written here for exactly the stream the module writes, so a bug in the
encoder cannot hide behind the same bug in a shared decoder.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys

import pytest

from flag_images import CODES_FILE, flag_gifs
from flags import POP20_CC

CLEAR, END = 8, 9
CHILD = """import hashlib, sys; sys.path.insert(0, sys.argv[1]); import flag_images
gifs = flag_images.flag_gifs().items()
print(hashlib.sha256(b''.join(cc.encode() + gif for cc, gif in gifs)).hexdigest())"""


def decode(gif: bytes) -> tuple[int, int, bytes]:
    """Check the layout of a one-image GIF89a; return its width, height and pixels."""
    assert gif[:6] == b'GIF89a'
    width, height, packed = struct.unpack_from('<HHB', gif, 6)
    assert packed & 0x87 == 0x82, 'a global colour table of 2 ** (2 + 1) colours'
    descriptor = b',' + struct.pack('<HHHHB', 0, 0, width, height, 0) + b'\3'
    pos = 13 + 3 * 8  # after the header, the screen and the colour table
    assert gif[pos : pos + 11] == descriptor, 'one image, minimum code size 3'
    data, pos = b'', pos + 11
    while gif[pos]:  # sub-blocks of up to 255 bytes, then an empty one
        data, pos = data + gif[pos + 1 : pos + 1 + gif[pos]], pos + 1 + gif[pos]
    assert gif[pos + 1 :] == b';', 'the trailer ends the file'
    codes = [byte >> shift & 15 for byte in data for shift in (0, 4)]  # LSB first
    assert len(codes) - codes.index(END) <= 2, 'only a filler code after the end'
    first, *runs = bytes(codes[: codes.index(END)]).split(bytes([CLEAR]))
    assert first == b'', 'a clear code starts the stream'
    assert all(len(run) <= 6 for run in runs), 'a clear code at least every 7 codes'
    pixels = b''.join(runs)
    assert max(pixels) < CLEAR, 'no code but pixels, clear and end'
    return width, height, pixels


@pytest.fixture(scope='module')
def gifs() -> dict[str, bytes]:
    return flag_gifs()


def test_codes_file_holds_the_books_194_codes_sorted_and_unique() -> None:
    """country_codes.txt lists AD to ZW once each, POP20_CC among them."""
    codes = CODES_FILE.read_text().split()
    assert (len(codes), codes[0], codes[-1]) == (194, 'AD', 'ZW')
    assert codes == sorted(set(codes))
    assert set(POP20_CC) <= set(codes)


def test_every_gif_decodes_to_exactly_width_times_height_pixels(
    gifs: dict[str, bytes],
) -> None:
    """Each code's GIF is well formed, with one pixel per point of its screen."""
    assert list(gifs) == CODES_FILE.read_text().split()
    for cc, gif in gifs.items():
        width, height, pixels = decode(gif)
        assert len(pixels) == width * height > 0, cc


def test_every_code_gets_a_different_picture(gifs: dict[str, bytes]) -> None:
    """No two codes share their decoded pixels."""
    assert len({decode(gif) for gif in gifs.values()}) == len(gifs)


def test_gifs_are_byte_identical_in_another_interpreter(gifs: dict[str, bytes]) -> None:
    """A fresh interpreter, with a random hash seed, draws the very same bytes."""
    result = subprocess.run(
        [sys.executable, '-c', CHILD, str(CODES_FILE.parent)],
        env={**os.environ, 'PYTHONHASHSEED': 'random'},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ours = hashlib.sha256(b''.join(cc.encode() + gif for cc, gif in gifs.items()))
    assert result.stdout == f'{ours.hexdigest()}\n'
