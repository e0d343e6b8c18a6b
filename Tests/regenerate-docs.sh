#!/usr/bin/env bash
# Rebuilds man/ and completions/ from the built i2 (the only way they change):
#   swift build && bash Tests/regenerate-docs.sh [path/to/i2]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
i2=$(realpath -m -- "${1:-$root/.build/debug/i2}")   # $1 is relative to the caller's directory
cd "$root"
[[ -x $i2 ]] || { echo "no i2 binary at $i2: run 'swift build' first, or pass its path" >&2; exit 1; }

mkdir -p man completions
"$i2" --generate man >man/i2.1
# The subcommands, as `i2 --help` lists them (first word of each line under "Subcommands:").
subs=$("$i2" --help | awk '/^Subcommands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }')
[[ -n $subs ]] || { echo "could not read the subcommands from '$i2 --help'" >&2; exit 1; }
rm -f man/i2-*.1
for sub in $subs; do
    "$i2" --generate "man-$sub" >"man/i2-$sub.1"
done
"$i2" --generate complete-bash >completions/i2.bash
"$i2" --generate complete-zsh >completions/_i2
"$i2" --generate complete-fish >completions/i2.fish
echo "regenerated man/ and completions/ with $i2"
