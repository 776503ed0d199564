"""PMTiles v3: one file of map tiles, read by offset, written in one pass.

The format (https://github.com/protomaps/PMTiles, spec v3) in four lines:

* a 127-byte header: where the root directory, the metadata, the leaf
  directories and the tile data are (offset and length each), the zoom
  range, the bounds, how directories and tiles are compressed, the tile type;
* tiles are numbered along a Hilbert curve, zoom by zoom: z0 is id 0, z1's
  four tiles are 1-4 (x=0,y=0 is 1; 0,1 is 2; 1,1 is 3; 1,0 is 4), z2 starts
  at 5, and so on (``tile_id``);
* a directory is a sorted list of entries (tile id, offset, length, run
  length), varint-encoded column by column, usually gzip'd; an entry with run
  length 0 points at a leaf directory instead of a tile, and an entry with run
  length n > 1 stands for n consecutive tile ids with the same bytes (the sea,
  or a blank field);
* finding a tile is a binary search in the root directory, then at most two
  leaf directories down.

``Reader`` keeps the directories it has read in a small LRU (a city's root
and a few leaves: a tile costs one read of its bytes).  ``write`` makes a
clustered archive with a root directory only, enough for an area the size
of a town; identical tiles are stored once.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable

MAGIC = b"PMTiles"
HEADER = struct.Struct("<7sB11Q4B2B4iB2i")
assert HEADER.size == 127
COMPRESSION = {0: "unknown", 1: "none", 2: "gzip", 3: "brotli", 4: "zstd"}
TILE_TYPES = {0: "unknown", 1: "mvt", 2: "png", 3: "jpg", 4: "webp", 5: "avif"}


class ArchiveError(ValueError):
    """A file that is not an archive this reader understands, said in words."""


@dataclass(frozen=True)
class Entry:
    tile_id: int
    offset: int
    length: int
    run_length: int


@dataclass(frozen=True)
class Header:
    root_offset: int
    root_length: int
    metadata_offset: int
    metadata_length: int
    leaf_offset: int
    leaf_length: int
    data_offset: int
    data_length: int
    addressed_tiles: int
    tile_entries: int
    tile_contents: int
    clustered: bool
    internal_compression: int
    tile_compression: int
    tile_type: int
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]  # west, south, east, north
    center_zoom: int
    center: tuple[float, float]  # lon, lat


def tile_id(z: int, x: int, y: int) -> int:
    """The tile's number on the Hilbert curve, all lower zooms counted first."""
    if z > 26 or not (0 <= x < 1 << z and 0 <= y < 1 << z):
        raise ValueError(f"no tile {z}/{x}/{y}")
    acc = ((1 << 2 * z) - 1) // 3
    for a in range(z - 1, -1, -1):
        s = 1 << a
        rx, ry = (x & s) > 0, (y & s) > 0
        acc += ((3 * rx) ^ ry) * s * s
        if not ry:  # rotate the quadrant so the curve stays continuous
            if rx:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
    return acc


def _varint(buf: io.BytesIO) -> int:
    shift = result = 0
    while True:
        byte = buf.read(1)
        if not byte:
            raise ArchiveError("a directory ends in the middle of a number")
        result |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return result
        shift += 7


def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def decode_directory(data: bytes) -> list[Entry]:
    buf = io.BytesIO(data)
    count = _varint(buf)
    if count > len(data):  # each entry takes at least a byte a column
        raise ArchiveError("a directory claims more entries than it holds")
    ids, last = [], 0
    for _ in range(count):
        last += _varint(buf)
        ids.append(last)
    runs = [_varint(buf) for _ in range(count)]
    lengths = [_varint(buf) for _ in range(count)]
    entries: list[Entry] = []
    for i in range(count):
        raw = _varint(buf)
        # 0 after the first entry: right after the previous entry's bytes.
        offset = entries[-1].offset + entries[-1].length if raw == 0 and i > 0 else raw - 1
        entries.append(Entry(ids[i], offset, lengths[i], runs[i]))
    return entries


def encode_directory(entries: list[Entry]) -> bytes:
    out = bytearray()
    _put_varint(out, len(entries))
    last = 0
    for e in entries:
        _put_varint(out, e.tile_id - last)
        last = e.tile_id
    for e in entries:
        _put_varint(out, e.run_length)
    for e in entries:
        _put_varint(out, e.length)
    for i, e in enumerate(entries):
        prev = entries[i - 1] if i else None
        _put_varint(out, 0 if prev and e.offset == prev.offset + prev.length else e.offset + 1)
    return bytes(out)


def find(entries: list[Entry], wanted: int) -> Entry | None:
    """The entry holding ``wanted`` (a tile, or the leaf directory to look in next), if any."""
    i = bisect_right(entries, wanted, key=lambda e: e.tile_id) - 1
    if i < 0:
        return None
    entry = entries[i]
    if entry.run_length == 0:  # a leaf directory covers the ids from here to the next entry
        return entry
    return entry if wanted < entry.tile_id + entry.run_length else None


def parse_header(data: bytes) -> Header:
    if len(data) < HEADER.size or data[:7] != MAGIC:
        raise ArchiveError("not a PMTiles archive (no PMTiles header)")
    f = HEADER.unpack_from(data)
    if f[1] != 3:
        raise ArchiveError(f"PMTiles version {f[1]}: only version 3 is read (convert it with `pmtiles convert`)")
    return Header(*f[2:13], bool(f[13]), f[14], f[15], f[16], f[17], f[18],
                  (f[19] / 1e7, f[20] / 1e7, f[21] / 1e7, f[22] / 1e7), f[23], (f[24] / 1e7, f[25] / 1e7))


def _decompress(data: bytes, compression: int, what: str) -> bytes:
    if compression in (0, 1):
        return data
    if compression == 2:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ArchiveError(f"the {what} is not valid gzip: {exc}") from None
    raise ArchiveError(f"the {what} is compressed with {COMPRESSION.get(compression, compression)}, "
                       "which this server does not read: make the archive with gzip'd directories")


class Reader:
    """One PMTiles file, read by offset; safe to share between threads."""

    def __init__(self, path: str, cached_directories: int = 64):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        try:
            self.header = parse_header(os.pread(self._fd, HEADER.size, 0))
            metadata = self._read(self.header.metadata_offset, self.header.metadata_length)
            metadata = _decompress(metadata, self.header.internal_compression, "metadata")
            try:
                self.metadata = json.loads(metadata or b"{}")
            except ValueError:
                raise ArchiveError("the archive's metadata is not JSON") from None
            self._cache: OrderedDict[tuple[int, int], list[Entry]] = OrderedDict()
            self._cached = cached_directories
            self._lock = threading.Lock()
            self._directory(self.header.root_offset, self.header.root_length)  # a broken root fails now, not per tile
        except BaseException:
            os.close(self._fd)
            raise

    def _read(self, offset: int, length: int) -> bytes:
        data = os.pread(self._fd, length, offset)
        if len(data) != length:
            raise ArchiveError("the archive is shorter than its header says (cut off while copying?)")
        return data

    def _directory(self, offset: int, length: int) -> list[Entry]:
        key = (offset, length)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        entries = decode_directory(_decompress(self._read(offset, length), self.header.internal_compression, "directory"))
        with self._lock:
            self._cache[key] = entries
            while len(self._cache) > self._cached:
                self._cache.popitem(last=False)
        return entries

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes as stored (compressed as ``header.tile_compression`` says), or None."""
        h = self.header
        if not h.min_zoom <= z <= h.max_zoom:
            return None
        try:
            wanted = tile_id(z, x, y)
        except ValueError:
            return None
        offset, length = h.root_offset, h.root_length
        for _depth in range(4):  # the root and at most three levels of leaves
            entry = find(self._directory(offset, length), wanted)
            if entry is None:
                return None
            if entry.run_length:
                return self._read(h.data_offset + entry.offset, entry.length)
            offset, length = h.leaf_offset + entry.offset, entry.length
        raise ArchiveError("the archive's directories are nested deeper than PMTiles allows")

    def close(self) -> None:
        os.close(self._fd)


def write(path: str, tiles: Iterable[tuple[int, int, int, bytes]], *, tile_type: str, metadata: dict,
          bounds: tuple[float, float, float, float], center_zoom: int | None = None) -> int:
    """Write ``tiles`` ((z, x, y, bytes), uncompressed) as a clustered PMTiles v3 file; returns its size.

    Identical tiles are stored once (a run of them is one entry).  The root
    directory must fit the first 16 KiB with the header, which holds a few
    thousand entries: enough for the base map of a neighbourhood or a town.
    """
    by_id = sorted((tile_id(z, x, y), data) for z, x, y, data in tiles)
    if not by_id:
        raise ValueError("no tiles to write")
    zooms = sorted({_zoom_of(tid) for tid, _ in by_id})
    entries: list[Entry] = []
    blobs: list[bytes] = []
    seen: dict[bytes, tuple[int, int]] = {}
    size = 0
    for tid, data in by_id:
        if entries and entries[-1].tile_id + entries[-1].run_length == tid and seen.get(data) == (entries[-1].offset, entries[-1].length):
            last = entries[-1]
            entries[-1] = Entry(last.tile_id, last.offset, last.length, last.run_length + 1)
            continue
        if data not in seen:
            seen[data] = (size, len(data))
            blobs.append(data)
            size += len(data)
        offset, length = seen[data]
        entries.append(Entry(tid, offset, length, 1))
    root = gzip.compress(encode_directory(entries), mtime=0)
    if HEADER.size + len(root) > 16384:
        raise ValueError(f"{len(entries)} tile entries do not fit one root directory: write a smaller area")
    meta = gzip.compress(json.dumps(metadata).encode(), mtime=0)
    root_offset = HEADER.size
    meta_offset = root_offset + len(root)
    data_offset = meta_offset + len(meta)
    west, south, east, north = bounds
    cz = center_zoom if center_zoom is not None else zooms[len(zooms) // 2]
    header = HEADER.pack(
        MAGIC, 3, root_offset, len(root), meta_offset, len(meta), data_offset, 0, data_offset, size,
        len(by_id), len(entries), len(blobs), 1, 2, 1, {v: k for k, v in TILE_TYPES.items()}[tile_type],
        zooms[0], zooms[-1], *(round(v * 1e7) for v in (west, south, east, north)), cz,
        round((west + east) / 2 * 1e7), round((south + north) / 2 * 1e7))
    tmp = f"{path}.part"
    with open(tmp, "wb") as out:
        out.write(header + root + meta)
        for blob in blobs:
            out.write(blob)
    os.replace(tmp, path)  # a half-written archive is never served
    return data_offset + size


def _zoom_of(tid: int) -> int:
    z, first = 0, 0
    while first + (1 << 2 * z) <= tid:
        first += 1 << 2 * z
        z += 1
    return z
