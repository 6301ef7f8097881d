"""Draw a small GIF for each country code, so the local flag server has flags to serve.

The book's clients download flags from www.fluentpython.com. The local flag server
(``slow_server.py``) stands in for that site, and this module makes its pictures in
memory: no image files ship with the project. A picture is not the country's real
flag. It has three stripes whose colours depend on the letters of the code, over a row
of black and white cells that spell the two letters in binary, so no two codes look
alike. The bytes are the same on every run and in every process.
"""

import functools
import struct
from pathlib import Path

CODES_FILE = Path(__file__).with_name('country_codes.txt')
WIDTH, HEIGHT, BAND = 30, 20, 5  # three stripes of 5 rows, then 5 rows of bit cells
# Indices 0-7: black and white for the bit cells, then the six stripe colours (red,
# green, blue, yellow, orange, sky blue).
PALETTE = bytes.fromhex('000000 ffffff ce1126 007a3d 0038a8 fcd116 ff8800 418fde')
CLEAR, END = 8, 9  # with a minimum code size of 3, codes 0-7 are the 8 palette colours
RUN = 6  # pixel codes between two clear codes


def pixels(cc: str) -> bytes:
    """Return the palette index of each pixel of the picture for cc, row by row."""
    first, second = (ord(letter) - ord('A') for letter in cc)
    stripes = [first % 6 + 2, (first + second) % 6 + 2, second % 6 + 2]
    bits = f'{first:05b}{second:05b}'  # a cell 3 pixels wide per bit, white for 1
    cells = bytes(int(bit) for bit in bits for _ in range(WIDTH // len(bits)))
    return b''.join(bytes([c]) * WIDTH * BAND for c in stripes) + cells * BAND


def uncompressed_lzw(indices: bytes) -> bytes:
    """Encode the indices as valid GIF LZW data that never uses the code table."""
    # A clear code resets the decoder's table to 10 codes (8 pixels, clear, end). Each
    # pixel code after the first one adds an entry, so a run of 6 takes the table to 15
    # entries at most, short of the 16 that would widen the codes to 5 bits: the codes
    # stay 4 bits wide, even in decoders that widen one code early.
    runs = (indices[i : i + RUN] for i in range(0, len(indices), RUN))
    codes = [code for run in runs for code in (CLEAR, *run)] + [END]
    codes += [0] * (len(codes) % 2)  # a filler code completes the last byte
    pairs = zip(codes[::2], codes[1::2], strict=True)
    return bytes(low | high << 4 for low, high in pairs)


@functools.cache  # drawn once per code, then served from memory
def flag_gif(cc: str) -> bytes:
    """Return the GIF89a picture for cc, an upper-case code such as 'BR'."""
    data = uncompressed_lzw(pixels(cc))
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)]
    blocks = b''.join(bytes([len(chunk)]) + chunk for chunk in chunks)
    # 0xF2: a global colour table of 2 ** (2 + 1) colours, 8 bits per primary.
    screen = struct.pack('<HHBBB', WIDTH, HEIGHT, 0xF2, 0, 0)
    image = b',' + struct.pack('<HHHHB', 0, 0, WIDTH, HEIGHT, 0)
    return b'GIF89a' + screen + PALETTE + image + b'\3' + blocks + b'\0;'


def flag_gifs() -> dict[str, bytes]:
    """Map each code of country_codes.txt to its GIF."""
    return {cc: flag_gif(cc) for cc in CODES_FILE.read_text().split()}
