#!/usr/bin/env python3
"""Hostile and hand-made DICOM peers for the `i2 receive` hardening tests and the receive soak
(Tests/Benchmarks/receive-soak.sh). Plain sockets only, loopback addresses only.

  hostile_peer.py deep DEPTH OUT                   a Part 10 file with DEPTH nested sequences
  hostile_peer.py cstore PORT FILE [CALLING]       raw C-STORE of FILE as it is on disk (no parsing:
                                                   DCMTK's storescu crashes on the deep file); prints
                                                   the DIMSE status as 0xXXXX, or 'abort'/'closed'
  hostile_peer.py deepcommand PORT DEPTH [one]     an association, then a C-STORE command set nested
                                                   DEPTH sequences deep (implicit VR, parsed in memory
                                                   by DCMTK), in 16 kB PDVs or in one: prints the answer
                                                   ('abort', 'closed', ...)
  hostile_peer.py garbage PORT N                   N connections, each sending 6 bytes that are no PDU
  hostile_peer.py rqreset PORT N                   N x (A-ASSOCIATE-RQ, then a TCP reset)
  hostile_peer.py bad PORT                         blank/all-space calling AE, a presentation context
                                                   without transfer syntax, a 65,000-byte abstract
                                                   syntax: prints 'NAME PDU-TYPE SECONDS' per case
  hostile_peer.py hold PORT N SRC SECONDS          N associations from address SRC held idle
  hostile_peer.py drip PORT SRC                    an association, then one byte per 100 ms
  hostile_peer.py swarm PORT N SECONDS             N peers from 127.0.0.2-127.0.0.9, a mix of
                                                   slowloris, reset-after-request, idle and malformed,
                                                   each reconnecting when dropped, for SECONDS
"""
import os, random, signal, socket, struct, sys, threading, time

VERIFICATION = b"1.2.840.10008.1.1"
IMPLICIT_LE = b"1.2.840.10008.1.2"


def item(t, body):
    return bytes([t, 0]) + struct.pack(">H", len(body)) + body


def ae(s):
    return (s.encode() + b" " * 16)[:16]


def associate_rq(called="I2", calling="HOSTILE", abstract=VERIFICATION, ts=(IMPLICIT_LE,)):
    v = b"\x00\x01\x00\x00" + ae(called) + ae(calling) + b"\0" * 32
    v += item(0x10, b"1.2.840.10008.3.1.1.1")
    v += item(0x20, b"\x01\0\0\0" + item(0x30, abstract) + b"".join(item(0x40, t) for t in ts))
    v += item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.826.0.1.3680043.9.9999"))
    return b"\x01\x00" + struct.pack(">I", len(v)) + v


def connect(port, src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def drain(s, end):
    """Hold the connection, reading whatever comes, until the peer closes it or `end` passes."""
    s.settimeout(max(0.1, end - time.time()))
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def read_pdu(s):
    h = recv_exact(s, 6)
    return h[0], recv_exact(s, struct.unpack(">I", h[2:])[0])


def answer_type(s, timeout=10.0):
    s.settimeout(timeout)
    t0 = time.time()
    try:
        b = s.recv(1)
        return (b[0] if b else "closed"), time.time() - t0
    except socket.timeout:
        return "none", time.time() - t0
    except OSError:
        return "reset", time.time() - t0


# ---- a deeply nested data set --------------------------------------------------------------------

def explicit(g, e, vr, val):
    if len(val) % 2:
        val += b"\0" if vr == b"UI" else b" "
    return struct.pack("<HH", g, e) + vr + struct.pack("<H", len(val)) + val


def part10(sop_class, sop, ts, data_set):
    body = struct.pack("<HH", 2, 1) + b"OB\0\0" + struct.pack("<I", 2) + b"\0\1"
    body += explicit(2, 2, b"UI", sop_class) + explicit(2, 3, b"UI", sop) + explicit(2, 0x10, b"UI", ts)
    body += explicit(2, 0x12, b"UI", b"1.2.826.0.1.3680043.9.9999")
    return b"\0" * 128 + b"DICM" + struct.pack("<HH", 2, 0) + b"UL" + struct.pack("<HI", 4, len(body)) + body + data_set


def deep(depth, out):
    sc, sop = b"1.2.840.10008.5.1.4.1.1.7", b"1.2.826.0.1.3680043.9.9999.1.%d" % depth
    ds = explicit(8, 0x16, b"UI", sc) + explicit(8, 0x18, b"UI", sop) + explicit(0x10, 0x20, b"LO", b"DEEP")
    ds += explicit(0x20, 0xD, b"UI", b"1.2.826.0.1.3680043.9.9999.2") + explicit(0x20, 0xE, b"UI", b"1.2.826.0.1.3680043.9.9999.3")
    # (0040,A730) ContentSequence, undefined length, one undefined-length item per level.
    opening = struct.pack("<HH", 0x0040, 0xA730) + b"SQ\0\0" + b"\xff" * 4 + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    closing = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    with open(out, "wb") as f:
        f.write(part10(sc, sop, b"1.2.840.10008.1.2.1", ds + opening * depth + closing * depth))


# ---- a raw C-STORE -------------------------------------------------------------------------------

def meta_of(data):
    """(SOP class, SOP instance, transfer syntax, data set offset) of a Part 10 file's bytes."""
    assert data[128:132] == b"DICM", "not a Part 10 file"
    pos, found = 132, {}
    while pos + 8 <= len(data) and struct.unpack("<H", data[pos:pos + 2])[0] == 2:
        elem, vr = struct.unpack("<H", data[pos + 2:pos + 4])[0], data[pos + 4:pos + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
            n, head = struct.unpack("<I", data[pos + 8:pos + 12])[0], 12
        else:
            n, head = struct.unpack("<H", data[pos + 6:pos + 8])[0], 8
        found[elem] = data[pos + head:pos + head + n].rstrip(b"\0 ")
        pos += head + n
    return found[2], found[3], found[0x10], pos


def implicit(g, e, val):
    return struct.pack("<HHI", g, e, len(val)) + val


def uid(v):
    return v + b"\0" if len(v) % 2 else v


def store_command(sop_class, sop, message_id=1):
    body = implicit(0, 2, uid(sop_class)) + implicit(0, 0x100, struct.pack("<H", 1)) + implicit(0, 0x110, struct.pack("<H", message_id))
    body += implicit(0, 0x700, struct.pack("<H", 0)) + implicit(0, 0x800, struct.pack("<H", 0)) + implicit(0, 0x1000, uid(sop))
    return implicit(0, 0, struct.pack("<I", len(body))) + body


def pdata(fragment, command, last):
    pdv = bytes([1, (1 if command else 0) | (2 if last else 0)]) + fragment
    return b"\x04\x00" + struct.pack(">I", len(pdv) + 4) + struct.pack(">I", len(pdv)) + pdv


def cstore(port, path, calling="RAWSCU"):
    data = open(path, "rb").read()
    sop_class, sop, ts, offset = meta_of(data)
    s = connect(port)
    s.sendall(associate_rq(calling=calling, abstract=sop_class, ts=(ts,)))
    t, body = read_pdu(s)
    if t != 2:
        return "rejected"
    s.sendall(pdata(store_command(sop_class, sop), True, True))
    ds, chunk = data[offset:], 16000
    for i in range(0, max(len(ds), 1), chunk):
        s.sendall(pdata(ds[i:i + chunk], False, i + chunk >= len(ds)))
    try:
        t, body = read_pdu(s)
    except (EOFError, OSError):
        return "closed"
    if t != 4:
        return "abort" if t == 7 else "pdu%d" % t
    pos, status = 6, None   # PDV: length(4) id(1) header(1), then the command's elements
    while pos + 8 <= len(body):
        g, e, n = struct.unpack("<HHI", body[pos:pos + 8])
        if (g, e) == (0, 0x900):
            status = struct.unpack("<H", body[pos + 8:pos + 10])[0]
        pos += 8 + n
    try:
        s.sendall(b"\x05\x00" + struct.pack(">I", 4) + b"\0" * 4)
        read_pdu(s)
    except (EOFError, OSError):
        pass
    s.close()
    return "0x%04x" % status if status is not None else "no-status"


def deepcommand(port, depth, one=False):
    """A command set holding (0040,A730) ContentSequence nested DEPTH levels (undefined lengths), sent in
    16 kB PDVs after a valid association for CT Image Storage."""
    sop_class = b"1.2.840.10008.5.1.4.1.1.2"
    s = connect(port)
    s.sendall(associate_rq(calling="DEEPCMD", abstract=sop_class, ts=(IMPLICIT_LE,)))
    t, body = read_pdu(s)
    if t != 2:
        return "rejected"
    opening = struct.pack("<HHI", 0x0040, 0xA730, 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    closing = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    command = store_command(sop_class, b"1.2.826.0.1.3680043.9.9999.7") + opening * depth + closing * depth
    chunk = len(command) if one else 16000
    try:
        for i in range(0, len(command), chunk):
            s.sendall(pdata(command[i:i + chunk], True, i + chunk >= len(command)))
        s.settimeout(30)
        t, body = read_pdu(s)
    except (EOFError, OSError):
        return "closed"
    s.close()
    return "abort" if t == 7 else "pdu%d" % t


# ---- hostile behaviours --------------------------------------------------------------------------

def garbage(port, n):
    for i in range(n):
        s = connect(port)
        s.sendall(b"GET / ")
        try:
            s.settimeout(10)
            s.recv(16)   # i2 closes at once
        except OSError:
            pass
        s.close()


def rqreset(port, n):
    for i in range(n):
        s = connect(port)
        s.sendall(associate_rq(calling="RST%d" % i))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def bad(port):
    cases = [("blank-calling", associate_rq(calling="")), ("space-calling", associate_rq(calling="    ")),
             ("no-transfer-syntax", associate_rq(ts=())), ("huge-abstract", associate_rq(abstract=b"1." * 32500))]
    for name, pdu in cases:
        s = connect(port)
        s.sendall(pdu)
        kind, seconds = answer_type(s)
        print(name, kind, "%.2f" % seconds, flush=True)
        s.close()


def hold(port, n, src, seconds):
    held = []
    for i in range(n):
        s = connect(port, src)
        s.sendall(associate_rq(calling="IDLE%d" % i))
        print("hold", i, answer_type(s, 5)[0], flush=True)
        held.append(s)
    time.sleep(seconds)


def drip(port, src):
    s = connect(port, src)
    s.sendall(associate_rq(calling="DRIP"))
    t, _ = read_pdu(s)
    print("associated" if t == 2 else "rejected", flush=True)
    pdu = b"\x04\x00" + struct.pack(">I", 1000) + b"\0" * 1000
    t0 = time.time()
    try:
        for b in pdu:
            s.send(bytes([b]))
            time.sleep(0.1)
        print("never dropped", flush=True)
    except OSError:
        print("dropped after %.1f s" % (time.time() - t0), flush=True)


def swarm(port, n, seconds):
    end = time.time() + seconds
    counts = {"slowloris": 0, "reset": 0, "idle": 0, "malformed": 0}

    def one(k):
        kind = list(counts)[k % 4]
        src = "127.0.0.%d" % (2 + k % 8)
        while time.time() < end:
            try:
                s = connect(port, src)
                counts[kind] += 1
                if kind == "slowloris":     # an association request, one byte per 200 ms
                    for b in associate_rq(calling="SLOW%d" % k):
                        if time.time() > end:
                            break
                        s.send(bytes([b]))
                        time.sleep(0.2)
                elif kind == "reset":       # a request, then a reset
                    s.sendall(associate_rq(calling="RST%d" % k))
                    time.sleep(0.05)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif kind == "idle":        # an association, then nothing
                    s.sendall(associate_rq(calling="IDLE%d" % k))
                    drain(s, end)
                else:                       # an association, then garbage PDUs
                    s.sendall(associate_rq(calling="BAD%d" % k))
                    s.settimeout(5)
                    s.recv(4096)
                    s.sendall(bytes([0x04, 0, 0, 0, 0, 8]) + bytes(random.getrandbits(8) for _ in range(8)))
                    drain(s, end)
            except OSError:
                time.sleep(0.1)
            finally:
                try:
                    s.close()
                except Exception:
                    pass
            time.sleep(0.2)   # then the next connection (a hostile peer, not a flood)

    def report(*_):
        print(" ".join("%s=%d" % kv for kv in counts.items()), flush=True)
        os._exit(0)
    signal.signal(signal.SIGTERM, report)   # the soak stops the swarm by its PID
    threads = [threading.Thread(target=one, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 10)
    report()


if __name__ == "__main__":
    mode, a = sys.argv[1], sys.argv[2:]
    if mode == "deep":
        deep(int(a[0]), a[1])
    elif mode == "cstore":
        print(cstore(int(a[0]), a[1], *(a[2:3])), flush=True)
    elif mode == "deepcommand":
        print(deepcommand(int(a[0]), int(a[1]), a[2:3] == ["one"]), flush=True)
    elif mode == "garbage":
        garbage(int(a[0]), int(a[1]))
    elif mode == "rqreset":
        rqreset(int(a[0]), int(a[1]))
    elif mode == "bad":
        bad(int(a[0]))
    elif mode == "hold":
        hold(int(a[0]), int(a[1]), a[2], float(a[3]))
    elif mode == "drip":
        drip(int(a[0]), a[1])
    elif mode == "swarm":
        swarm(int(a[0]), int(a[1]), float(a[2]))
    else:
        sys.exit(__doc__)
