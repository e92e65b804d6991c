#!/usr/bin/env bash
# Builds the binary the quickstart and install.sh install: release mode, with the Swift runtime
# and Foundation linked in (--static-swift-stdlib, so it runs on a machine without a Swift
# toolchain: one file to copy, as rclone ships), stripped. Prints its path on stdout; the build's
# own output goes to stderr. Usage: bash mount-scripts/build-release.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The static Swift runtime's link arguments export every symbol (-export-dynamic), for programs
# that load plugins; this one loads none, and without it the stripped file is 5.7 MB smaller
# (docs/benchmarks.md, "The binary's size").
flags=(-c release --product wxmediafs --static-swift-stdlib -Xlinker --no-export-dynamic)
swift build "${flags[@]}" >&2
built=$(swift build "${flags[@]}" --show-bin-path)/wxmediafs
mkdir -p .build/release-stripped
strip --strip-all -o .build/release-stripped/wxmediafs.new "$built"
mv -f .build/release-stripped/wxmediafs.new .build/release-stripped/wxmediafs
echo "$(pwd)/.build/release-stripped/wxmediafs"
