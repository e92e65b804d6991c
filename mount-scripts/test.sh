#!/usr/bin/env bash
# The whole test suite: system packages, build, the SDK compatibility check, then `swift test`.
# CI's .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash mount-scripts/setup-system.sh --tests
command -v swift >/dev/null || { echo "test: no Swift toolchain on PATH" >&2; exit 1; }

echo "== build"
swift build --build-tests

echo "== Python packages the tests drive (prometheus_client's text parser), into .build/python-test"
python_test=$(pwd)/.build/python-test
if ! PYTHONPATH=$python_test python3 -c 'import prometheus_client' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --target "$python_test" prometheus-client==0.26.0 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages --target "$python_test" \
            prometheus-client==0.26.0
fi
export WXMEDIAFS_PYTHONPATH=$python_test

echo "== release build: stripped, Swift runtime linked in (what the quickstart installs)"
release=$(bash mount-scripts/build-release.sh)
ls -l "$release"

echo "== quickstart (as a user runs it; its build is the one above), then its demo unmounted"
demo=$(mktemp -d)
started=$(date +%s%N)
bash mount-scripts/quickstart.sh "$demo/mnt"
echo "quickstart: $(( ($(date +%s%N) - started) / 1000000 )) ms with the build already made"
# The demo's daemon keeps its cache in a folder of its own (it stays for a user who plays with
# the demo); the test removes it once the daemon has exited, which `unmount` waits for.
demo_cache=$(pgrep -af -- "--foreground" | grep -F -- " $demo/mnt " | sed -n 's/.* --cache-dir \([^ ]*\).*/\1/p' | head -1 || true)
"$release" unmount "$demo/mnt"
rm -rf "$demo"
case $demo_cache in
    */wxmediafs-demo-cache-*) rm -rf "$demo_cache" ;;
    *) echo "the demo's cache dir was not found (left where the daemon put it)" ;;
esac
if [[ $(id -u) -eq 0 ]]; then
    # The release test checks what the quickstart installed.
    export WXMEDIAFS_RELEASE_BINARY=/usr/local/bin/wxmediafs
fi

echo "== install: the binary, /sbin/mount.wxmediafs, the systemd unit, completions (as root)"
bash mount-scripts/install.sh "$release"

echo "== the manual page against the command line (swift-argument-parser's generator)"
bash mount-scripts/build-man.sh --check

echo "== the Debian package (installed, mounted, removed and linted by the tests, as root)"
deb=$(bash mount-scripts/build-deb.sh "$release")
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb"
ls -l "$deb"
if [[ $(id -u) -eq 0 ]]; then export WXMEDIAFS_DEB=$deb; fi

echo "== SDK compatibility: wechatpy against the emulator"
bash mount-scripts/sdk-check.sh

echo "== end to end: standard tools on a mount of a separately started emulator"
bash mount-scripts/e2e.sh

echo "== PostgreSQL: a throwaway cluster for the fleet tests (stopped and removed at exit)"
if [[ -z ${WXMEDIAFS_TEST_PG_URL:-} ]]; then
    pg_root=$(mktemp -d /tmp/wxmediafs-pg.XXXXXX)
    chmod 755 "$pg_root"
    trap 'bash mount-scripts/pg-cluster.sh stop "$pg_root/cluster"; rmdir "$pg_root" 2>/dev/null || true' EXIT
    eval "$(bash mount-scripts/pg-cluster.sh start "$pg_root/cluster")"
fi

echo "== the filesystem core in-process, as an unprivileged user (no root, no mount, tests in parallel)"
bin=$(swift build --show-bin-path)
skip_core=()
if [[ $(id -u) -eq 0 ]] && command -v runuser >/dev/null; then
    if runuser -u nobody -- test -x "$bin/wxmediafsPackageTests.xctest"; then
        runuser -u nobody -- env HOME=/tmp WXMEDIAFS_TEST_PG_URL="$WXMEDIAFS_TEST_PG_URL" \
            WXMEDIAFS_TEST_PG_PASSWORD="$WXMEDIAFS_TEST_PG_PASSWORD" "$bin/wxmediafsPackageTests.xctest" --testing-library swift-testing \
            --filter WeChatMediaFSCoreTests
        skip_core=(--skip WeChatMediaFSCoreTests)
    else
        echo "test: user nobody cannot reach $bin; the core suite runs as root with the rest below" >&2
    fi
else
    "$bin/wxmediafsPackageTests.xctest" --testing-library swift-testing --filter WeChatMediaFSCoreTests
    skip_core=(--skip WeChatMediaFSCoreTests)
fi

echo "== swift test"
# One test at a time: the mount tests time real uploads, and this machine has 2 cores.
swift test --skip-build --no-parallel "${skip_core[@]}"
