#!/usr/bin/env python3
"""Generates COUNT small DICOM series with make_series.py in one process, for batch (manifest) tests and
benchmarks, and prints their directories, one per line (a manifest).

make_many_series.py SOURCE.dcm OUT_DIR COUNT [--slices N] [--size N] [--groups G]

Series i goes to OUT_DIR/gNN/sMMMM with NN = i % G and MMMM = i // G, so G directories share each
name (sMMMM): a batch's output names must keep them apart. Series i uses seed i + 1, so every series
has its own UIDs and pixels, and a second run writes the same bytes. An existing series directory is
left as it is (a re-run only adds what is missing).
"""
import argparse, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_series  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("source"); p.add_argument("out"); p.add_argument("count", type=int)
    p.add_argument("--slices", type=int, default=4)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--groups", type=int, default=20)
    a = p.parse_args()
    dirs = []
    for i in range(a.count):
        d = os.path.join(a.out, f"g{i % a.groups:02d}", f"s{i // a.groups:04d}")
        dirs.append(d)
        if os.path.isdir(d) and len(os.listdir(d)) == a.slices:
            continue
        sys.argv = ["make_series.py", a.source, d, "--slices", str(a.slices), "--size", str(a.size), "--seed", str(i + 1)]
        make_series.main()
    sys.stdout.write("".join(d + "\n" for d in dirs))


if __name__ == "__main__":
    sys.exit(main())
