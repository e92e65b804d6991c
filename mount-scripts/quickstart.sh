#!/usr/bin/env bash
# Try it: installs what is missing (as root), builds, starts the emulator on loopback and walks
# through the seed's own examples with curl: a token, an upload, HEAD, a download.
set -euo pipefail
cd "$(dirname "$0")/.."

bash mount-scripts/setup-system.sh
swift build --product wxmediafs

work=$(mktemp -d)
(umask 077 && echo demo-secret >"$work/secret")
./.build/debug/wxmediafs emulator --port 0 --data-dir "$work/data" --appid wxdemo --secret-file "$work/secret" \
    >"$work/stdout" 2>"$work/emulator.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    base=$(grep -o 'http://[^ ]*' "$work/stdout" 2>/dev/null || true)
    [[ -n $base ]] && break
    sleep 0.1
done
[[ -n ${base:-} ]] || { cat "$work/emulator.log" >&2; exit 1; }
echo "emulator: $base"

sample=Tests/EmulatorTestSupport/Fixtures/cat.jpg
set -x
token=$(curl -s "$base/cgi-bin/token?grant_type=client_credential&appid=wxdemo&secret=demo-secret" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -s -F "media=@$sample" "$base/cgi-bin/media/upload?access_token=$token&type=image" | tee "$work/upload.json"
echo
media_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["media_id"])' "$work/upload.json")
curl -s -I -G "$base/cgi-bin/media/get?access_token=$token&media_id=$media_id"
curl -s -G "$base/cgi-bin/media/get?access_token=$token&media_id=$media_id" -o "$work/back.jpg"
cmp "$sample" "$work/back.jpg"
{ set +x; } 2>/dev/null
echo "downloaded $media_id: byte-identical to $sample"
