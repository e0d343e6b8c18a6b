"""Mutators of the i2 fuzzing harness (Tests/Fuzz/fuzz.py): generic byte mutations, and structure-aware
ones for DICOM (element walker with length fix-ups), NIfTI-1 headers, NRRD/NHDR and MetaImage text
headers, NumPy headers and gzip bombs. Every function takes a random.Random and returns new bytes plus a
short description of what it did, so a finding's case.json says how its input was made."""
import gzip, math, struct, zlib

# ---- generic ----------------------------------------------------------------------------------------

INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def bitflip(r, d):
    if not d:
        return d, "bitflip(empty)"
    b = bytearray(d)
    n = r.choice([1, 1, 2, 4, 8, 32])
    for _ in range(n):
        i = r.randrange(len(b))
        b[i] ^= 1 << r.randrange(8)
    return bytes(b), f"bitflip x{n}"


def random_bytes(r, d):
    if not d:
        return bytes(r.randrange(256) for _ in range(8)), "random_bytes(empty)"
    b = bytearray(d)
    i = r.randrange(len(b))
    n = min(len(b) - i, r.choice([1, 2, 4, 8, 64]))
    b[i:i + n] = bytes(r.randrange(256) for _ in range(n))
    return bytes(b), f"random_bytes {n}@{i}"


def interesting_int(r, d):
    if len(d) < 4:
        return d, "interesting_int(short)"
    size = r.choice([1, 2, 4])
    v = r.choice(INTERESTING) & ((1 << (8 * size)) - 1)
    i = r.randrange(len(d) - size + 1)
    end = r.choice("<>")
    fmt = {1: "B", 2: "H", 4: "I"}[size]
    return d[:i] + struct.pack(end + fmt, v) + d[i + size:], f"int{8 * size}{end}={v:#x}@{i}"


def truncate(r, d):
    if not d:
        return d, "truncate(empty)"
    n = r.choice([r.randrange(len(d)), r.randrange(len(d)), len(d) - r.randrange(1, min(len(d), 64) + 1)])
    return d[:n], f"truncate at {n} of {len(d)}"


def insert_chunk(r, d):
    i = r.randrange(len(d) + 1)
    n = r.choice([1, 4, 16, 256, 4096])
    fill = r.choice(["random", "zero", "ff", "copy"])
    if fill == "random":
        c = bytes(r.randrange(256) for _ in range(n))
    elif fill == "zero":
        c = bytes(n)
    elif fill == "ff":
        c = b"\xff" * n
    else:
        j = r.randrange(len(d) + 1) if d else 0
        c = d[j:j + n]
    return d[:i] + c + d[i:], f"insert {len(c)} {fill}@{i}"


def delete_chunk(r, d):
    if not d:
        return d, "delete(empty)"
    i = r.randrange(len(d))
    n = r.choice([1, 2, 4, 16, 256, 4096])
    return d[:i] + d[i + n:], f"delete {n}@{i}"


def duplicate_chunk(r, d):
    if not d:
        return d, "duplicate(empty)"
    i = r.randrange(len(d))
    n = r.choice([2, 8, 64, 1024])
    c = d[i:i + n]
    return d[:i] + c * r.choice([2, 3, 16]) + d[i + len(c):], f"duplicate {len(c)}@{i}"


GENERIC = [bitflip, random_bytes, interesting_int, truncate, insert_chunk, delete_chunk, duplicate_chunk]


def generic(r, d, count=None):
    notes = []
    for _ in range(count or r.choice([1, 1, 2, 3, 6])):
        d, n = r.choice(GENERIC)(r, d)
        notes.append(n)
    return d, notes


# ---- DICOM ------------------------------------------------------------------------------------------

LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
ALL_VRS = [b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB", b"OD",
           b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC", b"UI",
           b"UL", b"UN", b"UR", b"US", b"UT", b"UV", b"\0\0", b"ZZ"]
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1",
                                                   "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99")
TRANSFER_SYNTAXES = [IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED, "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50",
                     "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90",
                     "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.100", "1.2.3", ""]

# The attributes i2 reads to size, place, sort, split and name images and segments.
HOT_TAGS = [0x00280010, 0x00280011, 0x00280008, 0x00280100, 0x00280101, 0x00280102, 0x00280103, 0x00280002,
            0x00280006, 0x00280004, 0x00200032, 0x00200037, 0x00280030, 0x00180050, 0x00180088, 0x00281053,
            0x00281052, 0x00200013, 0x00180086, 0x00180081, 0x00180080, 0x00200100, 0x00200012, 0x0020000E,
            0x00080016, 0x00080018, 0x00020010, 0x00020002, 0x00080008, 0x00620004, 0x0062000B, 0x00620001,
            0x0062000E, 0x00209157, 0x00209057, 0x00209128, 0x00209056, 0x00180087, 0x00189087, 0x00189089,
            0x0019100A, 0x0019100E, 0x0019100C, 0x00431039, 0x00081155, 0x00200052, 0x00100020, 0x00181030,
            0x0008103E, 0x00200011, 0x00080060, 0x00180023, 0x00181120, 0x00080032, 0x00280009, 0x00209113,
            0x00209116, 0x00289110, 0x00209111, 0x00620002, 0x00081115, 0x0008114A, 0x00082112, 0x00089124,
            0x52009229, 0x52009230, 0x7FE00010, 0x00291010, 0x00291020, 0x00511016, 0x2005100E, 0x00189117]

HOSTILE_NUMBERS = ["nan", "NaN", "inf", "-inf", "1e300", "-1e300", "-0", "0", "-1", "2147483647", "2147483648",
                   "-2147483648", "9999999999999999", "4294967296", "1e-320", "", " ", "abc", "1\\2", "1\\nan\\3",
                   "0x10", "+5", "1.5", "3" * 16, "\\"]


def _text_values(rng, vr, old):
    if vr in (b"IS", b"DS"):
        v = rng.choice(HOSTILE_NUMBERS)
        if vr == b"DS" and rng.random() < 0.4:
            # multi-valued: orientation/position/spacing with one bad component
            n = max(1, old.count(b"\\") + 1)
            parts = [rng.choice(["0", "1", "-1", "0.5"]) for _ in range(n)]
            parts[rng.randrange(n)] = rng.choice(HOSTILE_NUMBERS[:10])
            if rng.random() < 0.3:
                parts = parts[:-1] if len(parts) > 1 and rng.random() < 0.5 else parts + ["1"]
            v = "\\".join(parts)
        return v.encode()
    if vr == b"UI":
        return rng.choice([t.encode() for t in TRANSFER_SYNTAXES] + [
            b"", b"1.2.840.10008.5.1.4.1.1.66.4", b"1.2.840.10008.5.1.4.1.1.2", b"1.2.840.10008.5.1.4.1.1.4.1",
            b"1.2.840.10008.5.1.4.1.1.7", b"1." + b"9" * 80, b"../../etc", b"1.2\x00.3", b"1.2.3/4"])
    return rng.choice([b"", b" " * 16, b"../../x", b"/etc/passwd", b"a" * 1024, b"\x01\x02\x1b[31m", b"\\\\\\",
                       "é∑😀".encode(), b"\xff\xfe", b"ORIGINAL\\PRIMARY\\M\\ND", b"DERIVED\\PRIMARY\\ADC",
                       b"MOSAIC", b"FRACTIONAL", b"BINARY", b"LABELMAP", b"PALETTE COLOR", b"YBR_FULL_422",
                       b"RGB", b"MONOCHROME1", b"3D", b"MR", b"SEG"])


def _pad(v):
    return v + b" " if len(v) % 2 else v


class Element:
    __slots__ = ("off", "tag", "vr", "lenoff", "lensize", "voff", "vlen", "depth", "parents", "big")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    @property
    def end(self):
        return self.voff + (0 if self.vlen == UNDEFINED else self.vlen)


def _syntax(d):
    """(start of data set, explicit, big endian, list of meta elements) of Part 10 bytes or a bare data set."""
    if len(d) >= 132 and d[128:132] == b"DICM":
        meta, _ = walk_range(d, 132, len(d), True, False, meta_only=True)
        ts = IMPLICIT_LE
        end = 132
        for e in meta:
            end = e.end
            if e.tag == 0x00020010:
                ts = d[e.voff:e.voff + e.vlen].rstrip(b"\0 ").decode("ascii", "replace")
        return end, ts != IMPLICIT_LE, ts == EXPLICIT_BE, ts == DEFLATED, meta
    explicit = len(d) > 6 and d[4:6].isalpha() and d[4:6].isupper()
    return 0, explicit, False, False, []


def walk(d):
    """Every element of a DICOM file (nested ones included), in file order; stops quietly where the bytes stop
    making sense (mutated files)."""
    try:
        start, explicit, big, deflated, meta = _syntax(d)
    except Exception:
        return []
    if deflated:
        return meta
    group_len = [e for e in meta if e.tag == 0x00020000]
    if group_len:  # the meta group length counts the meta elements: fix it up with them
        gl = group_len[0]
        for e in meta:
            if e is not gl:
                e.parents = [(gl.voff, 4, False)]
    try:
        return meta + walk_range(d, start, len(d), explicit, big)[0]
    except Exception:
        return meta


def _vr_of(tag):
    try:
        from pydicom.datadict import dictionary_VR
        return dictionary_VR(tag).split(" ")[0].encode()
    except Exception:
        return b"UN"


def walk_range(d, pos, end, explicit, big, depth=0, parents=(), meta_only=False, out=None):
    out = [] if out is None else out
    e16, e32 = (">H", ">I") if big else ("<H", "<I")
    while pos + 8 <= end:
        g, el = struct.unpack_from(e16, d, pos)[0], struct.unpack_from(e16, d, pos + 2)[0]
        tag = (g << 16) | el
        if meta_only and g != 2:
            break
        if tag in (ITEM, ITEM_END, SEQ_END):
            return out, pos
        if explicit:
            vr = bytes(d[pos + 4:pos + 6])
            if not (vr.isalpha() and vr.isupper()):
                return out, pos
            if vr in LONG_VRS:
                lenoff, lensize = pos + 8, 4
            else:
                lenoff, lensize = pos + 6, 2
        else:
            vr = _vr_of(tag)
            lenoff, lensize = pos + 4, 4
        if lenoff + lensize > end:
            break
        vlen = struct.unpack_from(e16 if lensize == 2 else e32, d, lenoff)[0]
        voff = lenoff + lensize
        e = Element(off=pos, tag=tag, vr=vr, lenoff=lenoff, lensize=lensize, voff=voff, vlen=vlen, depth=depth,
                    parents=list(parents), big=big)
        out.append(e)
        if vr == b"SQ" or (vlen == UNDEFINED and tag == 0x7FE00010):
            pos = _walk_items(d, e, end, explicit, big, depth, parents, out)
            if pos is None:
                break
            continue
        if vlen == UNDEFINED:
            break
        pos = voff + vlen
    return out, pos


def _walk_items(d, sq, end, explicit, big, depth, parents, out):
    e16, e32 = (">H", ">I") if big else ("<H", "<I")
    pos = sq.voff
    stop = end if sq.vlen == UNDEFINED else min(end, sq.voff + sq.vlen)
    inner = list(parents) + ([(sq.lenoff, sq.lensize, big)] if sq.vlen != UNDEFINED else [])
    pixel = sq.tag == 0x7FE00010
    while pos + 8 <= stop:
        tag = (struct.unpack_from(e16, d, pos)[0] << 16) | struct.unpack_from(e16, d, pos + 2)[0]
        ilen = struct.unpack_from(e32, d, pos + 4)[0]
        if tag == SEQ_END:
            return pos + 8
        if tag != ITEM:
            return None
        item = Element(off=pos, tag=ITEM, vr=b"FR" if pixel else b"IT", lenoff=pos + 4, lensize=4, voff=pos + 8,
                       vlen=ilen, depth=depth + 1, parents=list(inner), big=big)
        out.append(item)
        if pixel:
            if ilen == UNDEFINED:
                return None
            pos = pos + 8 + ilen
            continue
        ipar = inner + ([(item.lenoff, 4, big)] if ilen != UNDEFINED else [])
        iend = stop if ilen == UNDEFINED else min(stop, pos + 8 + ilen)
        _, p = walk_range(d, pos + 8, iend, explicit, big, depth + 1, ipar, out=out)
        if ilen == UNDEFINED:
            if p + 8 > stop:
                return None
            t = (struct.unpack_from(e16, d, p)[0] << 16) | struct.unpack_from(e16, d, p + 2)[0]
            if t != ITEM_END:
                return None
            pos = p + 8
        else:
            pos = pos + 8 + ilen
    return pos if sq.vlen != UNDEFINED else None


def _adjust(d, parents, delta):
    b = bytearray(d)
    for off, size, big in parents:
        fmt = (">" if big else "<") + ("H" if size == 2 else "I")
        v = struct.unpack_from(fmt, b, off)[0]
        if v != UNDEFINED and v != 0xFFFF or size == 2:
            struct.pack_into(fmt, b, off, max(0, min(v + delta, (1 << (8 * size)) - 2)))
    return bytes(b)


def replace_value(d, e, value):
    """`d` with element `e`'s value replaced by `value`, its length and every enclosing defined length fixed."""
    if e.lensize == 2:
        value = value[:0xFFFE]
    fmt = (">" if e.big else "<") + ("H" if e.lensize == 2 else "I")
    old = 0 if e.vlen == UNDEFINED else e.vlen
    new = bytearray(d[:e.voff] + value + d[e.voff + old:])
    struct.pack_into(fmt, new, e.lenoff, len(value))
    return _adjust(bytes(new), e.parents, len(value) - old)


def splice_bytes(d, e_off, e_end, insert, parents):
    new = d[:e_off] + insert + d[e_end:]
    return _adjust(new, parents, len(insert) - (e_end - e_off))


def _new_value(r, e, d):
    vr, old = e.vr, d[e.voff:e.voff + (0 if e.vlen == UNDEFINED else e.vlen)]
    end = ">" if e.big else "<"
    if vr in (b"US", b"SS"):
        vals = [0, 1, 2, 3, 7, 8, 12, 15, 16, 17, 24, 32, 64, 0x7FFF, 0x8000, 0xFFFF, r.randrange(65536)]
        n = max(1, len(old) // 2)
        return b"".join(struct.pack(end + "H", r.choice(vals)) for _ in range(n if r.random() < 0.8 else n + 1))
    if vr in (b"UL", b"SL", b"AT"):
        return struct.pack(end + "I", r.choice([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, r.randrange(1 << 32)]))
    if vr in (b"FL", b"FD", b"OF", b"OD"):
        fmt = "f" if vr in (b"FL", b"OF") else "d"
        size = struct.calcsize(fmt)
        n = max(1, len(old) // size)
        vals = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e38, -1e38, 1e-45, 1.0]
        return b"".join(struct.pack(end + fmt, r.choice(vals)) for _ in range(n))
    if vr in (b"OB", b"OW", b"UN", b"OL", b"OV", b"FR"):
        choice = r.choice(["empty", "half", "one", "double", "random"])
        if choice == "empty":
            return b""
        if choice == "half":
            return old[:len(old) // 2 & ~1]
        if choice == "one":
            return old[:2]
        if choice == "double":
            return old + old
        return bytes(r.randrange(256) for _ in range(min(len(old), 64) & ~1)) + old[64:]
    return _pad(_text_values(r, vr, old))


def _pick(r, els, pred=lambda e: True):
    cands = [e for e in els if pred(e)]
    return r.choice(cands) if cands else None


def dicom_set_value(r, d, els):
    hot = [e for e in els if e.tag in HOT_TAGS and e.vr not in (b"SQ", b"IT")]
    e = r.choice(hot) if hot and r.random() < 0.75 else _pick(r, els, lambda e: e.vr not in (b"SQ", b"IT"))
    if e is None:
        return None
    v = _new_value(r, e, d)
    return replace_value(d, e, v), f"set ({e.tag >> 16:04X},{e.tag & 0xFFFF:04X}) {e.vr.decode('latin1')} = {v[:40]!r}"


def dicom_huge_image(r, d, els):
    """Size claims: Rows, Columns, NumberOfFrames, BitsAllocated, SamplesPerPixel set large together."""
    notes = []
    for tag, vals in [(0x00280010, [65535, 32768, 4096]), (0x00280011, [65535, 32768, 4096]),
                      (0x00280008, [b"2147483647", b"65535", b"100000", b"4294967297"]),
                      (0x00280100, [32, 64]), (0x00280002, [3, 4, 65535])]:
        if r.random() < 0.5:
            continue
        els = walk(d)
        e = next((x for x in els if x.tag == tag and x.depth == 0), None)
        if e is None:
            continue
        v = r.choice(vals)
        val = _pad(v) if isinstance(v, bytes) else struct.pack(">H" if e.big else "<H", v)
        d = replace_value(d, e, val)
        notes.append(f"({tag >> 16:04X},{tag & 0xFFFF:04X})={v!r}")
    return (d, "huge " + " ".join(notes)) if notes else None


def dicom_set_length(r, d, els):
    e = _pick(r, els)
    if e is None:
        return None
    big = 0xFFFF if e.lensize == 2 else r.choice([UNDEFINED, 0x7FFFFFF0, 0xFFFFFFFE, len(d) * 4])
    v = r.choice([0, 1, big, big, e.vlen + 2 if e.vlen != UNDEFINED else 2, max(0, e.vlen - 2) if e.vlen != UNDEFINED else 0])
    v &= (1 << (8 * e.lensize)) - 1
    b = bytearray(d)
    struct.pack_into((">" if e.big else "<") + ("H" if e.lensize == 2 else "I"), b, e.lenoff, v)
    return bytes(b), f"length of ({e.tag >> 16:04X},{e.tag & 0xFFFF:04X}) {e.vlen:#x} -> {v:#x}"


def dicom_change_vr(r, d, els):
    e = _pick(r, els, lambda e: e.lenoff - e.off in (6, 8) and e.tag not in (ITEM,) and
              (e.vr == b"SQ" or r.random() < 0.5))
    if e is None:
        return None
    vr = r.choice(ALL_VRS)
    return d[:e.off + 4] + vr + d[e.off + 6:], f"VR of ({e.tag >> 16:04X},{e.tag & 0xFFFF:04X}) {e.vr!r} -> {vr!r}"


def dicom_truncate(r, d, els):
    e = _pick(r, els)
    if e is None:
        return None
    at = r.choice([e.off, e.off + 4, e.voff, e.voff + (e.vlen // 2 if e.vlen != UNDEFINED else 0), e.end])
    return d[:at], f"truncate at {at} (element ({e.tag >> 16:04X},{e.tag & 0xFFFF:04X}))"


def dicom_delete(r, d, els):
    e = _pick(r, els, lambda e: e.vlen != UNDEFINED)
    if e is None:
        return None
    return splice_bytes(d, e.off, e.end, b"", e.parents), f"delete ({e.tag >> 16:04X},{e.tag & 0xFFFF:04X})"


def dicom_duplicate(r, d, els):
    e = _pick(r, els, lambda e: e.vlen != UNDEFINED and e.end - e.off < 1 << 20)
    if e is None:
        return None
    chunk = d[e.off:e.end]
    n = r.choice([1, 1, 2, 100])
    return splice_bytes(d, e.end, e.end, chunk * n, e.parents), f"duplicate ({e.tag >> 16:04X},{e.tag & 0xFFFF:04X}) x{n}"


def dicom_swap(r, d, els):
    """An element moved before its predecessor at the same depth (tags out of order)."""
    cand = [(a, b) for a, b in zip(els, els[1:]) if a.depth == b.depth and a.end == b.off and
            a.vlen != UNDEFINED and b.vlen != UNDEFINED and a.parents == b.parents]
    if not cand:
        return None
    a, b = r.choice(cand)
    return d[:a.off] + d[b.off:b.end] + d[a.off:a.end] + d[b.end:], f"swap ({a.tag >> 16:04X},{a.tag & 0xFFFF:04X})<->({b.tag >> 16:04X},{b.tag & 0xFFFF:04X})"


def deep_sequence(depth, explicit=True, big=False, closed=True):
    e16, e32 = (">H", ">I") if big else ("<H", "<I")
    tag = struct.pack(e16, 0x0040) + struct.pack(e16, 0xA730)
    head = tag + (b"SQ\0\0" if explicit else b"") + struct.pack(e32, UNDEFINED)
    item = struct.pack(e16, 0xFFFE) + struct.pack(e16, 0xE000) + struct.pack(e32, UNDEFINED)
    item_end = struct.pack(e16, 0xFFFE) + struct.pack(e16, 0xE00D) + struct.pack(e32, 0)
    seq_end = struct.pack(e16, 0xFFFE) + struct.pack(e16, 0xE0DD) + struct.pack(e32, 0)
    opening = (head + item) * depth
    return opening + ((item_end + seq_end) * depth if closed else b"")


def dicom_deep_nesting(r, d, els):
    start, explicit, big, deflated, _ = _syntax(d)
    if deflated:
        return None
    depth = r.choice([50, 300, 3000, 30000])
    closed = r.random() < 0.7
    top = [e for e in els if e.depth == 0 and e.off >= start]
    at = next((e.off for e in top if e.tag > 0x0040A730), len(d))
    seq = deep_sequence(depth, explicit, big, closed)
    return d[:at] + seq + d[at:], f"sequences nested {depth} deep{'' if closed else ' (unterminated)'} at {at}"


def dicom_transfer_syntax(r, d, els):
    e = next((x for x in els if x.tag == 0x00020010), None)
    if e is None:
        return None
    ts = r.choice(TRANSFER_SYNTAXES)
    return replace_value(d, e, _pad(ts.encode()) if ts else b""), f"TransferSyntaxUID -> {ts!r}"


def dicom_fragments(r, d, els):
    frags = [e for e in els if e.vr == b"FR"]
    if not frags:
        return None
    f = r.choice(frags)
    how = r.choice(["bot", "length", "delete", "duplicate", "empty"])
    if how == "bot" and frags[0].vlen >= 4:
        b = bytearray(d)
        off = frags[0].voff + 4 * r.randrange(frags[0].vlen // 4)
        struct.pack_into("<I", b, off, r.choice([0xFFFFFFF0, 0x7FFFFFFF, 1, 3, len(d)]))
        return bytes(b), "basic offset table entry corrupted"
    if how == "length":
        b = bytearray(d)
        struct.pack_into("<I", b, f.lenoff, r.choice([UNDEFINED, 0x7FFFFFF0, 0, 1, f.vlen + 8]))
        return bytes(b), f"fragment length at {f.off} corrupted"
    if how == "delete":
        return splice_bytes(d, f.off, f.end, b"", f.parents), f"fragment at {f.off} deleted"
    if how == "duplicate":
        return splice_bytes(d, f.end, f.end, d[f.off:f.end], f.parents), f"fragment at {f.off} duplicated"
    return replace_value(d, f, b""), f"fragment at {f.off} emptied"


def dicom_type_confusion(r, d, els):
    """The value of one element put into another (a sequence's bytes as OW, pixel bytes as a string ...)."""
    a = _pick(r, els, lambda e: e.vr not in (b"IT", b"FR") and e.vlen != UNDEFINED and e.vlen < 4096)
    b = _pick(r, els, lambda e: e.vr not in (b"IT", b"FR", b"SQ") and e.vlen != UNDEFINED)
    if a is None or b is None or a is b:
        return None
    v = d[a.voff:a.end]
    return replace_value(d, b, _pad(v)), f"value of ({a.tag >> 16:04X},{a.tag & 0xFFFF:04X}) into ({b.tag >> 16:04X},{b.tag & 0xFFFF:04X})"


DICOM_MUTATORS = [(dicom_set_value, 30), (dicom_huge_image, 6), (dicom_set_length, 8), (dicom_change_vr, 6),
                  (dicom_truncate, 6), (dicom_delete, 8), (dicom_duplicate, 4), (dicom_swap, 3),
                  (dicom_deep_nesting, 2), (dicom_transfer_syntax, 4), (dicom_fragments, 4),
                  (dicom_type_confusion, 3)]


def _weighted(r, table):
    total = sum(w for _, w in table)
    x = r.uniform(0, total)
    for f, w in table:
        x -= w
        if x <= 0:
            return f
    return table[-1][0]


def mutate_dicom(r, d):
    notes = []
    if r.random() < 0.8:
        for _ in range(r.choice([1, 1, 1, 2, 3])):
            els = walk(d)
            for _attempt in range(5):
                res = _weighted(r, DICOM_MUTATORS)(r, d, els)
                if res:
                    d, n = res
                    notes.append(n)
                    break
        if r.random() < 0.15:
            d, n = generic(r, d, 1)
            notes += n
    else:
        d, n = generic(r, d)
        notes += n
    return d, notes


# ---- NIfTI-1 ----------------------------------------------------------------------------------------

NIFTI_FIELDS = [("sizeof_hdr", 0, "i", [348, 540, 0, -1, 0x5C010000, 1 << 30]),
                ("dim0", 40, "h", [0, 1, 2, 3, 4, 5, 7, 8, 9, -1, 32767])] + \
               [(f"dim{k}", 40 + 2 * k, "h", [0, 1, -1, 2, 4096, 32767, -32768]) for k in range(1, 8)] + \
               [("intent_code", 68, "h", [0, 1002, 2003, 1007, -1]),
                ("datatype", 70, "h", [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048,
                                       2304, 255, 99, -1]),
                ("bitpix", 72, "h", [0, 1, 7, 8, 16, 24, 32, 64, 128, -8]),
                ("slice_start", 74, "h", [0, -1, 32767])] + \
               [(f"pixdim{k}", 76 + 4 * k, "f", [math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, 1e38, 1e-38, 1.0])
                for k in range(8)] + \
               [("vox_offset", 108, "f", [0.0, 1.0, 351.0, 352.0, 353.0, 1e9, 1e30, math.nan, -352.0, math.inf, 3.5]),
                ("scl_slope", 112, "f", [math.nan, math.inf, 0.0, -0.0, 1e38, -1.0]),
                ("scl_inter", 116, "f", [math.nan, math.inf, -math.inf, 1e38]),
                ("slice_end", 120, "h", [0, -1, 32767]),
                ("slice_code", 122, "B", [0, 1, 6, 255]),
                ("xyzt_units", 123, "B", [0, 2, 10, 255]),
                ("slice_duration", 132, "f", [math.nan, -1.0]),
                ("toffset", 136, "f", [math.nan, math.inf]),
                ("qform_code", 252, "h", [0, 1, 2, 3, 4, 5, -1, 32767]),
                ("sform_code", 254, "h", [0, 1, 2, 4, 5, -1, 32767])] + \
               [(n, o, "f", [math.nan, math.inf, 0.0, 1.0, -1.0, 2.0, 1e38]) for n, o in
                [("quatern_b", 256), ("quatern_c", 260), ("quatern_d", 264), ("qoffset_x", 268), ("qoffset_y", 272),
                 ("qoffset_z", 276)]] + \
               [(f"srow{k}", 280 + 4 * k, "f", [math.nan, math.inf, -math.inf, 0.0, 1e38, -1e38]) for k in range(12)] + \
               [("magic", 344, "4s", [b"ni1\0", b"n+2\0", b"xxxx", b"n+1\0", b"\0\0\0\0"])]


def _nifti_endian(h):
    return "<" if struct.unpack_from("<i", h, 0)[0] in (348, 540) else ">"


def nifti_header(r, d):
    if len(d) < 348:
        return generic(r, d)
    end = _nifti_endian(d)
    b = bytearray(d)
    notes = []
    for _ in range(r.choice([1, 1, 2, 3])):
        name, off, fmt, vals = r.choice(NIFTI_FIELDS)
        v = r.choice(vals)
        if fmt == "h":
            v = max(-32768, min(32767, v))
        try:
            struct.pack_into(end + fmt, b, off, v)
        except struct.error:
            struct.pack_into("<" + fmt, b, off, v if not isinstance(v, int) else v & 0x7FFFFFFF)
        notes.append(f"{name}={v!r}")
    return bytes(b), notes


def nifti_size_claim(r, d):
    """dims claimed far beyond the voxels present (what a gzip bomb or a truncated file looks like)."""
    if len(d) < 348:
        return generic(r, d)
    end = _nifti_endian(d)
    b = bytearray(d)
    dims = r.choice([(3, 4096, 4096, 4096), (4, 32767, 32767, 32767, 32767), (3, 65535 & 0x7FFF, 1, 1),
                     (7, 2, 2, 2, 2, 2, 2, 2), (3, 23, 38, 30000)])
    for k, v in enumerate(list(dims) + [1] * (8 - len(dims))):
        struct.pack_into(end + "h", b, 40 + 2 * k, v)
    return bytes(b), [f"dims {dims}"]


def mutate_nifti(r, d, gz):
    raw = d
    if gz:
        try:
            raw = gzip.decompress(d)
        except Exception:
            return generic(r, d)
        if r.random() < 0.1:  # damage the compressed stream itself
            return generic(r, d)
        if r.random() < 0.05:
            return gzip_bomb_nifti(r, raw)
    roll = r.random()
    if roll < 0.6:
        raw, notes = nifti_header(r, raw)
    elif roll < 0.75:
        raw, notes = nifti_size_claim(r, raw)
    else:
        raw, notes = generic(r, raw)
    return (gzip.compress(raw, 1, mtime=0) if gz else raw), notes


def gzip_bomb_nifti(r, raw):
    end = _nifti_endian(raw)
    b = bytearray(raw[:352])
    for k, v in enumerate([3, 4096, 4096, 4096, 1, 1, 1, 1]):
        struct.pack_into(end + "h", b, 40 + 2 * k, v)
    struct.pack_into(end + "h", b, 70, 16)
    struct.pack_into(end + "h", b, 72, 32)
    n = r.choice([1 << 20, 16 << 20, 64 << 20])
    return gzip_stream(bytes(b), n), [f"gzip bomb: 4096^3 float32 claimed, {n} zero bytes present"]


def gzip_stream(prefix, zeros):
    """gzip of prefix + `zeros` zero bytes, compressed in pieces (never holding the zeros in memory at once)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [c.compress(prefix)]
    chunk = bytes(1 << 20)
    left = zeros
    while left > 0:
        out.append(c.compress(chunk[:min(left, len(chunk))]))
        left -= len(chunk)
    out.append(c.flush())
    return b"".join(out)


# ---- NRRD / NHDR / MetaImage text headers -----------------------------------------------------------

NRRD_VALUES = {
    "type": ["int8", "uint8", "short", "ushort", "int", "uint", "longlong", "ulonglong", "float", "double",
             "block", "signed char", "int64", "garbage", ""],
    "dimension": ["0", "1", "2", "4", "16", "17", "-1", "99999999999", "3.5", "nan"],
    "sizes": ["0 38 3", "-1 38 3", "4096 4096 4096", "23 38", "23 38 3 1 1", "18446744073709551615 1 1",
              "2147483648 2 1", "nan 1 1", "23 38 3e9", "", "65535 65535 65535", "1 1 1"],
    "encoding": ["raw", "gzip", "gz", "bzip2", "bz2", "ascii", "text", "hex", "zstd", "garbage"],
    "endian": ["big", "little", "middle", ""],
    "space": ["left-posterior-superior", "right-anterior-superior", "scanner-xyz", "3D-right-handed", "garbage", ""],
    "space directions": ["(nan,0,0) (0,1,0) (0,0,1)", "(0,0,0) (0,0,0) (0,0,0)", "none (0,1,0) (0,0,1)",
                         "(1,0,0) (1,0,0) (0,0,1)", "(1e308,0,0) (0,1e308,0) (0,0,1e308)", "(1,0) (0,1) (0,0)",
                         "((((", "", "(inf,0,0) (0,1,0) (0,0,1)", "(1,0,0) (0,1,0)"],
    "space origin": ["(nan,nan,nan)", "(inf,0,0)", "(1,2)", "garbage", "(1e308,1e308,1e308)", ""],
    "data file": ["/etc/hostname", "../../outside.raw", "../x.raw", "x%03d.raw 0 100000000 1",
                  "x%d.raw 2147483647 -2147483648 -1 3", "nonexistent.raw", "", ".", "/dev/zero", "LIST"],
    "byte skip": ["-1", "1000000000", "99999999999", "-2", "nan"],
    "line skip": ["1000000000", "-1", "nan"],
    "kinds": ["RGB-color domain domain domain", "domain domain", "3-vector domain domain domain", "list list list"],
    "spacings": ["nan nan nan", "0 0 0", "-1 1 1", "inf 1 1"],
}
MHD_VALUES = {
    "ObjectType": ["Image", "Mesh", ""],
    "NDims": ["0", "1", "2", "4", "16", "-1", "99999999999"],
    "DimSize": ["0 38 3", "-1 38 3", "4096 4096 4096", "23 38", "23 38 3 1", "18446744073709551615 1 1",
                "65535 65535 65535", "nan 1 1"],
    "ElementType": ["MET_UCHAR", "MET_CHAR", "MET_SHORT", "MET_USHORT", "MET_INT", "MET_UINT", "MET_LONG_LONG",
                    "MET_ULONG_LONG", "MET_FLOAT", "MET_DOUBLE", "MET_UCHAR_ARRAY", "MET_OTHER", "garbage", ""],
    "ElementSpacing": ["nan nan nan", "0 0 0", "-1 1 1", "inf 1 1", "1 1"],
    "ElementSize": ["nan 1 1", "0 0 0"],
    "Offset": ["nan 0 0", "inf inf inf", "1 2", "garbage"],
    "Position": ["nan 0 0"],
    "TransformMatrix": ["0 0 0 0 0 0 0 0 0", "nan 0 0 0 1 0 0 0 1", "1 0 0 1 0 0 0 0 1", "1 0 0 0 1 0", "inf"],
    "ElementDataFile": ["LOCAL", "LIST", "x%03d.raw 1 100000000 1", "../x.raw", "/etc/hostname", "/dev/zero",
                        "nonexistent.raw", "", "."],
    "BinaryData": ["True", "False", "garbage"],
    "BinaryDataByteOrderMSB": ["True", "False", "maybe"],
    "ElementByteOrderMSB": ["True", "False"],
    "CompressedData": ["True", "False", "garbage"],
    "CompressedDataSize": ["0", "-1", "99999999999", "12"],
    "HeaderSize": ["-1", "99999999999", "0", "100"],
    "ElementNumberOfChannels": ["0", "3", "4", "65535", "-1"],
    "AnatomicalOrientation": ["RAI", "LPS", "garbage", "???"],
}


def split_text_header(d, kind):
    """(header bytes, body bytes). NRRD: the header ends at the first blank line; MetaImage: after the line
    ElementDataFile = ...; a detached header (.nhdr/.mhd) is all header."""
    if kind == "nrrd":
        i = d.find(b"\n\n")
        return (d, b"") if i < 0 else (d[:i + 2], d[i + 2:])
    if kind == "mha":
        i = d.find(b"ElementDataFile")
        if i < 0:
            return d, b""
        j = d.find(b"\n", i)
        return (d, b"") if j < 0 else (d[:j + 1], d[j + 1:])
    return d, b""


def mutate_text_header(r, d, kind):
    """kind: nrrd (attached), nhdr, mha (attached), mhd."""
    head, body = split_text_header(d, "nrrd" if kind in ("nrrd", "nhdr") else ("mha" if kind == "mha" else "x"))
    lines = head.split(b"\n")
    values = NRRD_VALUES if kind in ("nrrd", "nhdr") else MHD_VALUES
    sep = b": " if kind in ("nrrd", "nhdr") else b" = "
    notes = []
    roll = r.random()
    if roll < 0.55:
        for _ in range(r.choice([1, 1, 2])):
            key = r.choice(list(values))
            val = r.choice(values[key])
            idx = next((i for i, l in enumerate(lines) if l.split(sep.strip())[0].strip().lower() == key.lower().encode()), None)
            line = key.encode() + sep + val.encode()
            if key == "data file" and val == "LIST":
                line += b"\n" + b"\n".join([b"../x.raw", b"/etc/hostname", b"nope.raw"][:r.randrange(1, 4)])
            if idx is None:
                insert_at = max(1, len(lines) - (2 if kind in ("nrrd", "nhdr") else 1))
                if kind == "mha" and key != "ElementDataFile":
                    insert_at = max(0, len(lines) - 2)
                lines.insert(insert_at, line)
            else:
                lines[idx] = line
            notes.append(f"{key}: {val}")
    elif roll < 0.65:
        i = r.randrange(len(lines))
        notes.append(f"line {i} deleted: {lines[i][:40]!r}")
        del lines[i]
    elif roll < 0.72:
        i = r.randrange(len(lines))
        lines.insert(i, lines[i])
        notes.append(f"line {i} duplicated")
    elif roll < 0.76:
        i = r.randrange(len(lines))
        lines[i] = lines[i] + b"9" * r.choice([100, 70000])
        notes.append(f"line {i} made long")
    elif roll < 0.84 and body:
        body, n = generic(r, body)
        notes += ["body: " + x for x in n]
    elif roll < 0.88 and kind == "nrrd":
        return gzip_bomb_nrrd(r)
    else:
        new, n = generic(r, b"\n".join(lines))
        return new + body, ["header: " + x for x in n]
    return b"\n".join(lines) + body, notes


def gzip_bomb_nrrd(r):
    n = r.choice([1 << 20, 16 << 20, 64 << 20])
    head = b"NRRD0004\ntype: float\ndimension: 3\nsizes: 4096 4096 4096\nencoding: gzip\n\n"
    return head + gzip_stream(b"", n), [f"gzip bomb: 4096^3 float claimed, {n} zero bytes present"]


# ---- NumPy ------------------------------------------------------------------------------------------

NPY_DESCR = ["<i2", ">i2", "|u1", "|i1", "<u2", "<i4", ">i4", "<f4", "<f8", ">f8", "|b1", "<c8", "<c16", "|O",
             "<U4", "|S3", "V8", "<i8", "<u8", "<M8[s]", "garbage", "<i3", "", "<f2"]
NPY_SHAPES = ["()", "(0,)", "(4611686018427387904,)", "(-1, 38, 23)", "(4096, 4096, 4096)", "(3, 38)",
              "(3, 38, 23, 2)", "(38, 23, 3)", "(" + "1, " * 40 + ")", "(3, 38, 23, 3)", "(2147483648, 2, 1)",
              "(3.5, 38, 23)", "(None,)", "[3, 38, 23]"]


def mutate_npy(r, d):
    if d[:6] != b"\x93NUMPY" or len(d) < 10:
        return generic(r, d)
    major = d[6]
    hl_size = 2 if major == 1 else 4
    hl = struct.unpack_from("<H" if hl_size == 2 else "<I", d, 8)[0]
    start = 8 + hl_size
    header = d[start:start + hl].decode("latin1")
    data = d[start + hl:]
    notes = []
    roll = r.random()
    if roll < 0.6:
        import ast
        try:
            h = ast.literal_eval(header.strip())
        except Exception:
            return generic(r, d)
        parts = {"descr": repr(h["descr"]), "fortran_order": repr(h["fortran_order"]), "shape": repr(h["shape"])}
        for _ in range(r.choice([1, 1, 2])):
            key = r.choice(["descr", "descr", "fortran_order", "shape", "shape", "extra", "drop"])
            if key == "descr":
                parts["descr"] = repr(r.choice(NPY_DESCR))
            elif key == "fortran_order":
                parts["fortran_order"] = r.choice(["True", "False", "'maybe'", "1"])
            elif key == "shape":
                parts["shape"] = r.choice(NPY_SHAPES)
            elif key == "extra":
                parts["evil"] = "'x' * 3"
            else:
                parts.pop(r.choice(list(parts)), None)
            notes.append(f"{key}: {parts.get(key)}")
        text = "{" + ", ".join(f"'{k}': {v}" for k, v in parts.items()) + ", }"
        text += " " * ((64 - (start + len(text) + 1) % 64) % 64) + "\n"
        enc = text.encode("latin1")
        if hl_size == 2 and len(enc) > 0xFFFF:
            enc = enc[:0xFFFF]
        return d[:8] + struct.pack("<H" if hl_size == 2 else "<I", len(enc)) + enc + data, notes
    if roll < 0.7:
        b = bytearray(d)
        v = r.choice([0, 1, 0xFFFF, hl + 64, hl - 1, len(d)])
        struct.pack_into("<H", b, 8, v & 0xFFFF)
        return bytes(b), [f"header length {hl} -> {v}"]
    if roll < 0.75:
        b = bytearray(d)
        b[6] = r.choice([0, 2, 3, 4, 255])
        return bytes(b), [f"version {b[6]}"]
    return generic(r, d)


# ---- JSON sidecars (the NumPy reader's geometry) ----------------------------------------------------

JSON_NUMBERS = [b"NaN", b"Infinity", b"-Infinity", b"1e309", b"-0", b"0", b"1e300", b"-1", b"9223372036854775808",
                b"\"7\"", b"null", b"[]", b"{}", b"true", b"[1,2]"]


def mutate_json(r, d):
    import re as _re
    nums = [m.span() for m in _re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", d)]
    roll = r.random()
    if nums and roll < 0.6:
        notes = []
        for _ in range(r.choice([1, 1, 2])):
            a, b = r.choice(nums)
            v = r.choice(JSON_NUMBERS)
            d = d[:a] + v + d[b:]
            nums = [m.span() for m in _re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", d)]
            notes.append(f"number at {a} -> {v.decode()}")
            if not nums:
                break
        return d, notes
    if roll < 0.7:
        return b"[" * r.choice([1000, 100000]) + b"]" * r.choice([0, 1000]), ["deeply nested JSON"]
    return generic(r, d)
