#!/usr/bin/env bash
# The mount beside direct uploads, side by side in one run (issue 6's workloads W1–W7).
# Builds wxmediafs in release mode, then runs Benchmarks/mount-vs-direct.py, which starts its own
# emulator and mount on loopback, prints a table of medians (min, max) and writes a TSV.
#   bash Benchmarks/run.sh [--runs 5] [--only W1,W3] [--tsv FILE]
# Needs root (or a user allowed to mount FUSE), curl, python3 and coreutils: what
# mount-scripts/setup-system.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in curl python3 fusermount3; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing; run mount-scripts/setup-system.sh" >&2; exit 1; }
done

swift build -c release --product wxmediafs
exec python3 Benchmarks/mount-vs-direct.py --binary .build/release/wxmediafs "$@"
