"""Files the workloads send: a real PNG of a chosen size and a CSV of a chosen number of rows."""

import os
import random
import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(path: Path, size: int) -> Path:
    """A valid RGB PNG of random pixels, stored uncompressed so the file is about `size` bytes."""
    if path.exists():
        return path
    width = 1024
    row = width * 3 + 1
    height = max(1, size // row)
    pixels = bytearray(os.urandom(row * height))
    pixels[::row] = bytes(height)  # filter byte 0 ("none") at the start of every scanline
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(pixels), 0))
    path.write_bytes(data + _chunk(b"IEND", b""))
    return path


REGIONS = ("north", "south", "east", "west", "centre")


def sales_csv(path: Path, rows: int) -> Path:
    """A CSV `id,region,amount,day` of `rows` rows, the same every time (fixed seed)."""
    if path.exists():
        return path
    generator = random.Random(9)
    with path.open("w") as out:
        out.write("id,region,amount,day\n")
        for start in range(0, rows, 100_000):
            lines = [
                f"{i},{generator.choice(REGIONS)},{generator.randint(1, 100_000) / 100},2026-{i % 12 + 1:02d}-15\n"
                for i in range(start, min(rows, start + 100_000))
            ]
            out.write("".join(lines))
    return path
