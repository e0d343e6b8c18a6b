#!/usr/bin/env python3
"""A hand-made storage SCP that misbehaves after accepting the association, for the `i2 send`
timeout and backoff tests. Plain sockets, 127.0.0.1 only.

  faulty_scp.py abort PORTFILE LOG    accepts every association (first transfer syntax of each
                                      presentation context), then answers the first P-DATA-TF with
                                      an A-ABORT and closes
  faulty_scp.py silent PORTFILE LOG   accepts every association, then reads and never answers

It listens on a free port and writes the port to PORTFILE (atomically) once listening; LOG gets one
line per accepted connection: the time.time() of the accept, so a test can measure the gaps.
"""
import os, socket, struct, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_peer import read_pdu, recv_exact  # noqa: E402  (one PDU reader for the test peers)


def item(t, body):
    return bytes([t, 0]) + struct.pack(">H", len(body)) + body




def associate_ac(rq):
    """A-ASSOCIATE-AC for an A-ASSOCIATE-RQ body: every context accepted with its first syntax."""
    v = b"\x00\x01\x00\x00" + rq[4:36] + b"\0" * 32
    v += item(0x10, b"1.2.840.10008.3.1.1.1")
    i = 68
    while i + 4 <= len(rq):
        t, n = rq[i], struct.unpack(">H", rq[i + 2:i + 4])[0]
        body = rq[i + 4:i + 4 + n]
        if t == 0x20:
            j, first = 4, None
            while j + 4 <= len(body):
                st, sn = body[j], struct.unpack(">H", body[j + 2:j + 4])[0]
                if st == 0x40 and first is None:
                    first = body[j + 4:j + 4 + sn]
                j += 4 + sn
            v += item(0x21, bytes([body[0], 0, 0, 0]) + item(0x40, first or b"1.2.840.10008.1.2"))
        i += 4 + n
    v += item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.826.0.1.3680043.9.9998"))
    return b"\x02\x00" + struct.pack(">I", len(v)) + v


def serve(conn, mode):
    try:
        t, rq = read_pdu(conn)
        if t != 1:
            return
        conn.sendall(associate_ac(rq))
        while True:
            t, _ = read_pdu(conn)
            if t == 4 and mode == "abort":
                conn.sendall(b"\x07\x00" + struct.pack(">I", 4) + b"\0\0\0\0")
                return
            if t in (5, 7):        # release request or abort from the requestor
                return
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main():
    mode, portfile, log = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode not in ("abort", "silent"):
        sys.exit(f"unknown mode {mode}")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    with open(log, "a", buffering=1) as out:
        while True:
            conn, _ = srv.accept()
            out.write(f"{time.time():.3f}\n")
            threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
