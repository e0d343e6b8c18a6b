# Shared by the SEG and RTSTRUCT benchmarks (source it): expects $runs, $work and $labels_bytes.
# measure NAME COMMAND...: runs the command $runs times into a fresh $work/out; records the median time
# (under NAME, for ratio).
measure() {
    local name=$1; shift
    local times=() mems=() size=0
    for r in $(seq "$runs"); do
        rm -rf "$work/out" && mkdir "$work/out"
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { echo "$name failed:" >&2; cat "$work/err" >&2; exit 1; }
        read -r t m < "$work/time"
        times+=("$t"); mems+=("$m")
        size=$(find "$work/out" -type f -printf '%s\n' | sort -n | tail -1)
    done
    python3 - "$name" "${size:-0}" "$labels_bytes" "$work" "${times[@]}" -- "${mems[@]}" <<'PY'
import sys, statistics
name, size, vol, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rest = sys.argv[5:]; cut = rest.index("--")
t = [float(x) for x in rest[:cut]]; m = [int(x) for x in rest[cut + 1:]]
print(f"{name:<40} median {statistics.median(t):7.3f} s  (min {min(t):.3f})  peak {max(m)/1024:7.1f} MiB = {max(m)*1024/vol:5.2f}x label map  output {size/1e6:7.2f} MB")
open(f"{work}/median-{name.replace(' ', '-')}", "w").write(str(statistics.median(t)))
PY
}
ratio() {  # ratio A B TARGET: median(A) / median(B)
    python3 -c "import sys; a, b = (float(open(sys.argv[1] + '/median-' + n.replace(' ', '-')).read()) for n in sys.argv[2:4]); print(f'ratio {sys.argv[2]} / {sys.argv[3]}: {a / b:.3f}  ({b / a:.1f}x faster; {sys.argv[4]})')" "$work" "$@"
}
