#!/usr/bin/env python3
"""Generates codexia's icons (RGBA PNGs) with the Python standard library only.

    python3 icons/generate.py          # writes the PNGs next to this file

The mark: a rounded square with a teal-to-indigo diagonal gradient and a white "C" with
round ends (the opening faces right, like a port). The tray icons are one colour only: the
rounded square in a mid teal with the "C" cut out, so that they read on light and dark panels.

Shapes are drawn as signed distance fields, which gives exact anti-aliasing at every size,
and the output is deterministic (re-running produces identical files).
"""

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent

# Colours (sRGB).
TEAL = (13, 148, 136)  # top-left of the app icon gradient
INDIGO = (55, 48, 163)  # bottom-right
WHITE = (255, 255, 255)
TRAY = (15, 139, 128)  # single colour of the tray icon


def write_png(path, size, pixels):
    """pixels: list of rows, each a bytes/bytearray of size*4 RGBA values."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    # colour type 6 = truecolour with alpha (tauri-build requires RGBA)
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)  # filter 0 on every row
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def rounded_square(px, py, inset, radius):
    """Signed distance (unit coordinates) to a centred square with rounded corners."""
    half = 0.5 - inset
    qx = abs(px - 0.5) - (half - radius)
    qy = abs(py - 0.5) - (half - radius)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    return outside + inside - radius


def c_glyph(px, py, radius, width, gap_deg, cx=0.5):
    """Signed distance to a 'C': a ring of the given radius and stroke width, open on the right
    over +-gap_deg, with round ends."""
    dx, dy = px - cx, py - 0.5
    gap = math.radians(gap_deg)
    angle = math.atan2(dy, dx)  # 0 points right (the opening)
    if abs(angle) >= gap:
        return abs(math.hypot(dx, dy) - radius) - width / 2
    ex, ey = radius * math.cos(gap), radius * math.sin(gap)
    end = min(math.hypot(dx - ex, dy - ey), math.hypot(dx - ex, dy + ey))
    return end - width / 2


def coverage(distance, size):
    """Pixel coverage from a signed distance in unit coordinates (1 pixel wide ramp)."""
    return min(1.0, max(0.0, 0.5 - distance * size))


def lerp(a, b, t):
    return a + (b - a) * t


def app_icon(size):
    rows = []
    # Small sizes get a slightly bolder stroke so the glyph survives downscaling.
    width = 0.115 if size <= 32 else 0.1
    for j in range(size):
        row = bytearray()
        py = (j + 0.5) / size
        for i in range(size):
            px = (i + 0.5) / size
            bg = coverage(rounded_square(px, py, 0.0625, 0.2), size)
            if bg <= 0.0:
                row += b"\x00\x00\x00\x00"
                continue
            t = min(1.0, max(0.0, (px + py - 0.25) / 1.5))  # diagonal gradient
            col = [lerp(TEAL[k], INDIGO[k], t) for k in range(3)]
            # a faint light from the top, for depth
            shine = max(0.0, 0.35 - py) * 0.25
            col = [lerp(c, 255, shine) for c in col]
            fg = coverage(c_glyph(px, py, 0.2, width, 48, cx=0.52), size)
            col = [lerp(col[k], WHITE[k], fg) for k in range(3)]
            row += bytes((round(col[0]), round(col[1]), round(col[2]), round(bg * 255)))
        rows.append(row)
    return rows


def tray_icon(size):
    rows = []
    for j in range(size):
        row = bytearray()
        py = (j + 0.5) / size
        for i in range(size):
            px = (i + 0.5) / size
            bg = coverage(rounded_square(px, py, 0.03, 0.22), size)
            fg = coverage(c_glyph(px, py, 0.215, 0.14, 50, cx=0.52), size)
            alpha = bg * (1.0 - fg)
            row += bytes((*TRAY, round(alpha * 255)))
        rows.append(row)
    return rows


def main():
    targets = [
        ("32x32.png", 32, app_icon),
        ("128x128.png", 128, app_icon),
        ("128x128@2x.png", 256, app_icon),
        ("icon.png", 512, app_icon),
        ("tray.png", 32, tray_icon),
        ("tray@2x.png", 64, tray_icon),
    ]
    for name, size, draw in targets:
        write_png(OUT / name, size, draw(size))
        print(f"wrote icons/{name} ({size}x{size} RGBA)")


if __name__ == "__main__":
    main()
