#!/usr/bin/env bash
# End to end with standard tools: a separately started `wxmediafs emulator` process, a daemonized
# `wxmediafs mount --api-base` on it, then cp, cat, ls, stat, mv, rm, rsync, tar, getfattr and
# Python against the mount, checking every exit status. Needs a built `wxmediafs` and root (or
# a user allowed to use /dev/fuse).
set -uo pipefail
cd "$(dirname "$0")/.."

bin=$(pwd)/${WXMEDIAFS_BIN:-.build/debug/wxmediafs}
samples=$(pwd)/Tests/EmulatorTestSupport/Fixtures
work=$(mktemp -d)
M=$work/mnt
emulator_pid=
cleanup() {
    if mountpoint -q "$M" 2>/dev/null; then "$bin" unmount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null; fi
    [[ -n $emulator_pid ]] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$M" "$work/src/sub"
(umask 077 && echo e2e-secret >"$work/secret")

"$bin" emulator --port 0 --data-dir "$work/emulator" --appid wxe2e --secret-file "$work/secret" \
    >"$work/emulator.out" 2>"$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 1 100); do
    base=$(grep -o 'http://[^ ]*' "$work/emulator.out" 2>/dev/null || true)
    [[ -n $base ]] && break
    sleep 0.1
done
[[ -n ${base:-} ]] || { echo "e2e: the emulator did not start" >&2; exit 1; }

"$bin" mount "$M" --api-base "$base" --appid wxe2e --secret-file "$work/secret" --cache-dir "$work/cache" >/dev/null \
    || { echo "e2e: mount failed" >&2; exit 1; }

passed=0
failed=0
check() {
    local name=$1
    shift
    if (set -e; eval "$@") >"$work/check.out" 2>&1; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$work/check.out"
    fi
}

check "cp uploads and the sidecar holds a 64-character id" \
    'cp "$samples/cat.jpg" "$M/image/" && [[ $(head -c 64 "$M/image/cat.jpg.media_id" | wc -c) == 64 ]]'
check "by-id reads the same bytes" 'cmp "$samples/cat.jpg" "$M/by-id/$(cat "$M/image/cat.jpg.media_id")"'
check "ls lists the file and its sidecar" '[[ $(ls "$M/image") == $(printf "cat.jpg\ncat.jpg.media_id") ]]'
check "stat shows the size" '[[ $(stat -c %s "$M/image/cat.jpg") == 9059 ]]'
check "getfattr shows the media id" 'getfattr --only-values -n user.wechat.media_id "$M/image/cat.jpg" | grep -qF -- "$(cat "$M/image/cat.jpg.media_id")"'
check "a PNG the seed server refuses (40005) makes cp fail and leaves nothing" \
    '! cp "$samples/cat.png" "$M/image/" 2>/dev/null && [[ ! -e $M/image/cat.png && ! -e $M/image/cat.png.media_id ]]'
check "voice over 60 s makes cp fail" '! cp "$samples/long70s.mp3" "$M/voice/" 2>/dev/null'
check "each type uploads" 'cp "$samples/hello.amr" "$M/voice/" && cp "$samples/clip.mp4" "$M/video/" && cp "$samples/thumb.jpg" "$M/thumb/" && [[ -s $M/voice/hello.amr.media_id && -s $M/video/clip.mp4.media_id && -s $M/thumb/thumb.jpg.media_id ]]'
cp "$samples/cat.jpg" "$work/src/a.jpg"; cp "$samples/thumb.jpg" "$work/src/sub/b.jpg"
check "rsync -a copies a tree" 'rsync -a "$work/src/" "$M/image/tree/" && [[ -s $M/image/tree/sub/b.jpg.media_id ]] && cmp "$work/src/a.jpg" "$M/image/tree/a.jpg"'
check "tar -x extracts into the mount" 'tar -C "$work/src" -cf "$work/t.tar" . && tar -C "$M/thumb" -xf "$work/t.tar" && [[ -s $M/thumb/sub/b.jpg.media_id ]]'
check "mv within a folder keeps the id" 'id=$(cat "$M/image/cat.jpg.media_id"); mv "$M/image/cat.jpg" "$M/image/kitty.jpg" && [[ $(cat "$M/image/kitty.jpg.media_id") == "$id" && ! -e $M/image/cat.jpg.media_id ]]'
check "mv across folders uploads again" 'mv "$M/image/kitty.jpg" "$M/thumb/kitty.jpg" && [[ -s $M/thumb/kitty.jpg.media_id && ! -e $M/image/kitty.jpg ]]'
check "rm forgets the file and its sidecar" 'rm "$M/thumb/kitty.jpg" && [[ ! -e $M/thumb/kitty.jpg && ! -e $M/thumb/kitty.jpg.media_id ]]'
check "python shutil.copy2 uploads and keeps mtime" \
    'python3 -c "import shutil,sys; shutil.copy2(sys.argv[1], sys.argv[2])" "$work/src/a.jpg" "$M/image/py.jpg" && [[ $(stat -c %Y "$work/src/a.jpg") == $(stat -c %Y "$M/image/py.jpg") ]]'
check "writing into by-id is refused" '! cp "$samples/cat.jpg" "$M/by-id/x" 2>/dev/null'
check "an unknown id is not found" '! cat "$M/by-id/NoSuchMediaId" 2>/dev/null'
check "cp into /material/ adds a permanent material, read back the same" \
    'cp "$samples/cat.jpg" "$M/material/image/" && [[ -s $M/material/image/cat.jpg.media_id ]] && cmp "$samples/cat.jpg" "$M/material/image/cat.jpg"'
check "rm of a material is refused without --allow-delete" \
    '! rm "$M/material/image/cat.jpg" 2>/dev/null && [[ -e $M/material/image/cat.jpg ]]'
check "unmount detaches the mount" '"$bin" unmount "$M" && ! mountpoint -q "$M"'
check "the secret never reached a log" '! grep -rq e2e-secret "$work/cache/wxmediafs.log" "$work/emulator.log"'

echo "e2e: $passed checks passed, $failed failed"
((failed == 0))
