"""Write HEP's app icons (the white "H" on the brand blue) as PNG files, with the standard
library only. Run once from the repository root: python static/icons/make_icons.py"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

BLUE = (0x00, 0x5E, 0xB8)
WHITE = (0xFF, 0xFF, 0xFF)
HERE = Path(__file__).resolve().parent


def png(path: Path, size: int, pixel) -> None:
    """Write an RGBA PNG; pixel(x, y) returns (r, g, b, a)."""
    raw = bytearray()
    for y in range(size):
        raw.append(0)  # filter: none
        for x in range(size):
            raw.extend(pixel(x, y))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def in_h(x: float, y: float, size: int, scale: float) -> bool:
    """The letter H, centred: two uprights and a bar."""
    width, height, stroke = 0.44 * size * scale, 0.52 * size * scale, 0.13 * size * scale
    left, top = (size - width) / 2, (size - height) / 2
    u, v = x - left, y - top
    if not (0 <= u < width and 0 <= v < height):
        return False
    upright = u < stroke or u >= width - stroke
    bar = abs(v - height / 2) < stroke / 2
    return upright or bar


def coverage(x: int, y: int, size: int, radius: float) -> float:
    """How much of pixel (x, y) lies inside a square with rounded corners (4×4 samples)."""
    inside = 0
    for i in range(4):
        for j in range(4):
            px, py = x + (i + 0.5) / 4, y + (j + 0.5) / 4
            cx = min(max(px, radius), size - radius)
            cy = min(max(py, radius), size - radius)
            inside += (px - cx) ** 2 + (py - cy) ** 2 <= radius**2
    return inside / 16


def icon(size: int, rounded: bool, scale: float = 1.0):
    radius = 0.18 * size if rounded else 0.0

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        colour = WHITE if in_h(x + 0.5, y + 0.5, size, scale) else BLUE
        alpha = 255
        near_corner = rounded and (min(x, size - 1 - x) < radius and min(y, size - 1 - y) < radius)
        if near_corner:
            alpha = round(255 * coverage(x, y, size, radius))
        return (*colour, alpha)

    return pixel


if __name__ == "__main__":
    png(HERE / "icon-192.png", 192, icon(192, rounded=True))
    png(HERE / "icon-512.png", 512, icon(512, rounded=True))
    # Maskable: full bleed, the H well inside the central safe circle (80 % of the width).
    png(HERE / "icon-maskable-512.png", 512, icon(512, rounded=False, scale=0.8))
    # iOS home screen (it rounds the corners itself).
    png(HERE / "apple-touch-icon.png", 180, icon(180, rounded=False))
