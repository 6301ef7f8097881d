"""Draw a small GIF for each country code, with no image files and no libraries.

The local flag server (``slow_server.py``) serves these pictures in place of the real
flags: stripes in each flag's main colours, here and there a canton, a cross or a disc,
and the country code in the corner, so no two pictures are alike even where two flags
share their stripes (ID and MC). The bytes are the same on every run. Sample run::

    $ python chapter20/flag_images.py /tmp/flags
    194 flags written to /tmp/flags
"""

import functools
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path

CODES_FILE = Path(__file__).with_name('country_codes.txt')
WIDTH, HEIGHT = 60, 40
COLOURS = {
    'r': (206, 17, 38), 'w': (255, 255, 255), 'b': (0, 56, 168), 'n': (1, 33, 105),
    's': (65, 143, 222), 'g': (0, 122, 61), 'y': (252, 209, 22), 'k': (0, 0, 0),
    'o': (255, 136, 0), 'm': (138, 21, 56),
}  # fmt: skip
# 'h' or 'v', the colours of the horizontal or vertical stripes, then marks painted over
# them in order: /canton, +centred cross, #Nordic cross, @disc, each with its colour.
DESIGNS = dict(
    item.split(':')
    for item in """
AD:vbyr AE:hgwk AF:vkrg AG:hkbwr AL:hr@k AM:hrbo AO:hrk@y AR:hsws@y AT:hrwr AU:hn/r
AZ:hsrg BA:hb@y BB:vnyn BD:hg@r BE:vkyr BF:hrg@y BG:hwgr BH:vwrrr BI:hrgr@w BJ:hyr/g
BN:hywky BO:hryg BR:hgyg@n BS:hsys/k BT:hyo BW:hsswkwss BY:hrrg BZ:hrbbbbr@w
CA:vrwwr@r CD:hsrs/y CF:hbwgy CG:hgyr CH:hr+w CI:vowg CL:hwr/b CM:vgry CN:hr/y
CO:hyybr CR:hbwrrwb CU:hbwbwb/r CV:hbbwrwb CY:hw@o CZ:hwr/n DE:hkry DJ:hsg/w DK:hr#w
DM:hg+y DZ:vgw@r EC:hyybr@w EE:hbkw EG:hrwk@y ER:hgb/r ES:hryyr ET:hgyr@b FI:hw#b
FJ:hs/n FM:hs@w FR:vbwr GA:hgyb GB:hn+r GD:hrygr@r GE:hw+r GH:hryg@k GM:hrbg GN:vryg
GQ:hgwr/b GR:hbwbwbwbw/b GT:vsws@g GW:hyg/r GY:hg@y HN:hbwb@b HR:hrwb@r HT:hbr@w
HU:hrwg ID:hrw IE:vgwo IL:hwbwwbw@b IN:hown@n IQ:hrwk@g IR:hgwr@r IS:hb#r IT:vgwr
JM:hgkg+y JO:hkwg/r JP:hw@r KE:hkwrwg@r KG:hr@y KH:hbrrb@w KI:hrrsw@y KM:hywrb/g
KN:hgykyr KP:hbwrrrwb@w KR:hw@b KW:hgwr/k KZ:hs@y LA:hrnnr@w LB:hrwwr@g LC:hs@k
LI:hnr/y LK:vgommm LR:hrwrwrwrwrw/n LS:hbwg@k LT:hygr LU:hrws LV:hmmwmm LY:hrkkg@w
MA:hr@g MC:hrw MD:vbyr@o ME:hr@y MG:hrg/w MH:hbow MK:hr@o ML:vgyr MM:hygr@w MN:vrbr@y
MR:hrgggr@y MT:vwr MU:hrbyg MV:hrggr@w MW:hkrg MX:vgwr@o MY:hrwrwrwrwrwrwr/n
MZ:hgwkwy/r NA:hbwrwg NE:hown@o NG:vgwg NI:hbwb@s NL:hrwb NO:hr#n NP:hr@b NR:hnnyn
NZ:hn/w OM:hwrg/r PA:hrb/w PE:vrwr PG:hrk@y PH:hbr/w PK:vwggg@w PL:hwr PT:vgrr@y
PW:hs@y PY:hrwb@g QA:vwmmm RO:vbyr RS:hrbw RU:hwbr RW:hssyg SA:hg@w SB:hbyg SC:hbyrwg
SD:hrwk/g SE:hb#y SG:hrw/w SI:hwbr/b SK:hwbr@r SL:hgwb SM:hws@y SN:vgyr@g SO:hs@w
SR:hgwrrwg@y SS:hkwrwg/b ST:hgyg/r SV:hbwb@y SY:hrwk@g SZ:hbyrryb@w TD:vbyr
TG:hgygyg/r TH:hrwnnwr TJ:hrwwg@y TL:hr/k TM:vmggg@w TN:hr@w TO:hr/w TR:hr@w TT:hrwkwr
TV:hs/n TW:hr/n TZ:hgykyb UA:hby UG:hkyrkyr@w US:hrwrwrwrwrwrwr/n UY:hwbwbwbwbw/w
UZ:hssrwwrgg VA:vyw VC:vbyyg@g VE:hybr@w VN:hr@y VU:hrg/k WS:hr/n YE:hrwk ZA:hrgn/k
ZM:vggrko ZW:hgyrkryg/w
""".split()
)
# Capital letters of 3 x 5 pixels, the rows of each one after the other.
FONT = dict(zip('ABCDEFGHIJKLMNOPQRSTUVWXYZ', """
010101111101101 110101110101110 011100100100011 110101101101110 111100110100111
111100110100100 011100101101011 101101111101101 111010010010111 001001001101010
101101110101101 100100100100111 101111111101101 110101101101101 010101101101010
110101110100100 010101101110011 110101110101101 011100010001110 111010010010010
101101101101111 101101101101010 101101111111101 101101010101101 101101010010010
111001010100111
""".split(), strict=True))  # fmt: skip
# The picture is drawn on a coarse grid, then each cell becomes SCALE x SCALE pixels.
SCALE = 2
GRID_W, GRID_H = WIDTH // SCALE, HEIGHT // SCALE
LABEL_X, LABEL_Y = GRID_W - 8, GRID_H - 6  # the code's two letters, bottom right
MIDDLE_X, MIDDLE_Y, BAR, RADIUS = GRID_W // 2, GRID_H // 2, GRID_H // 10, GRID_H // 4
SHAPES: dict[str, Callable[[int, int], bool]] = {
    '/': lambda x, y: x < GRID_W * 2 // 5 and y < MIDDLE_Y,
    '+': lambda x, y: min(abs(x - MIDDLE_X), abs(y - MIDDLE_Y)) < BAR,
    '#': lambda x, y: min(abs(x - GRID_W // 3), abs(y - MIDDLE_Y)) < BAR,
    '@': lambda x, y: (x - MIDDLE_X) ** 2 + (y - MIDDLE_Y) ** 2 < RADIUS**2,
}


def label_ink(cc: str) -> set[tuple[int, int]]:
    """Return the grid cells covered by the letters of the code."""
    return {
        (LABEL_X + n * 4 + bit % 3, LABEL_Y + bit // 3)
        for n, letter in enumerate(cc)
        for bit, on in enumerate(FONT[letter])
        if on == '1'
    }


def draw(cc: str) -> list[str]:
    """Return the colour letters of the picture for cc, pixel by pixel, row by row."""
    stripes, *marks = re.split(r'(?=[/+#@])', DESIGNS[cc][1:])
    horizontal, ink = DESIGNS[cc][0] == 'h', label_ink(cc)
    pixels = []
    for y in range(GRID_H):
        row: list[str] = []
        for x in range(GRID_W):
            band = (
                y * len(stripes) // GRID_H if horizontal else x * len(stripes) // GRID_W
            )
            colour = stripes[band]
            for mark in marks:  # '/n': a navy canton, '@r': a red disc
                if SHAPES[mark[0]](x, y):
                    colour = mark[1]
            if (x, y) in ink:  # black ink on light colours, white on dark ones
                r, g, b = COLOURS[colour]
                colour = 'k' if r * 299 + g * 587 + b * 114 > 140_000 else 'w'
            row += colour * SCALE
        pixels += row * SCALE
    return pixels


def compress(indices: bytes, min_size: int) -> bytes:
    """LZW-compress palette indices as GIF does: growing code width, LSB first."""
    clear, stop = 1 << min_size, (1 << min_size) + 1
    width, table = min_size + 1, dict[int, int]()  # prefix code << 8 | index -> code
    codes = [(clear, width)]
    prefix = indices[0]
    for index in indices[1:]:
        code = table.get(prefix << 8 | index)
        if code is not None:
            prefix = code
            continue
        codes.append((prefix, width))
        new_code = stop + 1 + len(table)
        if new_code == 4096:  # table full: start afresh, as the decoder will
            codes.append((clear, width))
            width, table = min_size + 1, {}
        else:
            table[prefix << 8 | index] = new_code
            width += new_code == 1 << width  # the decoder widens one code later
        prefix = index
    codes += [(prefix, width), (stop, width)]
    out, acc, n_bits = bytearray(), 0, 0
    for code, code_width in codes:
        acc, n_bits = acc | code << n_bits, n_bits + code_width
        while n_bits >= 8:
            out.append(acc & 0xFF)
            acc, n_bits = acc >> 8, n_bits - 8
    return bytes(out + bytes([acc] if n_bits else []))


def encode_gif(
    width: int, height: int, colours: list[tuple[int, int, int]], indices: bytes
) -> bytes:
    """Return a GIF89a file: one image, a global colour table, no extensions."""
    depth = max(1, (len(colours) - 1).bit_length())  # the table holds 2**depth colours
    table = b''.join(bytes(rgb) for rgb in colours).ljust(3 << depth, b'\0')
    min_size = max(2, depth)  # GIF's smallest LZW code size is 2
    data = compress(indices, min_size)
    blocks = b''.join(
        bytes([len(data[i : i + 255])]) + data[i : i + 255]
        for i in range(0, len(data), 255)
    )
    screen = struct.pack(
        '<HHBBB', width, height, 0x80 | (depth - 1) << 4 | (depth - 1), 0, 0
    )
    image = b',' + struct.pack('<HHHHB', 0, 0, width, height, 0)
    return b'GIF89a' + screen + table + image + bytes([min_size]) + blocks + b'\0;'


@functools.cache  # the same bytes every time, drawn once
def flag_gif(cc: str) -> bytes:
    pixels = draw(cc)
    palette = {colour: i for i, colour in enumerate(dict.fromkeys(pixels))}
    indices = bytes(palette[colour] for colour in pixels)  # palette in order of use
    return encode_gif(WIDTH, HEIGHT, [COLOURS[c] for c in palette], indices)


def flag_gifs() -> dict[str, bytes]:
    """Map each code of country_codes.txt to its GIF."""
    return {cc: flag_gif(cc) for cc in CODES_FILE.read_text().split()}


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        print(f'Usage: python {Path(__file__).name} DEST_DIR', file=sys.stderr)
        raise SystemExit(2)
    dest = Path(argv[0])
    dest.mkdir(parents=True, exist_ok=True)
    gifs = flag_gifs()
    for cc, gif in gifs.items():
        (dest / f'{cc.lower()}.gif').write_bytes(gif)
    print(f'{len(gifs)} flags written to {dest}')


if __name__ == '__main__':
    main(sys.argv[1:])
