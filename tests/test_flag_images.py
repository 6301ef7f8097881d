"""The pictures the local flag server serves: valid GIFs, one per code, every run alike.

The test decodes each GIF with its own small reader, written from the GIF89a
specification, so an encoder bug cannot hide behind a matching decoder bug in the same
module. Chapter 20 downloads these files; the project draws them itself (issue 3).
"""

from __future__ import annotations

import random
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import flag_images
from flag_images import COLOURS, HEIGHT, WIDTH, draw, encode_gif, flag_gifs

SCRIPT = Path(flag_images.__file__)
SCRIPT_TIMEOUT = 60  # seconds for the script in a subprocess

RGB = tuple[int, int, int]


def lzw_decode(data: bytes, min_size: int) -> bytes:
    """Decode GIF LZW data: codes LSB first, widened when the table fills a width."""
    clear, stop = 1 << min_size, (1 << min_size) + 1
    table: list[bytes] = []
    width, previous = min_size + 1, b''
    out, acc, n_bits, pos = bytearray(), 0, 0, 0
    while True:
        while n_bits < width:
            acc |= (
                data[pos] << n_bits
            )  # IndexError: the data ended before the stop code
            pos, n_bits = pos + 1, n_bits + 8
        code, acc, n_bits = acc & ((1 << width) - 1), acc >> width, n_bits - width
        if code == clear:
            table = [bytes([i]) for i in range(clear)] + [b'', b'']
            width, previous = min_size + 1, b''
            continue
        assert table, 'the data must begin with a clear code'
        if code == stop:
            break
        assert code <= len(table), f'code {code} is not in the table yet'
        entry = table[code] if code < len(table) else previous + previous[:1]
        if previous and len(table) < 4096:
            table.append(previous + entry[:1])
        out += entry
        previous = entry
        if len(table) == 1 << width and width < 12:
            width += 1
    assert pos == len(data), 'bytes follow the stop code'
    return bytes(out)


def decode_gif(gif: bytes) -> tuple[int, int, list[RGB], bytes]:
    """Return width, height, colour table and pixel indices of a one-image GIF89a."""
    assert gif[:6] == b'GIF89a'
    width, height, packed, _, _ = struct.unpack_from('<HHBBB', gif, 6)
    assert packed & 0x80, 'a global colour table is expected'
    size = 2 << (packed & 7)
    colours = [(gif[i], gif[i + 1], gif[i + 2]) for i in range(13, 13 + 3 * size, 3)]
    pos = 13 + 3 * size
    assert gif[pos : pos + 1] == b',', 'an image descriptor is expected'
    assert struct.unpack_from('<HHHHB', gif, pos + 1) == (0, 0, width, height, 0)
    min_size, pos = gif[pos + 10], pos + 11
    data = bytearray()
    while gif[pos]:  # sub-blocks of up to 255 bytes, then an empty one
        data += gif[pos + 1 : pos + 1 + gif[pos]]
        pos += 1 + gif[pos]
    assert gif[pos + 1 :] == b';', 'the trailer must end the file'
    return width, height, colours, lzw_decode(bytes(data), min_size)


def pixels_of(gif: bytes) -> list[RGB]:
    width, height, colours, indices = decode_gif(gif)
    assert (width, height, len(indices)) == (WIDTH, HEIGHT, WIDTH * HEIGHT)
    return [colours[i] for i in indices]


@pytest.fixture(scope='module')
def gifs() -> dict[str, bytes]:
    return flag_gifs()


def test_country_codes_file_lists_the_books_194_codes_sorted_and_unique() -> None:
    """country_codes.txt holds the 194 two-letter codes of the book's flag set."""
    codes = flag_images.CODES_FILE.read_text().split()
    assert len(codes) == 194
    assert codes == sorted(set(codes))
    assert all(re.fullmatch('[A-Z]{2}', cc) for cc in codes)
    assert (codes[0], codes[-1]) == ('AD', 'ZW')
    pop20 = 'CN IN US ID BR PK NG BD RU JP MX PH VN ET EG DE IR TR CD FR'.split()
    assert set(pop20) <= set(codes)


def test_every_code_gets_a_gif_that_decodes_to_its_drawing(
    gifs: dict[str, bytes],
) -> None:
    """Each GIF is well formed and its pixels are exactly the picture drawn for it."""
    assert sorted(gifs) == flag_images.CODES_FILE.read_text().split()
    for cc, gif in gifs.items():
        assert pixels_of(gif) == [COLOURS[c] for c in draw(cc)], cc


def test_every_code_gets_a_different_picture(gifs: dict[str, bytes]) -> None:
    """No two codes share a picture, not even codes whose flags share their stripes."""
    pictures = {tuple(pixels_of(gif)) for gif in gifs.values()}
    assert len(pictures) == len(gifs)


@pytest.mark.parametrize(
    ('cc', 'point', 'colour'),
    [
        ('FR', (5, 5), 'b'),
        ('FR', (30, 5), 'w'),
        ('FR', (55, 5), 'r'),
        ('DE', (30, 5), 'k'),
        ('DE', (30, 35), 'y'),
        ('JP', (30, 20), 'r'),
        ('JP', (5, 5), 'w'),
        ('US', (5, 5), 'n'),
        ('US', (55, 1), 'r'),
    ],
)
def test_pictures_wear_their_flags_main_colours(
    gifs: dict[str, bytes], cc: str, point: tuple[int, int], colour: str
) -> None:
    """A few well-known flags show their colours where the real flag has them."""
    x, y = point
    assert pixels_of(gifs[cc])[y * WIDTH + x] == COLOURS[colour]


@pytest.mark.parametrize(
    ('n_colours', 'size'), [(2, 10), (4, 50_000), (256, 20_000), (5, 1)]
)
def test_compression_round_trips_even_past_a_full_code_table(
    n_colours: int, size: int
) -> None:
    """Noise fills the 4096-code table; the encoder must restart it as decoders do."""
    noise = random.Random(f'{n_colours} {size}')
    indices = bytes(noise.randrange(n_colours) for _ in range(size))
    colours = [(i, 255 - i, i // 2) for i in range(n_colours)]
    gif = encode_gif(size, 1, colours, indices)
    width, height, table, decoded = decode_gif(gif)
    assert (width, height, decoded) == (size, 1, indices)
    assert table[:n_colours] == colours


def test_gifs_are_byte_identical_in_another_process(
    gifs: dict[str, bytes], tmp_path: Path
) -> None:
    """A fresh interpreter (another hash seed) writes the very same bytes."""
    result = subprocess.run(
        [sys.executable, SCRIPT, 'out'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=True,
    )
    assert result.stdout == '194 flags written to out\n'
    written = {p.stem.upper(): p.read_bytes() for p in (tmp_path / 'out').iterdir()}
    assert written == gifs


def test_script_without_its_directory_argument_exits_2_with_usage() -> None:
    """Bad input gets one line and status 2, never a traceback."""
    result = subprocess.run(
        [sys.executable, SCRIPT],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stderr == 'Usage: python flag_images.py DEST_DIR\n'
