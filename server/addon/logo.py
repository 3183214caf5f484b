"""Draw the add-on's toolbar logo as a PNG in code: a green disc with three white steps."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

SIZE = 96
GREEN = (47, 111, 94, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    centre = (SIZE - 1) / 2
    if (x - centre) ** 2 + (y - centre) ** 2 > (SIZE / 2 - 1) ** 2:
        return CLEAR
    # Three steps going down to the left: stepping back, one level at a time.
    for left, top in ((24, 58), (40, 44), (56, 30)):
        if left <= x < left + 16 and top <= y < 70:
            return WHITE
    return GREEN


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF
    )


@lru_cache(maxsize=1)
def logo_png() -> bytes:
    """Return the logo as PNG bytes (RGBA, 96×96)."""
    rows = bytearray()
    for y in range(SIZE):
        rows.append(0)  # filter type: none
        for x in range(SIZE):
            rows.extend(_pixel(x, y))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )
