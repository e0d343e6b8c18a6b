#!/usr/bin/env python3
"""The measuring half of convert.sh: runs i2 and dcm2niix on each NAME=DIR input, RUNS times per case.

Each run writes into a fresh directory; wall time from perf_counter, peak RSS from one more run under
/usr/bin/time. Prints one line per
tool and case (median time, min, peak RSS, exit status, output) and the i2/dcm2niix ratio, then a summary
table. A non-zero exit status is reported, not fatal: a corpus can hold data one tool refuses.
"""
import argparse, os, shutil, statistics, subprocess, sys, time

def run_once(cmd, out, work):
    """Wall time of one run (perf_counter: /usr/bin/time's 10 ms steps made a 5 ms run 0.00 s)."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(work, "log"), "w") as log:
        start = time.perf_counter()
        status = subprocess.call(cmd, stdout=log, stderr=log)
        return time.perf_counter() - start, status


def peak_rss(cmd, out, work):
    """Peak RSS of one more run, under /usr/bin/time (wait4 in Python would count the forked interpreter)."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tfile = os.path.join(work, "time")
    with open(os.path.join(work, "log"), "w") as log:
        subprocess.call(["/usr/bin/time", "-f", "%M", "-o", tfile] + cmd, stdout=log, stderr=log)
    with open(tfile) as f:
        return int(f.read().strip().splitlines()[-1]) * 1024   # time prefixes a line for a non-zero exit


def outputs(out):
    sizes = {}
    for root, _, files in os.walk(out):
        for n in files:
            if n.endswith((".nii", ".nii.gz")):
                sizes[n] = os.path.getsize(os.path.join(root, n))
    return sizes


def nii_volume_bytes(out):
    """Largest image in bytes (voxels x bytes per voxel) among the .nii/.nii.gz outputs, from their headers."""
    import gzip, struct
    best = 0
    for root, _, files in os.walk(out):
        for n in files:
            if not n.endswith((".nii", ".nii.gz")):
                continue
            p = os.path.join(root, n)
            with (gzip.open(p, "rb") if n.endswith(".gz") else open(p, "rb")) as f:
                h = f.read(348)
            if len(h) < 348:
                continue
            dim = struct.unpack("<8h", h[40:56])
            bitpix = struct.unpack("<h", h[72:74])[0]
            voxels = 1
            for k in range(1, min(dim[0], 7) + 1):
                voxels *= max(dim[k], 1)
            best = max(best, voxels * bitpix // 8)
    return best


def measure(label, cmd, out, work, runs):
    times, mems, statuses = [], [], []
    for _ in range(runs):
        t, s = run_once(cmd, out, work)
        times.append(t); statuses.append(s)
    mems.append(peak_rss(cmd, out, work))
    files = outputs(out)
    vol = nii_volume_bytes(out)
    med = statistics.median(times)
    status = "ok" if all(s == 0 for s in statuses) else f"exit {sorted(set(statuses))}"
    print(f"  {label:<22} median {med:7.3f} s (min {min(times):6.3f})  peak {max(mems)/2**20:7.1f} MiB"
          f"  {len(files):4d} images, largest {vol/2**20:7.1f} MiB = {max(mems)/vol if vol else float('nan'):5.2f}x  {status}",
          flush=True)
    return med, max(mems), vol, status


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--i2", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--only", default="")
    p.add_argument("inputs", nargs="+")
    a = p.parse_args()
    print(f"i2 convert vs dcm2niix, {a.runs} runs each, {os.cpu_count()} cores; ratio = median(i2) / median(dcm2niix)")
    summary = []
    for spec in a.inputs:
        name, d = spec.split("=", 1)
        if a.only and a.only not in name:
            continue
        subprocess.run(["sh", "-c", f"find '{d}' -type f -exec cat {{}} + > /dev/null"])   # warm the page cache alike
        print(f"== {name} ({d})", flush=True)
        out = os.path.join(a.work, "out")
        for ext, i2fmt, z in (("nii", "nii", "n"), ("nii.gz", "nii.gz", "y")):
            ti, mi, vi, si = measure(f"i2 .{ext}", [a.i2, "convert", "--format", i2fmt, d, out + "/"], out, a.work, a.runs)
            td, md, vd, sd = measure(f"dcm2niix -z {z}", ["dcm2niix", "-z", z, "-f", "%p_%s", "-o", out, d], out, a.work, a.runs)
            ratio = ti / td if td > 0 else float("nan")
            print(f"  ratio .{ext}: {ratio:.2f}  (target <= 1.0)   i2 peak / largest volume: {mi / vi if vi else float('nan'):.2f}x (target <= 1.5)", flush=True)
            summary.append((name, ext, ti, td, ratio, mi, md, vi, si, sd))
    print("\nsummary")
    print(f"{'input':<16} {'out':<7} {'i2 s':>8} {'d2n s':>8} {'ratio':>6} {'i2 MiB':>8} {'d2n MiB':>8} {'vol MiB':>8} {'i2/vol':>6}  status")
    for name, ext, ti, td, r, mi, md, vi, si, sd in summary:
        print(f"{name:<16} {ext:<7} {ti:8.3f} {td:8.3f} {r:6.2f} {mi/2**20:8.1f} {md/2**20:8.1f} {vi/2**20:8.1f} "
              f"{(mi / vi if vi else float('nan')):6.2f}  i2 {si}, dcm2niix {sd}")


if __name__ == "__main__":
    main()
