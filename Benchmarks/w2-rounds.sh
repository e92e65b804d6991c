#!/bin/bash
# W2 in rounds, to compare binaries on one machine state: one emulator of its own (the first
# binary's), one mount per binary, and in each round every mount's `cp` of 200 x 50 KiB JPEGs
# into image/rN/, then a Python keep-alive client's 200 uploads of the same files, in turn.
# Prints per binary the median `cp`, the median of each round's ratio to the client, and the
# daemon's CPU and context switches per file from /proc (the emulator's are not counted).
# Work dirs under $TMPDIR (tmpfs such as /dev/shm takes the disk's noise out).
#   bash Benchmarks/w2-rounds.sh ROUNDS BINARY [BINARY...]
set -euo pipefail
source "$(dirname "$0")/w2-shared.sh"
[[ $# -ge 2 ]] || { echo "usage: $0 ROUNDS BINARY [BINARY...]" >&2; exit 2; }
rounds=$1; shift
binaries=("$@")
work=$(mktemp -d)
emulator=""
cleanup() {
    for i in "${!binaries[@]}"; do
        [[ -e $work/mounted$i ]] && "${binaries[$i]}" unmount "$work/mnt$i" >/dev/null 2>&1 || true
    done
    stop_emulator
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/src"
python3 "$(dirname "$0")/w2-files.py" "$work/src"
start_emulator "${binaries[0]}" "$work"
declare -a pids
for i in "${!binaries[@]}"; do
    mkdir "$work/mnt$i"
    "${binaries[$i]}" mount "$work/mnt$i" "${account[@]}" --cache-dir "$work/cache$i" >/dev/null
    touch "$work/mounted$i"
    pids[i]=$(pgrep -f -- "mount $work/mnt$i " | head -1)
done
cat >"$work/client.py" <<'PY'
import glob, http.client, json, sys, time, urllib.parse, uuid
url = urllib.parse.urlparse(sys.argv[1])
connection = http.client.HTTPConnection(url.hostname, url.port)
connection.request("POST", "/cgi-bin/stable_token", json.dumps(
    {"grant_type": "client_credential", "appid": "wxbench", "secret": "secretsecret"}),
    {"Content-Type": "application/json"})
token = json.loads(connection.getresponse().read())["access_token"]
started = time.perf_counter()
for path in sorted(glob.glob(sys.argv[2] + "/*.jpg")):
    content = open(path, "rb").read()
    boundary = uuid.uuid4().hex.encode()
    body = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"media\"; filename=\"media.jpg\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n")
    connection.request("POST", "/cgi-bin/media/upload?access_token=%s&type=image" % token, body,
                       {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()})
    reply = json.loads(connection.getresponse().read())
    assert "media_id" in reply, reply
print(int((time.perf_counter() - started) * 1000))
PY
for round in $(seq "$rounds"); do
    line=""
    for i in "${!binaries[@]}"; do
        mkdir "$work/mnt$i/image/r$round"
        c0=$(daemon_cpu "${pids[i]}"); x0=$(daemon_switches "${pids[i]}"); t0=$(date +%s%N)
        cp "$work"/src/*.jpg "$work/mnt$i/image/r$round/"
        t1=$(date +%s%N); c1=$(daemon_cpu "${pids[i]}"); x1=$(daemon_switches "${pids[i]}")
        line+="$(( (t1 - t0) / 1000000 )) $(( c1 - c0 )) $(( x1 - x0 )) "
    done
    echo "$line$(python3 "$work/client.py" "$url" "$work/src")" >>"$work/rounds"
done
python3 - "$work/rounds" "$(getconf CLK_TCK)" "${binaries[@]}" <<'PY'
import statistics, sys
rows = [list(map(int, line.split())) for line in open(sys.argv[1])]
tick, binaries, files = int(sys.argv[2]), sys.argv[3:], 200
client = [row[-1] for row in rows]
print("keep-alive client: median %d ms" % statistics.median(client))
for i, binary in enumerate(binaries):
    cp = [row[3 * i] for row in rows]
    ratios = [a / b for a, b in zip(cp, client)]
    cpu = [row[3 * i + 1] / tick * 1000 / files for row in rows]
    switches = [row[3 * i + 2] / files for row in rows]
    print("%s: cp median %d ms; ratio median %.2f (%.2f-%.2f); daemon CPU %.2f ms/file; %.1f context switches/file"
          % (binary, statistics.median(cp), statistics.median(ratios), min(ratios), max(ratios),
             statistics.median(cpu), statistics.median(switches)))
PY
