"""An independent reader of dirtytop recordings (docs/recording.md), for the tests.

It parses the framing (header, blocks, trailer) and counts the records of each
kind per block, without sharing any code with src/recfile.c, so the tests can
say which events a file cut at byte N must still report. Pushes are counted as
pushes whether a record holds one (kind 1, format 1.x) or a batch (kind 10,
format 2.0: counted under "batch" too).
"""
import struct
import zlib

MAGIC = b"\x89DTR\r\n\x1a\n"
BLOCK_MAGIC = 0x4B4C4244
BLOCK_HDR = 56
KINDS = {1: "push", 2: "reset", 3: "full", 4: "uexit", 5: "ioctl", 6: "memslot", 7: "tid",
         8: "dirtylog", 9: "reentry", 10: "batch"}
BATCH = 10
VERSIONS = (1, 2)  # major versions this reader knows


def _varint(buf, pos):
    v = shift = 0
    while True:
        c = buf[pos]
        pos += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, pos
        shift += 7


def batch_pushes(fields):
    """Pushes in a batch record's fields: id, dts, zigzag(dirty - D), used, ts - first, n, entries."""
    pos = 0
    for _ in range(5):
        _, pos = _varint(fields, pos)
    n, pos = _varint(fields, pos)
    assert n <= 64, f"a batch of {n} pushes"
    for _ in range(2 * n):  # slot, zigzag(offset - O): all there
        _, pos = _varint(fields, pos)
    assert pos == len(fields), "a batch record longer than its entries"
    return n


def parse(data):
    """-> dict: header_end, version, blocks [{start, end, kind, events, records, counts}], trailer."""
    assert data[:8] == MAGIC, "not a recording"
    major, minor, hlen = struct.unpack_from("<HHI", data, 8)
    assert major in VERSIONS, f"format {major}.{minor}"
    header_end = 16 + hlen + 4
    (crc,) = struct.unpack_from("<I", data, 16 + hlen)
    assert zlib.crc32(data[8:16] + data[16:16 + hlen]) == crc, "header checksum"
    out = {"header_end": header_end, "version": (major, minor), "blocks": [], "trailer": False}
    pos = header_end
    while pos + BLOCK_HDR <= len(data):
        (magic, kind, _flags, seq, clen, rlen, nrec, nev, pcrc, first, last, _r,
         hcrc) = struct.unpack_from("<IHHIIIIIIQQII", data, pos)
        assert magic == BLOCK_MAGIC and zlib.crc32(data[pos:pos + 52]) == hcrc, f"block header at {pos}"
        end = pos + BLOCK_HDR + clen
        if end > len(data):
            break  # cut inside this block
        payload = data[pos + BLOCK_HDR:end]
        assert zlib.crc32(payload) == pcrc, f"block payload at {pos}"
        raw = zlib.decompress(payload)
        assert len(raw) == rlen
        counts, i, n = {}, 0, 0
        while i < len(raw):
            k = raw[i]
            ln, i = _varint(raw, i + 1)
            if k == BATCH:
                counts["push"] = counts.get("push", 0) + batch_pushes(raw[i:i + ln])
            i += ln
            n += 1
            name = KINDS.get(k, k)
            counts[name] = counts.get(name, 0) + 1
        assert n == nrec, f"block {seq}: {n} records, header says {nrec}"
        out["blocks"].append({"start": pos, "end": end, "kind": kind, "seq": seq, "events": nev,
                              "records": nrec, "counts": counts, "first_ts": first, "last_ts": last})
        if kind == 2:
            out["trailer"] = True
        pos = end
    return out


def events_before(parsed, cut, kind=None):
    """Events (of a kind) in the data blocks that end at or before byte `cut`."""
    total = 0
    for b in parsed["blocks"]:
        if b["kind"] == 1 and b["end"] <= cut:
            total += b["counts"].get(kind, 0) if kind else b["events"]
    return total


def png_colors(path):
    """Distinct colors of an 8-bit RGB/RGBA PNG and the share of its most common one."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        ln, typ = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8:pos + 8 + ln]
        if typ == b"IHDR":
            width, height, depth, ctype = struct.unpack_from(">IIBB", body)
            assert depth == 8 and ctype in (2, 6), f"unexpected PNG format {depth}/{ctype}"
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + ln
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    counts = {}
    i = 0
    for _ in range(height):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        for x in range(0, stride, bpp):
            px = bytes(line[x:x + 3])
            counts[px] = counts.get(px, 0) + 1
        prev = line
    total = width * height
    return len(counts), max(counts.values()) / total
