#!/usr/bin/env bash
# Runs wechatpy (a widely used WeChat SDK, from PyPI) against a freshly started emulator: token,
# upload of each type, download, the permanent material, the draft box and publishing, and the
# errcodes it reports. Needs a built `wxmediafs`.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${WXMEDIAFS_BIN:-.build/debug/wxmediafs}
# wechatpy 1.8.18 is the last release; it has no draft or publishing API. The 2.0 pre-release
# has client.draft and client.freepublish: both are run, each in a folder of its own.
install_sdk() {
    local dir=$1 version=$2
    if [[ ! -d $dir/wechatpy ]]; then
        python3 -m pip install --quiet --disable-pip-version-check --target "$dir" "wechatpy==$version" 2>/dev/null \
            || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages --target "$dir" \
                "wechatpy==$version"
    fi
}

for sdk in 1.8.18 2.0.0a26; do
    sdk_dir=.build/python-sdk
    [[ $sdk == 1.8.18 ]] || sdk_dir=.build/python-sdk-$sdk
    install_sdk "$sdk_dir" "$sdk"
    echo "sdk-check: wechatpy $sdk" >&2

    # One emulator per limits profile: the seed's (video refused) and the current one (video_url, PNG).
    # A publish job takes a second, so the check sees it publishing, then published.
    for limits in seed current; do
        work=$(mktemp -d)
        (umask 077 && echo sdk-check-secret >"$work/secret")
        "$binary" emulator --port 0 --data-dir "$work/data" --appid wxsdkcheck --secret-file "$work/secret" \
            --limits "$limits" --publish-seconds 1 >"$work/stdout" 2>"$work/stderr" &
        emulator_pid=$!
        trap 'kill $emulator_pid 2>/dev/null; rm -rf "$work"' EXIT
        base=
        # Poll for the line with the base URL, with a deadline.
        for _ in $(seq 1 100); do
            base=$(grep -o 'http://[^ ]*' "$work/stdout" 2>/dev/null || true)
            [[ -n $base ]] && break
            kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
            sleep 0.1
        done
        [[ -n $base ]] || { echo "sdk-check: the emulator did not start" >&2; exit 1; }
        status=0
        PYTHONPATH=$sdk_dir python3 Tests/sdk/wechatpy_check.py "$base" wxsdkcheck sdk-check-secret \
            Tests/EmulatorTestSupport/Fixtures "$limits" || status=$?
        if grep -q sdk-check-secret "$work/stderr"; then
            echo "sdk-check: the secret appeared in the emulator's log" >&2
            status=1
        fi
        kill "$emulator_pid" 2>/dev/null
        wait "$emulator_pid" 2>/dev/null
        rm -rf "$work"
        trap - EXIT
        ((status == 0)) || exit "$status"
    done
done
