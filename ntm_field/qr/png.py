"""A 1-bit grayscale PNG of a module matrix, written with zlib and struct only (no Pillow on phones)."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def matrix_png(matrix: list[list[bool]], *, scale: int) -> bytes:
    """Each module becomes a `scale`×`scale` square; dark modules are black (bit 0), the rest white."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    size = len(matrix) * scale
    rows = bytearray()
    for modules in matrix:
        bits = "".join(("0" if dark else "1") * scale for dark in modules)
        bits += "1" * (-len(bits) % 8)  # pad the last byte of the row with white
        line = bytes([0]) + int(bits, 2).to_bytes(len(bits) // 8, "big")  # filter 0: none
        rows += line * scale
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1 bit, grayscale, no interlace
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
