#!/usr/bin/env python3
"""Compare i2's JSON sidecars with dcm2niix's, key by key, per corpus.

usage: sidecar-compare.py I2_OUT_DIR DCM2NIIX_OUT_DIR [--verbose]

Each dcm2niix JSON is matched with the i2 JSON of the same SeriesNumber (and, among several, the one
sharing most values: echo, phase). Numbers are equal within 1e-5 relative (dcm2niix prints %g; slice times within 0.02 ms);
lists element-wise. Prints per series the keys missing in i2 and the keys that differ, then the summary
'keys: E equal, M missing, D different of N'. Keys i2 writes differently on purpose are not counted:
ConversionSoftware, ConversionSoftwareVersion.
"""
import glob, json, os, sys

IGNORED = {"ConversionSoftware", "ConversionSoftwareVersion"}


def same(a, b, key=""):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if key == "SliceTiming":   # dcm2niix rounds slice times to 0.01 ms
            return abs(a - b) <= 2e-5
        return abs(a - b) <= 1e-5 * max(abs(a), abs(b)) or abs(a - b) < 1e-9
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, key) for x, y in zip(a, b))
    return a == b


def load(d):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "**", "*.json"), recursive=True)):
        try:
            out.append((f, json.load(open(f))))
        except Exception:
            pass
    return out


def main():
    i2dir, refdir = sys.argv[1], sys.argv[2]
    verbose = "--verbose" in sys.argv
    mine = load(i2dir)
    totals = [0, 0, 0, 0]
    for rf, ref in load(refdir):
        cands = [(f, j) for f, j in mine if j.get("SeriesNumber") == ref.get("SeriesNumber")]
        name = os.path.basename(rf)
        if not cands:
            print(f"{name}: NO i2 OUTPUT")
            continue
        f, j = max(cands, key=lambda c: sum(1 for k in ref if k in c[1] and same(ref[k], c[1][k], k)))
        keys = [k for k in ref if k not in IGNORED]
        missing = [k for k in keys if k not in j]
        diff = [k for k in keys if k in j and not same(ref[k], j[k], k)]
        equal = len(keys) - len(missing) - len(diff)
        totals[0] += equal; totals[1] += len(missing); totals[2] += len(diff); totals[3] += len(keys)
        status = "SAME" if not missing and not diff else f"missing {missing} different {diff}"
        print(f"{name} vs {os.path.basename(f)}: {equal}/{len(keys)} {status}")
        if verbose:
            for k in diff:
                print(f"    {k}: dcm2niix {json.dumps(ref[k])[:150]} i2 {json.dumps(j[k])[:150]}")
    print(f"keys: {totals[0]} equal, {totals[1]} missing, {totals[2]} different of {totals[3]}")


if __name__ == "__main__":
    main()
