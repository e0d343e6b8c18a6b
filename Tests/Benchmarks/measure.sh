# Shared by the SEG and RTSTRUCT benchmarks (source it): expects $runs, $work and $labels_bytes.
# measure NAME COMMAND...: runs the command $runs times into a fresh $work/out; prints the median wall
# time (perf_counter: /usr/bin/time's 10 ms steps are a third of a 30 ms run) and the peak memory (the
# child's own rusage), and records the median under NAME for ratio. $before, when set, is a shell command
# run (untimed) before each run: e.g. emptying the server a send goes to.
measure() {
    BEFORE=${before:-} python3 - "$1" "$runs" "$work" "$labels_bytes" "${@:2}" <<'PY' || exit 1
import os, shutil, statistics, subprocess, sys, time
name, runs, work, vol, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5:]
out = os.path.join(work, "out")
times, peak = [], 0
for _ in range(runs):
    shutil.rmtree(out, ignore_errors=True); os.mkdir(out)
    if os.environ.get("BEFORE"): subprocess.run(os.environ["BEFORE"], shell=True, check=True)
    with open(os.path.join(work, "err"), "w+") as err:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0); sys.exit(f"{name} failed:\n{err.read()}")
    peak = max(peak, usage.ru_maxrss * 1024)
size = max((os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs), default=0)
t = statistics.median(times)
print(f"{name:<40} median {t:7.3f} s  (min {min(times):.3f})  peak {peak / 2**20:7.1f} MiB = {peak / vol:5.2f}x label map  output {size / 1e6:7.2f} MB")
open(os.path.join(work, "median-" + name.replace(" ", "-")), "w").write(str(t))
PY
}
ratio() {  # ratio A B TARGET: median(A) / median(B)
    python3 -c "import sys; a, b = (float(open(sys.argv[1] + '/median-' + n.replace(' ', '-')).read()) for n in sys.argv[2:4]); print(f'ratio {sys.argv[2]} / {sys.argv[3]}: {a / b:.3f}  ({b / a:.1f}x faster; {sys.argv[4]})')" "$work" "$@"
}
