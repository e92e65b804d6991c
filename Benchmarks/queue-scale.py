#!/usr/bin/env python3
"""Does the upload queue slow down as it grows? (issue 21, point 3.) One background-mode `cp -r`
of N small distinct JPEGs (10,000 by default), in two phases, each cut into thousands of files:
  - enqueue: the emulator holds every upload (a delay rule), so the queue only grows while `cp`
    runs; a thousand is counted by the files in the cache dir's queue folder;
  - upload: the hold is lifted and the queue drains; a thousand is counted by the uploads the
    emulator received.
For each thousand it prints the daemon's CPU time per file (utime + stime from /proc, 10 ms
ticks), so a cost that grows with the queue's length shows as a rising column. Run it with the
binary before and after a change for a side-by-side reading (`--binary` twice prints both).
It starts its own emulator (`--test-controls`, for the hold) and mount on loopback, and unmounts
and stops everything at the end, on failure or Ctrl-C too. Python's standard library only.

Usage (root, or a user allowed /dev/fuse):
  python3 Benchmarks/queue-scale.py [--binary .build/release/wxmediafs ...] [--files 10000]
"""
import argparse
import http.client
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("catalog_scale", ROOT + "/Benchmarks/catalog-scale.py")
scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale)

BLOCK = 1000
# Longer than any `cp` of the run, shorter than the mount's `--request-timeout`: the uploads held
# during the enqueue phase end after it, and succeed.
HOLD_MS = 120_000
TICKS = os.sysconf("SC_CLK_TCK")


def fail(message):
    raise SystemExit("queue-scale.py: " + message)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def emulator_call(url, method, path, body=None):
    parsed = urllib.parse.urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            fail("%s %s: HTTP %d %s" % (method, path, response.status, data[:200]))
        return json.loads(data) if data else None
    finally:
        connection.close()


def jpegs(folder, count):
    """`count` distinct small JPEGs (SOI, a comment that makes each unique, EOI)."""
    os.makedirs(folder)
    for i in range(count):
        payload = ("queue-scale %08d " % i).encode() * 40
        with open("%s/p%05d.jpg" % (folder, i), "wb") as f:
            f.write(b"\xff\xd8\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + b"\xff\xd9")


def sample(pid, count_done, total, until_done, seconds=1800):
    """CPU seconds at each thousand of `count_done()`, polled every 20 ms until `until_done()`."""
    marks = [(0, cpu_seconds(pid))]
    deadline = time.monotonic() + seconds
    while True:
        if time.monotonic() > deadline:
            fail("timed out at %d of %d files" % (count_done(), total))
        done = count_done()
        while done >= marks[-1][0] + BLOCK and marks[-1][0] + BLOCK <= total:
            marks.append((marks[-1][0] + BLOCK, cpu_seconds(pid)))
        if until_done() and (done >= total or marks[-1][0] + BLOCK > total):
            return marks
        time.sleep(0.02)


def per_file_ms(marks):
    return [(marks[i][0], (marks[i + 1][1] - marks[i][1]) * 1000 / (marks[i + 1][0] - marks[i][0]))
            for i in range(len(marks) - 1)]


def measure(binary, files):
    bench = scale.Bench(binary)
    try:
        bench.start(extra=("--test-controls",))
        mount = bench.mount("queue", extra=("--uploads", "background", "--upload-concurrency", "8", "--request-timeout", "10m"))
        source = bench.work + "/source"
        jpegs(source, files)
        queue_folder = mount.cache + "/queue"
        url = bench.emulator.url
        emulator_call(url, "POST", "/_emulator/faults", json.dumps(
            {"rules": [{"endpoint": "upload", "kind": "delay", "fraction": 1.0, "delay_ms": HOLD_MS}]}))

        started = time.monotonic()
        copy = subprocess.Popen(["cp", "-r", source, mount.path + "/image/batch"], stderr=subprocess.PIPE)
        queued = lambda: len(os.listdir(queue_folder)) if os.path.isdir(queue_folder) else 0
        enqueue = sample(mount.pid, queued, files, lambda: copy.poll() is not None)
        copy_seconds = time.monotonic() - started
        if copy.returncode != 0:
            fail("cp exited %d: %s" % (copy.returncode, copy.stderr.read().decode()[-500:]))

        emulator_call(url, "POST", "/_emulator/faults", json.dumps({"rules": []}))
        started = time.monotonic()
        uploads = lambda: emulator_call(url, "GET", "/_emulator/counters").get("upload", 0)
        upload = sample(mount.pid, uploads, files, lambda: True)
        done = subprocess.run([binary, "sync", mount.path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=HOLD_MS / 1000 + 600)
        drain_seconds = time.monotonic() - started
        if done.returncode != 0:
            fail("wxmediafs sync: %s %s" % (done.stdout, done.stderr))
        missing = [n for n in os.listdir(source) if not os.path.exists(mount.path + "/image/batch/" + n + ".media_id")]
        if missing:
            fail("%d files have no media id after sync, e.g. %s" % (len(missing), missing[:3]))
        return per_file_ms(enqueue), per_file_ms(upload), copy_seconds, drain_seconds
    finally:
        bench.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", action="append", help="a wxmediafs binary (again for a second column)")
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    binaries = args.binary or [ROOT + "/.build/release/wxmediafs"]
    if args.files < BLOCK:
        fail("--files must be at least %d" % BLOCK)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    results = [(binary, measure(binary, args.files)) for binary in binaries]
    print("queue-scale: %d files of ~0.7 KiB, background mode, concurrency 8; daemon CPU ms per file" % args.files)
    for number, (binary, _) in enumerate(results, 1):
        print("  #%d %s" % (number, binary))
    for phase, index in (("enqueue (cp -r)", 0), ("upload (drain)", 1)):
        print("\n%-14s%s" % (phase, "".join("%10s" % ("#%d" % n) for n in range(1, len(results) + 1))))
        for row, (start, _) in enumerate(results[0][1][index]):
            cells = "".join("%10.3f" % result[index][row][1] if row < len(result[index]) else "%10s" % "-"
                            for _, result in results)
            print("%-14s%s" % ("%d-%d" % (start, start + BLOCK), cells))
    for binary, result in results:
        print("%s: cp %.1f s, drain %.1f s" % (binary, result[2], result[3]))


if __name__ == "__main__":
    main()
