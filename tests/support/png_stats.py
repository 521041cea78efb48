#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads a PNG (8-bit RGB or RGBA, not interlaced: what headless Chromium
writes) with zlib alone and prints "WIDTH HEIGHT DISTINCT_COLOURS" and then
the number of pixels of each colour given as RRGGBB arguments (exact match),
one per line. Exits 2 on a PNG it cannot read. For the HTML report test: a
blank page has one colour; charts have their line colours."""
import struct
import sys
import zlib


def read(path):
    with open(path, "rb") as f:
        d = f.read()
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, [], None
    while pos + 8 <= len(d):
        n, typ = struct.unpack(">I4s", d[pos:pos + 8])
        body = d[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
        pos += 12 + n
    if hdr is None:
        raise ValueError("no IHDR")
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        raise ValueError("unsupported PNG (depth %d, type %d, interlace %d)"
                         % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise ValueError("short image data")
    prev = bytearray(stride)
    rows = []
    for r in range(h):
        i = r * (stride + 1)
        ft = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        if ft == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif ft == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ft == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif ft == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        elif ft != 0:
            raise ValueError("bad filter %d" % ft)
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    try:
        w, h, bpp, rows = read(sys.argv[1])
    except (OSError, ValueError, zlib.error) as e:
        print("png_stats: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 2
    counts = {}
    for line in rows:
        for x in range(0, len(line), bpp):
            k = line[x:x + 3]
            counts[k] = counts.get(k, 0) + 1
    print(w, h, len(counts))
    for hexc in sys.argv[2:]:
        print(counts.get(bytes.fromhex(hexc), 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
