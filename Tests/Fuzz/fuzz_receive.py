"""Network target of the fuzzing harness: one `i2 receive` on 127.0.0.1 gets mutated associations and
C-STOREs (mutated data sets in well-formed PDUs, mutated A-ASSOCIATE-RQ and P-DATA bytes, connections
cut mid-PDU) from raw sockets. The oracle: receive stays up (no signal, no exit), a legitimate
storescu still stores an instance every --check-every runs and at the end, its peak RSS stays under
the limit, and its open file descriptors come back to where they started. Used by fuzz.py --receive."""
import os, random, resource, shutil, signal, socket, struct, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "Tools"))
import hostile_peer as H  # noqa: E402
import mutators as M  # noqa: E402

FIXTURES = ["dcmqi/23x38x3/image/IMG0001.dcm", "pydicom-ct2/17106", "dcmqi/23x38x3/seg/label.seg",
            "highdicom/seg_image_ct_binary.dcm", "dcm_qa/j2k/rgb.dcm", "dcmqi/23x38x3/multiframe/mf.dcm"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Receiver:
    def __init__(self, i2, root, as_limit):
        self.i2, self.root, self.as_limit = i2, root, as_limit
        self.port = free_port()
        self.log = open(os.path.join(os.path.dirname(root), "receive.log"), "ab")

        def limits():
            os.setsid()
            resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        self.p = subprocess.Popen([i2, "receive", "--bind", "127.0.0.1", "--port", str(self.port), "--no-fsync",
                                   "--acse-timeout", "5", "--dimse-timeout", "5", "--idle-timeout", "10", root],
                                  stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, preexec_fn=limits,
                                  env=dict(os.environ, TCP_NODELAY="1"))
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if self.p.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"i2 receive did not start (see {self.log.name})")

    def alive(self):
        return self.p.poll() is None

    def fds(self):
        try:
            return len(os.listdir(f"/proc/{self.p.pid}/fd"))
        except OSError:
            return -1

    def peak_rss_kb(self):
        try:
            for line in open(f"/proc/{self.p.pid}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def stop(self):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)  # the receiver started above, by its pid
            try:
                self.p.wait(40)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def exchange(port, chunks, reset=False, timeout=1.0):
    """Sends `chunks` on one connection, reading whatever comes back; returns a short account."""
    try:
        s = socket.create_connection(("127.0.0.1", port), 2)
    except OSError as e:
        return f"connect failed: {e}"
    s.settimeout(timeout)
    got = []
    try:
        for c in chunks:
            s.sendall(c)
            try:
                s.settimeout(0.05)
                b = s.recv(65536)
                if b:
                    got.append(b[0])
                else:
                    break
            except socket.timeout:
                pass
        s.settimeout(timeout)
        try:
            b = s.recv(65536)
            if b:
                got.append(b[0])
        except (socket.timeout, OSError):
            pass
    except OSError:
        pass
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return "answers " + ",".join(str(x) for x in got)


def store_pdus(data, message_id=1):
    """A-ASSOCIATE-RQ, C-STORE command and data PDUs and A-RELEASE-RQ for a Part 10 file's bytes."""
    try:
        sop_class, sop, ts, offset = H.meta_of(data)
    except Exception:
        sop_class, sop, ts, offset = b"1.2.840.10008.5.1.4.1.1.2", b"1.2.3.4", b"1.2.840.10008.1.2.1", 132
    ds = data[offset:]
    out = [H.associate_rq(calling="FUZZ", abstract=sop_class or b"1.2", ts=(ts or H.IMPLICIT_LE,)),
           H.pdata(H.store_command(sop_class, sop, message_id), True, True)]
    chunk = 16000
    for i in range(0, max(len(ds), 1), chunk):
        out.append(H.pdata(ds[i:i + chunk], False, i + chunk >= len(ds)))
    out.append(b"\x05\x00" + struct.pack(">I", 4) + b"\0" * 4)
    return out


def one_case(r, fixtures):
    name = r.choice(list(fixtures))
    data = fixtures[name]
    kind = r.choice(["dataset", "dataset", "dataset", "associate", "pdata", "cut", "deep"])
    notes = [f"{kind} from {name}"]
    if kind == "dataset":
        d, n = M.mutate_dicom(r, data)
        notes += n
        return store_pdus(d), False, notes
    if kind == "deep":
        d, n = M.dicom_deep_nesting(r, data, M.walk(data)) or (data, "none")
        notes.append(n)
        return store_pdus(d), False, notes
    pdus = store_pdus(data)
    if kind == "associate":
        rq, n = M.generic(r, pdus[0])
        notes += n
        return [rq], r.random() < 0.5, notes
    if kind == "pdata":
        i = r.randrange(1, len(pdus))
        pdus[i], n = M.generic(r, pdus[i])
        notes += [f"PDU {i}: " + x for x in n]
        return pdus, False, notes
    raw = b"".join(pdus)
    cut = r.randrange(len(raw))
    notes.append(f"cut at {cut} of {len(raw)}")
    return [raw[:cut]], r.random() < 0.5, notes


def legit_store(root, port, source, n):
    """storescu of `source` with a new SOP Instance UID; True when it is stored under root."""
    import pydicom
    ds = pydicom.dcmread(source)
    uid = f"1.2.826.0.1.3680043.9.7777.{os.getpid()}.{n}"
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    tmp = os.path.join(os.path.dirname(root), f"legit-{n}.dcm")
    ds.save_as(tmp)
    r = subprocess.run(["storescu", "-aec", "I2", "-to", "20", "-ta", "20", "-td", "20", "127.0.0.1", str(port), tmp],
                       capture_output=True, text=True, timeout=90)
    os.unlink(tmp)
    for base, _, names in os.walk(root):
        if uid + ".dcm" in names:
            return True, ""
    return False, f"storescu exit {r.returncode}: {r.stderr.strip()[-300:]}"


def run(opts, i2, fix_dir, findings, summary_print):
    """Returns (counts dict, text)."""
    if not shutil.which("storescu"):
        sys.exit("fuzz: storescu not found: install DCMTK (bash scripts/install-deps.sh)")
    work = os.path.join(opts.work, "receive")
    shutil.rmtree(work, ignore_errors=True)
    root = os.path.join(work, "root")
    os.makedirs(root)
    fixtures = {f: open(os.path.join(fix_dir, f), "rb").read() for f in FIXTURES}
    legit = os.path.join(fix_dir, "dcmqi/23x38x3/image/IMG0001.dcm")
    rx = Receiver(i2, root, opts.as_limit_mb << 20)
    counts = {"tried": 0, "crash": 0, "lockout": 0, "memory": 0, "fd_leak": 0, "legit_ok": 0}
    t0 = time.monotonic()
    ok, why = legit_store(root, rx.port, legit, 0)
    time.sleep(0.5)
    fds0 = rx.fds()
    index = 0
    recent = []

    def finding(kind, detail):
        d = os.path.join(findings, f"receive-{kind}-{opts.seed}-{index}")
        os.makedirs(d, exist_ok=True)
        for k, (chunks, reset, notes) in enumerate(recent):
            with open(os.path.join(d, f"connection-{k}.bin"), "wb") as f:
                f.write(b"".join(chunks))
            with open(os.path.join(d, f"connection-{k}.txt"), "w") as f:
                f.write(f"reset={reset}\n" + "\n".join(notes) + "\n")
        with open(os.path.join(d, "result.txt"), "w") as f:
            f.write(detail + "\n")
        print(f"[receive {index}] {kind.upper()}: {detail} -> {d}", flush=True)

    while True:
        if opts.receive_runs and index >= opts.receive_runs:
            break
        if opts.receive_seconds and time.monotonic() - t0 >= opts.receive_seconds:
            break
        r = random.Random(f"{opts.seed}:receive:{index}")
        chunks, reset, notes = one_case(r, fixtures)
        recent = (recent + [(chunks, reset, notes)])[-5:]
        exchange(rx.port, chunks, reset)
        counts["tried"] += 1
        index += 1
        if not rx.alive():
            st = rx.p.returncode
            counts["crash"] += 1
            finding("crash", f"i2 receive ended with {'signal %d' % -st if st < 0 else 'status %d' % st}")
            rx.stop()
            rx = Receiver(i2, root, opts.as_limit_mb << 20)
            fds0 = rx.fds()
            continue
        if index % opts.check_every == 0:
            ok, why = legit_store(root, rx.port, legit, index)
            if ok:
                counts["legit_ok"] += 1
            else:
                counts["lockout"] += 1
                finding("lockout", "a legitimate storescu was not stored: " + why)
    ok, why = legit_store(root, rx.port, legit, index + 1)
    counts["legit_ok" if ok else "lockout"] += 1
    if not ok:
        finding("lockout", "final legitimate storescu was not stored: " + why)
    # Connections the fuzzer dropped may take the receiver's timeouts (5 s ACSE/DIMSE) to be released.
    deadline = time.monotonic() + 20
    while rx.fds() > fds0 and time.monotonic() < deadline:
        time.sleep(0.5)
    fds1 = rx.fds()
    rss = rx.peak_rss_kb()
    if fds1 > fds0:
        counts["fd_leak"] += 1
        finding("fd_leak", f"open fds {fds0} before, {fds1} after (settled 20 s)")
    if rss > opts.rss_limit_mb << 10:
        counts["memory"] += 1
        finding("memory", f"peak RSS {rss // 1024} MiB")
    rx.stop()
    seconds = time.monotonic() - t0
    text = (f"receive: {counts['tried']} hostile connections in {seconds:.0f} s; crashes {counts['crash']}, "
            f"lock-outs {counts['lockout']}, fd leaks {counts['fd_leak']} (fds {fds0} -> {fds1}), "
            f"over-memory {counts['memory']}; legitimate stores {counts['legit_ok']}; peak RSS {rss / 1024:.1f} MiB")
    counts["peak_rss_mib"] = round(rss / 1024, 1)
    counts["fds"] = [fds0, fds1]
    return counts, text
