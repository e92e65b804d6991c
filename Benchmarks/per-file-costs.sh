#!/bin/bash
# What one small file costs the daemon in W2's shape: one `cp` of 200 x 50 KiB JPEGs into
# image/ of a mount on its in-process emulator (`--emulator`, so the CPU includes the emulator's).
# Prints, per binary given (run them in turn to compare): the cp's time, the daemon's CPU and
# context switches per file (from /proc), and the requests the kernel sent with their mean
# answer time (from the metrics endpoint).
# With --separate-emulator the emulator is a process of its own (the first binary's), so the CPU
# is the daemon's alone, and a first cp of the same files warms the mount before the one measured.
# Work dirs under $TMPDIR: tmpfs (/dev/shm) or a disk give different figures, both worth having.
#   bash Benchmarks/per-file-costs.sh [--separate-emulator] BINARY [BINARY...]
set -euo pipefail
source "$(dirname "$0")/w2-shared.sh"
separate=""
if [[ ${1:-} == --separate-emulator ]]; then separate=1; shift; fi
[[ $# -ge 1 ]] || { echo "usage: $0 [--separate-emulator] BINARY [BINARY...]" >&2; exit 2; }
work=$(mktemp -d)
mounted=""
emulator=""
cleanup() {
    if [[ -n $mounted ]]; then "$mounted" unmount "$work/mnt" >/dev/null 2>&1 || true; fi
    stop_emulator
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/src"
python3 "$(dirname "$0")/w2-files.py" "$work/src"
account=(--emulator)
if [[ -n $separate ]]; then start_emulator "$1" "$work"; fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for binary in "$@"; do
    rm -rf "$work/mnt" "$work/cache"; mkdir "$work/mnt"
    port=$(free_port)
    "$binary" mount "$work/mnt" "${account[@]}" --cache-dir "$work/cache" --metrics-address "127.0.0.1:$port" >/dev/null
    mounted=$binary
    pid=$(pgrep -f -- "mount $work/mnt " | head -1)
    metrics() { curl -s "127.0.0.1:$port/metrics" | grep '^wxmediafs_fuse_operation_duration_seconds_\(sum\|count\)'; }
    target="$work/mnt/image"
    if [[ -n $separate ]]; then
        mkdir "$target/warm-up" "$target/measured"
        cp "$work"/src/*.jpg "$target/warm-up/"
        target="$target/measured"
    fi
    metrics >"$work/m0"; c0=$(daemon_cpu "$pid"); x0=$(daemon_switches "$pid"); t0=$(date +%s%N)
    cp "$work"/src/*.jpg "$target/"
    t1=$(date +%s%N); c1=$(daemon_cpu "$pid"); x1=$(daemon_switches "$pid"); metrics >"$work/m1"
    "$binary" unmount "$work/mnt" >/dev/null; mounted=""
    python3 - "$binary" "$work/m0" "$work/m1" "$c0" "$c1" "$x0" "$x1" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import re, sys
binary, m0, m1 = sys.argv[1:4]
c0, c1, x0, x1, t0, t1, tick = map(int, sys.argv[4:11])
def load(path):
    values = {}
    for line in open(path):
        m = re.match(r'\S+_(sum|count)\{operation="(\w+)"\} (\S+)', line)
        if m:
            values[(m[2], m[1])] = float(m[3])
    return values
a, b = load(m0), load(m1)
files = 200
print("%s: cp %d ms; daemon CPU %.2f ms/file; context switches %d/file"
      % (binary, (t1 - t0) // 1_000_000, (c1 - c0) / tick * 1000 / files, (x1 - x0) // files))
parts = []
for op in sorted({k[0] for k in b}):
    n = b.get((op, "count"), 0) - a.get((op, "count"), 0)
    if n:
        parts.append("%s %d x %.3f ms" % (op, n, 1000 * (b.get((op, "sum"), 0) - a.get((op, "sum"), 0)) / n))
print("  requests: " + ", ".join(parts))
PY
done
