#!/usr/bin/env python3
"""Writes the placeholder course covers of the local stacks into nginx/media (README,
"Configuration": LUFFY_MEDIA_URL): one small PNG for every `course_cover` sql/dev-data.sql names,
`course/cover/<n>.png`, 320×180, a colour per course with its number drawn large. The stacks'
nginx serves the folder on /media/. Standard library only; the same bytes on every run, so the
committed files are what this writes: run it again after adding a course to the dev data.

    nginx/placeholder-covers.py            # (re)writes nginx/media/course/cover/*.png
"""

import re
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "nginx" / "media"
WIDTH, HEIGHT, SCALE = 320, 180, 12
# 3×5 digits, one string of 15 pixels each (row by row)
DIGITS = ["111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
          "111100111001111", "111100111101111", "111001001001001", "111101111101111", "111101111001111"]
PALETTE = [(0x3B, 0x82, 0xF6), (0x10, 0xB9, 0x81), (0xF5, 0x9E, 0x0B), (0xEF, 0x44, 0x44), (0x8B, 0x5C, 0xF6),
           (0x06, 0xB6, 0xD4), (0xEC, 0x48, 0x99), (0x84, 0xCC, 0x16)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(rows):
    """8-bit RGB, every row with filter 0."""
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def cover(number):
    background = PALETTE[number % len(PALETTE)]
    light = tuple(c + (255 - c) * 3 // 4 for c in background)
    text = str(number)
    text_width = (len(text) * 4 - 1) * SCALE
    left, top = (WIDTH - text_width) // 2, (HEIGHT - 5 * SCALE) // 2
    rows = []
    for y in range(HEIGHT):
        row = []
        for x in range(WIDTH):
            colour = background
            gx, gy = (x - left) // SCALE, (y - top) // SCALE
            if x >= left and y >= top and gy < 5 and gx < len(text) * 4 and gx % 4 < 3:
                if DIGITS[int(text[gx // 4])][gy * 3 + gx % 4] == "1":
                    colour = light
            row.extend(colour)
        rows.append(row)
    return png(rows)


def main():
    names = sorted(set(re.findall(r"'(course/cover/(\d+)\.png)'", (ROOT / "sql" / "dev-data.sql").read_text())))
    for name, number in names:
        path = OUT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(cover(int(number)))
    print(f"{len(names)} placeholder covers in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
