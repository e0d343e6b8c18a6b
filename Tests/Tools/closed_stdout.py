#!/usr/bin/env python3
"""Runs a command whose stdout is a pipe with no reader (closed before the command starts).

closed_stdout.py default|ignore COMMAND [ARG...]

default: the command starts with SIGPIPE at its default action; ignore: with SIGPIPE ignored (writes then
fail with EPIPE). The command's stderr is passed through; the last line on stdout is "status=N"
(N < 0: killed by signal -N, as subprocess reports it).
"""
import os, signal, subprocess, sys


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("default", "ignore"):
        print(__doc__, file=sys.stderr)
        return 2
    r, w = os.pipe()
    os.close(r)
    pre = (lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN)) if sys.argv[1] == "ignore" else None
    p = subprocess.run(sys.argv[2:], stdout=w, stderr=subprocess.PIPE, preexec_fn=pre, restore_signals=True)
    os.close(w)
    sys.stderr.buffer.write(p.stderr)
    print(f"status={p.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
