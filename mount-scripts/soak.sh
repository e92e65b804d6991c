#!/usr/bin/env bash
# The fault soak at full size: 200 files through 4 parallel cp streams while the emulator fails
# 20% of requests (errcode -1, HTTP 503, dropped connections, 2 s delays). CI runs it with 40.
# Usage: bash mount-scripts/soak.sh [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
WXMEDIAFS_SOAK_FILES=${1:-200} swift test --skip-build --filter FaultSoakTests 2>&1 | grep -E "soak:|✘|Test run"
