#!/usr/bin/env python3
"""Mutation fuzzer for i2 (issue 11): mutates the fixtures under Tests/Fixtures (DICOM classic, enhanced,
SEG, JPEG 2000, mosaic; NIfTI, NRRD/NHDR, MetaImage, NumPy made from them by `i2 convert`) and runs the
real i2 binary on each mutated input, checking the contract every run:

  crash       killed by a signal, or a Swift/C++ runtime failure on stderr
  hang        still running after --timeout seconds (and again after 3x that)
  memory      peak RSS above --rss-limit-mb, or an allocation refused under RLIMIT_AS (--as-limit-mb)
  oracle      an exit status outside the command's documented ones; exit 0 with an error line; failure
              without exactly one error line naming the input (several for a series); files left in
              the output folder by a failed run, or not printed on stdout; temporaries left behind

Every finding is saved under --findings (the inputs, case.json with the command and how the inputs were
made, result.txt with what happened); `--replay DIR` runs saved cases again (Tests/Fuzz/regressions is
replayed by the CI run). See Tests/Fuzz/README.md."""
import argparse, hashlib, json, os, random, re, resource, shutil, signal, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
sys.path.insert(0, HERE)
import mutators as M  # noqa: E402

# ---- seeds ------------------------------------------------------------------------------------------

# DICOM inputs of convert: (name, files relative to Tests/Fixtures). A series is kept whole; one or two
# of its files are mutated per run.
DICOM_SERIES = [
    ("ct-23x38x3", ["dcmqi/23x38x3/image/IMG0001.dcm", "dcmqi/23x38x3/image/IMG0002.dcm", "dcmqi/23x38x3/image/IMG0003.dcm"]),
    ("ct-24x38x3", ["dcmqi/24x38x3/image/IMG0001.dcm", "dcmqi/24x38x3/image/IMG0002.dcm", "dcmqi/24x38x3/image/IMG0003.dcm"]),
    ("enhanced-ct", ["dcmqi/23x38x3/multiframe/mf.dcm"]),
    ("pydicom-ct2", ["pydicom-ct2/17106", "pydicom-ct2/17136", "pydicom-ct2/17166", "pydicom-ct2/17196"]),
    ("j2k-frag-bot", ["dcm_qa/j2k/frag-bot.dcm"]),
    ("j2k-frag-nobot", ["dcm_qa/j2k/frag-nobot.dcm"]),
    ("j2k-rgb", ["dcm_qa/j2k/rgb.dcm"]),
    ("rgb-raw", ["dcm_qa/j2k/rgb-raw.dcm"]),
    ("xa-enhanced", ["dcm_qa/j2k/original.dcm"]),
    ("highdicom-ct", ["highdicom/ct_image.dcm"]),
    ("mosaic", ["dcm_qa/dcm_qa_ts/1.dcm"]),
    ("mosaic-j2k", ["dcm_qa/dcm_qa_ts/9.dcm"]),
    ("ge-epi-vol1", ["dcm_qa/nih-ge/mr_0004/axial_epi_fmri_interleaved_i_to_s-%05d.dcm" % i for i in range(1, 16)]),
    ("me-fieldmap", ["dcm_qa/me/2_me_FieldMap_GRE/%04d.dcm" % i for i in range(1, 6)] +
     ["dcm_qa/me/2_me_FieldMap_GRE/%04d_e2.dcm" % i for i in range(1, 6)]),
    ("philips-enhanced", ["dcm_qa_enh/Philips/IM_0027_fMAP.dcm"]),
]
# SEGs with the series they were made from (for --ref).
SEGS = [
    ("dcmqi-23x38x3", "dcmqi/23x38x3/seg/label.seg", "dcmqi/23x38x3/image"),
    ("dcmqi-24x38x3", "dcmqi/24x38x3/seg/label.seg", "dcmqi/24x38x3/image"),
    ("hd-binary", "highdicom/seg_image_ct_binary.dcm", "pydicom-ct2"),
    ("hd-overlap", "highdicom/seg_image_ct_binary_overlap.dcm", "pydicom-ct2"),
    ("hd-fractional", "highdicom/seg_image_ct_true_fractional.dcm", "pydicom-ct2"),
    ("hd-fractional-j2k", "highdicom/seg_image_ct_true_fractional_j2k.dcm", "pydicom-ct2"),
    ("hd-single-frame", "highdicom/seg_image_ct_binary_single_frame.dcm", None),
    ("dcmqi-labelmap-noppv", "dcmqi/sparse-labelmap-noppv.dcm", None),
]
IMAGE_FORMATS = ["nii", "nii.gz", "nrrd", "nhdr", "mha", "mhd", "npy"]
OUT_FORMATS = ["nii", "nii.gz", "nrrd", "nhdr", "mha", "mhd", "npy"]
NIFTI2SEG_REF = "dcmqi/23x38x3/image"
NIFTI2SEG_META = "i2/seg-four-labels.json"


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Seeds:
    """Fixture bytes, plus image files in every format made from fixtures by `i2 convert` (into DIR)."""

    def __init__(self, i2, dir):
        self.dir = dir
        self.cache = {}
        made = os.path.join(dir, ".complete")
        if not os.path.exists(made):
            shutil.rmtree(dir, ignore_errors=True)
            os.makedirs(dir)
            sources = {"image": os.path.join(FIX, "dcmqi/23x38x3/image"),
                       "label": os.path.join(FIX, "dcmqi/23x38x3/nrrd/label.nrrd"),
                       "rgb": os.path.join(FIX, "dcm_qa/j2k/rgb-raw.dcm")}
            for name, src in sources.items():
                for fmt in IMAGE_FORMATS:
                    sub = os.path.join(dir, f"{name}-{fmt.replace('.', '')}")
                    os.makedirs(sub)
                    r = subprocess.run([i2, "convert", "--no-sidecar", src, "-o", os.path.join(sub, f"{name}.{fmt}")],
                                       capture_output=True, text=True)
                    if r.returncode != 0:
                        sys.exit(f"fuzz: cannot make the {fmt} seed from {src}: {r.stderr.strip()}")
            open(made, "w").close()
        self.images = sorted(d for d in os.listdir(dir) if not d.startswith("."))

    def fixture(self, rel):
        p = os.path.join(FIX, rel)
        if p not in self.cache:
            self.cache[p] = read(p)
        return self.cache[p]

    def fixture_dir(self, rel):
        d = os.path.join(FIX, rel)
        return {n: self.fixture(os.path.join(rel, n)) for n in sorted(os.listdir(d)) if not n.startswith(".")}

    def image(self, name):
        """{file name: bytes} of one generated image seed (a detached header comes with its data file)."""
        d = os.path.join(self.dir, name)
        return {n: read(os.path.join(d, n)) for n in sorted(os.listdir(d))}


# ---- cases ------------------------------------------------------------------------------------------

class Case:
    """Files to lay out in a fresh folder, the i2 arguments ({case} = that folder), and what the oracle
    needs: which allowed statuses, whether one input (exactly one error line) or a series."""

    def __init__(self, target, files, args, inputs, single, statuses=(0, 1), notes=None, out="out"):
        self.target, self.files, self.args, self.inputs = target, files, args, inputs
        self.single, self.statuses, self.notes, self.out = single, tuple(statuses), notes or [], out

    def manifest(self):
        return {"target": self.target, "args": self.args, "inputs": self.inputs, "single": self.single,
                "statuses": list(self.statuses), "notes": self.notes, "out": self.out}

    @staticmethod
    def load(d):
        m = json.load(open(os.path.join(d, "case.json")))
        files = {}
        for base, _, names in os.walk(os.path.join(d, "files")):
            for n in names:
                p = os.path.join(base, n)
                files[os.path.relpath(p, os.path.join(d, "files"))] = read(p)
        return Case(m["target"], files, m["args"], m["inputs"], m["single"], m["statuses"], m["notes"], m["out"])


def mutate_image_file(r, name, data):
    if name.endswith(".nii.gz"):
        return M.mutate_nifti(r, data, True)
    if name.endswith(".nii"):
        return M.mutate_nifti(r, data, False)
    if name.endswith(".nrrd"):
        return M.mutate_text_header(r, data, "nrrd")
    if name.endswith(".nhdr"):
        return M.mutate_text_header(r, data, "nhdr")
    if name.endswith(".mha"):
        return M.mutate_text_header(r, data, "mha")
    if name.endswith(".mhd"):
        return M.mutate_text_header(r, data, "mhd")
    if name.endswith(".npy"):
        return M.mutate_npy(r, data)
    return M.generic(r, data)


def image_file(files):
    return next(n for n in sorted(files) if any(n.endswith("." + f) for f in IMAGE_FORMATS))


def mutated_image(r, seeds, kind=None):
    """A mutated image seed: {in/NAME: bytes}, the main file's name, notes."""
    choices = [s for s in seeds.images if kind is None or s.startswith(kind)]
    seed = r.choice(choices)
    files = seeds.image(seed)
    main = image_file(files)
    # a detached header's data file (or the NumPy sidecar) is mutated now and then instead of the header
    target = main if len(files) == 1 or r.random() < 0.8 else next(n for n in files if n != main)
    if target.endswith(".raw"):
        data, notes = M.generic(r, files[target])
    elif target.endswith(".json"):
        data, notes = M.mutate_json(r, files[target])
    else:
        data, notes = mutate_image_file(r, target, files[target])
    files[target] = data
    return {"in/" + n: b for n, b in files.items()}, main, [f"seed {seed}", f"mutated {target}"] + notes


def mutated_series(r, seeds, files_rel, name):
    """{in/...: bytes} of a series with one or two mutated members."""
    files = {"in/" + os.path.basename(f): seeds.fixture(f) for f in files_rel}
    keys = sorted(files)
    picks = r.sample(keys, min(len(keys), r.choice([1, 1, 1, 2])))
    notes = [f"seed {name}"]
    for k in picks:
        files[k], n = M.mutate_dicom(r, files[k])
        notes.append(f"mutated {k}: " + "; ".join(n))
    if len(keys) > 1 and r.random() < 0.05:  # a missing member as well
        gone = r.choice([k for k in keys if k not in picks] or keys)
        files.pop(gone, None)
        notes.append(f"removed {gone}")
    return files, notes


def t_convert_dicom(r, seeds):
    name, rel = r.choice(DICOM_SERIES)
    files, notes = mutated_series(r, seeds, rel, name)
    fmt = r.choice(OUT_FORMATS)
    extra = ["--equalize"] if r.random() < 0.2 else []
    return Case("convert-dicom", files, ["convert"] + extra + ["{case}/in", "-o", "{case}/out/", "-f", fmt], ["in"], False, notes=notes)


def t_convert_list(r, seeds):
    name, rel = r.choice(DICOM_SERIES)
    files, notes = mutated_series(r, seeds, rel, name)
    return Case("convert-list", files, ["convert", "--list", "{case}/in"], ["in"], False, notes=notes)


def t_convert_image(r, seeds):
    files, main, notes = mutated_image(r, seeds)
    fmt = r.choice(["nii", "nrrd", "nii.gz", "mha", "npy"])
    return Case("convert-image", files, ["convert", "{case}/in/" + main, "-o", "{case}/out/x." + fmt], ["in"], True, notes=notes)


def t_seg2nifti(r, seeds):
    name, seg, ref = r.choice(SEGS)
    data, notes = M.mutate_dicom(r, seeds.fixture(seg))
    files = {"in/seg.dcm": data}
    args = ["seg2nifti", "{case}/in/seg.dcm", "-o", "{case}/out/x." + r.choice(["nii", "nii.gz", "nrrd"])]
    if ref and r.random() < 0.5:
        files.update({"ref/" + n: b for n, b in seeds.fixture_dir(ref).items()})
        args += ["--ref", "{case}/ref"]
        notes.append("with --ref")
    if r.random() < 0.2:
        args.append("--per-segment")
    return Case("seg2nifti", files, args, ["in"], True, notes=[f"seed {name}"] + notes)


def t_seg2nifti_badref(r, seeds):
    name, seg, ref = r.choice([s for s in SEGS if s[2]])
    rel = [os.path.join(ref, n) for n in seeds.fixture_dir(ref)]
    files, notes = mutated_series(r, seeds, rel, ref)
    files = {"ref/" + k[3:]: v for k, v in files.items()}
    files["in/seg.dcm"] = seeds.fixture(seg)
    args = ["seg2nifti", "{case}/in/seg.dcm", "-o", "{case}/out/x.nii", "--ref", "{case}/ref"]
    return Case("seg2nifti-badref", files, args, ["in", "ref"], False, notes=[f"seed {name}"] + notes)


def _nifti2seg_args(r):
    args = ["nifti2seg", "{case}/in/LABEL", "--ref", "{case}/ref", "--meta", "{fixtures}/" + NIFTI2SEG_META,
            "-o", "{case}/out/seg.dcm", "--unknown-labels", r.choice(["error", "generic"])]
    if r.random() < 0.3:
        args += ["--compress", "rle"]
    if r.random() < 0.2:
        args += ["--type", r.choice(["binary", "labelmap"])]
    return args


def t_nifti2seg_label(r, seeds):
    files, main, notes = mutated_image(r, seeds, "label")
    files.update({"ref/" + n: b for n, b in seeds.fixture_dir(NIFTI2SEG_REF).items()})
    args = [a.replace("LABEL", main) for a in _nifti2seg_args(r)]
    return Case("nifti2seg-label", files, args, ["in"], True, statuses=(0, 1, 5), notes=notes)


def t_nifti2seg_ref(r, seeds):
    rel = [os.path.join(NIFTI2SEG_REF, n) for n in seeds.fixture_dir(NIFTI2SEG_REF)]
    files, notes = mutated_series(r, seeds, rel, NIFTI2SEG_REF)
    files = {"ref/" + k[3:]: v for k, v in files.items()}
    seed = r.choice([s for s in seeds.images if s.startswith("label")])
    lab = seeds.image(seed)
    main = image_file(lab)
    files.update({"in/" + n: b for n, b in lab.items()})
    args = [a.replace("LABEL", main) for a in _nifti2seg_args(r)]
    return Case("nifti2seg-ref", files, args, ["in", "ref"], False, statuses=(0, 1, 5), notes=[f"label {seed}"] + notes)


TARGETS = {
    "convert-dicom": (t_convert_dicom, 30),
    "convert-list": (t_convert_list, 8),
    "convert-image": (t_convert_image, 25),
    "seg2nifti": (t_seg2nifti, 20),
    "seg2nifti-badref": (t_seg2nifti_badref, 5),
    "nifti2seg-label": (t_nifti2seg_label, 8),
    "nifti2seg-ref": (t_nifti2seg_ref, 4),
}

# ---- running and judging ----------------------------------------------------------------------------


class Result:
    def __init__(self, status, signal_, seconds, rss_kb, stdout, stderr, timed_out):
        self.status, self.signal, self.seconds, self.rss_kb = status, signal_, seconds, rss_kb
        self.stdout, self.stderr, self.timed_out = stdout, stderr, timed_out


def run_i2(i2, args, timeout, as_limit, cwd):
    def limits():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    out_path, err_path = os.path.join(cwd, ".stdout"), os.path.join(cwd, ".stderr")
    with open(out_path, "wb") as so, open(err_path, "wb") as se:
        t0 = time.monotonic()
        p = subprocess.Popen([i2] + args, stdin=subprocess.DEVNULL, stdout=so, stderr=se, preexec_fn=limits,
                             cwd=cwd, env=dict(os.environ, LC_ALL="C"))
        timed_out = False
        delay = 0.002
        while True:
            pid, st, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > timeout:
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)  # the group of the child started above, nothing else
                pid, st, ru = os.wait4(p.pid, 0)
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        p.returncode = 0  # reaped here; keep Popen from waiting again
        seconds = time.monotonic() - t0
    stdout = read(out_path).decode("utf-8", "replace")
    stderr = read(err_path).decode("utf-8", "replace")
    os.unlink(out_path)
    os.unlink(err_path)
    sig = os.WTERMSIG(st) if os.WIFSIGNALED(st) else 0
    status = os.WEXITSTATUS(st) if os.WIFEXITED(st) else None
    return Result(status, sig, seconds, ru.ru_maxrss, stdout, stderr, timed_out)


RUNTIME_FAILURE = re.compile(r"Fatal error|Assertion failed|Illegal instruction|Segmentation fault|terminate called|"
                             r"Stack dump|Abort|std::bad_alloc|double free|heap-buffer|AddressSanitizer|"
                             r"Current stack trace|Precondition failed|Unexpectedly found nil")
OUT_OF_MEMORY = re.compile(r"bad_alloc|Cannot allocate|failed to allocate|out of memory|allocation", re.I)
LEFTOVER = re.compile(r"(^\.)|tmp|~$|\.part$")


def listing(d):
    out = []
    for base, dirs, names in os.walk(d):
        for n in dirs + names:
            out.append(os.path.relpath(os.path.join(base, n), d))
    return sorted(out)


def judge(case, res, casedir, rss_limit_kb):
    """(category or None, reasons)."""
    reasons = []
    category = None
    if res.timed_out:
        return "hang", [f"still running after {res.seconds:.1f} s"]
    if res.signal:
        category = "memory" if OUT_OF_MEMORY.search(res.stderr) else "crash"
        reasons.append(f"killed by signal {res.signal} ({signal.Signals(res.signal).name})")
    elif RUNTIME_FAILURE.search(res.stderr):
        category = "crash"
        reasons.append("runtime failure on stderr: " + RUNTIME_FAILURE.search(res.stderr).group(0))
    if res.rss_kb > rss_limit_kb:
        category = category or "memory"
        reasons.append(f"peak RSS {res.rss_kb // 1024} MiB > {rss_limit_kb // 1024} MiB")
    if category:
        return category, reasons

    errors = [l for l in res.stderr.splitlines() if l.startswith("i2: error:")]
    inputs = [os.path.join(casedir, i) for i in case.inputs]
    outdir = os.path.join(casedir, case.out)
    present = listing(outdir) if os.path.isdir(outdir) else []
    printed = [l for l in res.stdout.splitlines() if l.strip()]
    if res.status not in case.statuses:
        reasons.append(f"exit status {res.status}, expected one of {list(case.statuses)}")
    if res.status == 0:
        if errors:
            reasons.append(f"exit 0 with {len(errors)} error line(s): {errors[0]}")
        if case.target != "convert-list":
            if not printed:
                reasons.append("exit 0 but nothing printed on stdout")
            for p in printed:
                if not os.path.exists(p):
                    reasons.append(f"printed path does not exist: {p}")
    else:
        if not errors:
            reasons.append(f"exit {res.status} without an error line")
        elif case.single and len(errors) != 1:
            reasons.append(f"{len(errors)} error lines for one input")
        for e in errors:
            if not any(i in e for i in inputs):
                reasons.append(f"error line names no input: {e[:300]}")
                break
        if case.single and present:
            reasons.append(f"failed run left output: {present[:5]}")
    leftovers = [p for p in present if LEFTOVER.search(os.path.basename(p))]
    if leftovers:
        reasons.append(f"temporaries left in the output folder: {leftovers[:5]}")
    unannounced = [p for p in present if os.path.isfile(os.path.join(outdir, p))
                   and os.path.join(outdir, p) not in printed and not LEFTOVER.search(os.path.basename(p))]
    if unannounced and case.target != "convert-list":
        reasons.append(f"files in the output folder not printed on stdout: {unannounced[:5]}")
    return ("oracle" if reasons else None), reasons


def lay_out(case, casedir):
    shutil.rmtree(casedir, ignore_errors=True)
    for rel, data in case.files.items():
        p = os.path.join(casedir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(casedir, case.out), exist_ok=True)


def execute(i2, case, casedir, opts):
    lay_out(case, casedir)
    args = [a.replace("{case}", casedir).replace("{fixtures}", FIX) for a in case.args]
    res = run_i2(i2, args, opts.timeout, opts.as_limit_mb << 20, casedir)
    if res.timed_out:  # a slow machine is not a hang: once more with three times the time
        lay_out(case, casedir)
        res = run_i2(i2, args, 3 * opts.timeout, opts.as_limit_mb << 20, casedir)
    category, reasons = judge(case, res, casedir, opts.rss_limit_mb << 10)
    return res, category, reasons


def signature(case, category, reasons, res):
    """What makes two findings the same bug (for deduplication): target, category, the first reason and
    the first error line with paths and numbers blanked."""
    first = re.sub(r"/\S+", "PATH", reasons[0]) if reasons else ""
    first = re.sub(r"\d+", "N", first)
    err = next((l for l in res.stderr.splitlines() if "error" in l), "")
    err = re.sub(r"\d+", "N", re.sub(r"/\S+", "PATH", err))[:120]
    seed = case.notes[0] if case.notes else ""
    return f"{case.target}|{category}|{first}|{err if category == 'oracle' else seed}"


def write_case(d, case, extra=None):
    """A case as a folder: files/ (the inputs) and case.json (command and oracle); what --replay reads."""
    os.makedirs(os.path.join(d, "files"))
    for rel, data in case.files.items():
        p = os.path.join(d, "files", rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    m = case.manifest()
    m.update(extra or {})
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(m, f, indent=1)
        f.write("\n")


def save_finding(findings, case, casedir, category, reasons, res, seed, index):
    sig = signature(case, category, reasons, res)
    key = hashlib.sha1(sig.encode()).hexdigest()[:10]
    d = os.path.join(findings, f"{category}-{case.target}-{key}")
    if os.path.exists(d):
        with open(os.path.join(d, "count"), "a") as f:
            f.write(f"{seed}:{index}\n")
        return d, False
    write_case(d, case, {"seed": seed, "index": index, "category": category, "reasons": reasons, "signature": sig})
    with open(os.path.join(d, "result.txt"), "w") as f:
        f.write(f"command: i2 {' '.join(a.replace('{case}', casedir) for a in case.args)}\n")
        f.write(f"status {res.status} signal {res.signal} seconds {res.seconds:.2f} peak RSS {res.rss_kb} KiB\n")
        f.write("reasons:\n" + "".join(f"  {x}\n" for x in reasons))
        f.write("--- stdout\n" + res.stdout[:4000] + "\n--- stderr\n" + res.stderr[:8000] + "\n")
    with open(os.path.join(d, "count"), "w") as f:
        f.write(f"{seed}:{index}\n")
    return d, True


class Summary:
    def __init__(self):
        self.tried = 0
        self.by_target = {}
        self.counts = {"crash": 0, "hang": 0, "memory": 0, "oracle": 0}
        self.unique = {}
        self.peak_rss_kb = 0
        self.peak_case = ""
        self.slowest = 0.0
        self.statuses = {}

    def add(self, case, res, category, finding):
        self.tried += 1
        t = self.by_target.setdefault(case.target, {"runs": 0, "findings": 0})
        t["runs"] += 1
        key = "signal %d" % res.signal if res.signal else ("timeout" if res.timed_out else "exit %s" % res.status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if res.rss_kb > self.peak_rss_kb:
            self.peak_rss_kb, self.peak_case = res.rss_kb, case.target
        self.slowest = max(self.slowest, res.seconds)
        if category:
            self.counts[category] += 1
            t["findings"] += 1
            self.unique[finding] = category

    def findings(self):
        return sum(self.counts.values())

    def text(self, seconds):
        lines = [f"inputs tried: {self.tried} in {seconds:.0f} s",
                 "crashes: {crash}  hangs: {hang}  over-memory: {memory}  other oracle failures: {oracle}".format(**self.counts),
                 f"distinct findings: {len(self.unique)}",
                 f"peak RSS: {self.peak_rss_kb / 1024:.1f} MiB ({self.peak_case}); slowest run {self.slowest:.1f} s",
                 "exit statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())),
                 "per target: " + ", ".join(f"{k} {v['runs']} runs/{v['findings']} findings" for k, v in sorted(self.by_target.items()))]
        lines += [f"  {c}: {d}" for d, c in sorted(self.unique.items())]
        return "\n".join(lines)

    def json(self, seconds):
        return {"tried": self.tried, "seconds": round(seconds, 1), **self.counts, "distinct": len(self.unique),
                "peak_rss_mib": round(self.peak_rss_kb / 1024, 1), "slowest_s": round(self.slowest, 2),
                "statuses": self.statuses, "by_target": self.by_target, "findings": self.unique}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--i2", default=os.path.join(ROOT, ".build", "debug", "i2"), help="the i2 binary under test")
    ap.add_argument("--seed", type=int, default=1, help="random seed (same seed, same inputs)")
    ap.add_argument("--runs", type=int, default=0, help="stop after this many runs (0: no limit)")
    ap.add_argument("--budget-seconds", type=float, default=60, help="stop after this long (0: no limit)")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated: " + ", ".join(TARGETS))
    ap.add_argument("--work", default="/tmp/i2-fuzz", help="scratch folder (seeds are kept there between runs)")
    ap.add_argument("--seeds", help="folder of generated seeds to reuse (default WORK/seeds)")
    ap.add_argument("--findings", help="where failing inputs are saved (default WORK/findings)")
    ap.add_argument("--timeout", type=float, default=10, help="seconds per run before it counts as a hang (it is retried once with 3x)")
    ap.add_argument("--rss-limit-mb", type=int, default=1024, help="peak RSS above this is a finding")
    ap.add_argument("--as-limit-mb", type=int, default=4096, help="RLIMIT_AS of each run (an unbounded allocation fails instead of taking the machine down)")
    ap.add_argument("--replay", action="append", default=[], help="run the saved cases under DIR (each DIR/*/case.json) first")
    ap.add_argument("--receive-seconds", type=float, default=0, help="also fuzz `i2 receive` over the network this long (0: not)")
    ap.add_argument("--receive-runs", type=int, default=0, help="... or for this many hostile connections")
    ap.add_argument("--check-every", type=int, default=25, help="a legitimate storescu after every N hostile connections")
    ap.add_argument("--json", help="write the summary as JSON to this file")
    ap.add_argument("--quiet", action="store_true")
    opts = ap.parse_args()

    i2 = os.path.abspath(opts.i2)
    if not os.access(i2, os.X_OK):
        sys.exit(f"fuzz: no i2 binary at {i2} (swift build first, or --i2 PATH)")
    os.makedirs(opts.work, exist_ok=True)
    findings = opts.findings or os.path.join(opts.work, "findings")
    os.makedirs(findings, exist_ok=True)
    casedir = os.path.join(opts.work, "case")
    summary = Summary()
    t0 = time.monotonic()

    def record(case, res, category, reasons, seed, index):
        finding = None
        if category:
            finding, new = save_finding(findings, case, casedir, category, reasons, res, seed, index)
            if not opts.quiet or new:
                print(f"[{index}] {category.upper()} {case.target}: {'; '.join(reasons)[:300]} -> {finding}", flush=True)
        summary.add(case, res, category, finding)

    for rdir in opts.replay:
        for name in sorted(os.listdir(rdir)):
            d = os.path.join(rdir, name)
            if not os.path.exists(os.path.join(d, "case.json")):
                continue
            case = Case.load(d)
            res, category, reasons = execute(i2, case, casedir, opts)
            record(case, res, category, reasons, "replay", name)

    seeds = Seeds(i2, opts.seeds or os.path.join(opts.work, "seeds"))
    chosen = [t.strip() for t in opts.targets.split(",") if t.strip()]
    for t in chosen:
        if t not in TARGETS:
            sys.exit(f"fuzz: unknown target {t}; known: {', '.join(TARGETS)}")
    table = [(TARGETS[t][0], TARGETS[t][1]) for t in chosen]
    index = 0
    stopped = []
    # SIGTERM/SIGINT end the run after the input in hand, with the summary (a killed long run still reports).
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopped.append(1))
    while not stopped:
        if opts.runs and index >= opts.runs:
            break
        if opts.budget_seconds and time.monotonic() - t0 >= opts.budget_seconds:
            break
        # each run from its own generator: run N of seed S is the same input whatever ran before
        r = random.Random(f"{opts.seed}:{index}")
        case = M._weighted(r, table)(r, seeds)
        res, category, reasons = execute(i2, case, casedir, opts)
        record(case, res, category, reasons, opts.seed, index)
        index += 1
        if not opts.quiet and index % 100 == 0:
            print(f"... {index} runs, {summary.findings()} findings, {time.monotonic() - t0:.0f} s", flush=True)
    shutil.rmtree(casedir, ignore_errors=True)
    seconds = time.monotonic() - t0
    print(summary.text(seconds), flush=True)
    failed = summary.findings()
    report = summary.json(seconds)
    if opts.receive_seconds or opts.receive_runs:
        import fuzz_receive
        counts, text = fuzz_receive.run(opts, i2, FIX, findings, print)
        print(text, flush=True)
        report["receive"] = counts
        failed += counts["crash"] + counts["lockout"] + counts["fd_leak"] + counts["memory"]
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
