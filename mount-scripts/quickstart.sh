#!/usr/bin/env bash
# Try it: installs what is missing (as root), builds the release binary and installs it as
# /usr/local/bin/wxmediafs (as root), mounts a demo on an emulator started
# in-process (no WeChat account needed), and walks through cp, cat NAME.media_id, ls and by-id.
# The demo stays mounted for you to play with; the last line says how to unmount it.
# Usage: bash mount-scripts/quickstart.sh [MOUNTPOINT]   (default: ~/wxmediafs-demo)
set -euo pipefail
cd "$(dirname "$0")/.."

bash mount-scripts/setup-system.sh
bin=$(bash mount-scripts/build-release.sh)   # release, Swift runtime linked in, stripped
bash mount-scripts/install.sh "$bin"
M=${1:-$HOME/wxmediafs-demo}
mkdir -p "$M"
if mountpoint -q "$M"; then "$bin" unmount "$M"; fi

"$bin" mount "$M" --emulator
sample=$(pwd)/Tests/EmulatorTestSupport/Fixtures/cat.jpg
set -x
cp "$sample" "$M/image/"
cat "$M/image/cat.jpg.media_id"
ls -l "$M/image/"
cmp "$sample" "$M/by-id/$(cat "$M/image/cat.jpg.media_id")"
getfattr -d "$M/image/cat.jpg"
{ set +x; } 2>/dev/null
echo "by-id/ gave back the same bytes. The demo is mounted at $M; unmount it with: $bin unmount $M"
