#!/usr/bin/env python3
"""Many small uploads at a real server's latency (issue 14, workload W8), side by side in one run.

30 and 200 distinct 50 KiB JPEGs, every upload answer held back 100 ms by the emulator's fault
injector (the token endpoint is not):
  - `cp -r` into a mount in sync mode (close() returns once the upload is done), timed until cp
    returns, against a sequential client on one keep-alive connection (target <= 1.1x);
  - `cp -r` into a mount with `--uploads background --upload-concurrency 8`, timed until
    `wxmediafs sync MOUNTPOINT` returns, against 8 threads each on its own keep-alive connection
    taking files from one queue (target <= 1.3x).
A binary without `--uploads` (or without `wxmediafs sync`) gets the sync-mode rows only, and says so;
the parallel uploader then still runs alone, as a context line (no ratio).

It starts its own emulator (`--test-controls`, for the delay) and mounts on loopback, alternates
each cell with its baseline `--runs` times, checks that every file got a media id on both sides,
prints medians (min-max) with the ratio and target, and unmounts and stops everything at the end,
on failure or Ctrl-C too. Python's standard library and coreutils only.

  python3 Benchmarks/uploads.py --binary .build/release/wxmediafs [--runs 5] [--sizes 30,200] [--latency-ms 100]
"""
import argparse
import hashlib
import http.client
import json
import math
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.environ.get("WXMEDIAFS_SAMPLES", "/work/shared/media-samples")
APPID = "wxbenchw8"
SECRET = "bench-w8-secret-" + uuid.uuid4().hex
KiB = 1024
FILE_SIZE = 50 * KiB
PARALLEL = 8


def fail(message):
    raise SystemExit("uploads.py: " + message)


def wait_for(condition, seconds, what, interval=0.02):
    """Polls `condition` until it is true or `seconds` have passed (then fails, naming `what`)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            fail("timed out after %g s waiting for %s" % (seconds, what))
        time.sleep(interval)


# ---------------------------------------------------------------- sample files

def sample(name):
    for folder in (SAMPLES, os.path.join(ROOT, "Tests/EmulatorTestSupport/Fixtures")):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    fail("no sample %s (set WXMEDIAFS_SAMPLES)" % name)


def jpeg_segments(data):
    """(marker, start, end) of each segment of a JPEG up to its first SOS (start of scan)."""
    if data[:2] != b"\xff\xd8":
        fail("the sample is not a JPEG")
    segments, i = [], 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            fail("the sample JPEG is malformed at byte %d" % i)
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        segments.append((marker, i, i + 2 + length))
        if marker == 0xDA:
            return segments
        i += 2 + length
    fail("the sample JPEG has no scan")


def distinct_jpegs(folder, count, size=FILE_SIZE):
    """`count` valid JPEGs of exactly `size` bytes, each different: cat.jpg with its comment (COM)
    segment replaced by one that names the file and fills it up with bytes derived from its number."""
    base = open(sample("cat.jpg"), "rb").read()
    segments = jpeg_segments(base)
    # Drop the sample's own comments, and put ours right after APP0 (JFIF) or SOI.
    kept = b"".join(base[s:e] for m, s, e in segments if m != 0xFE)
    head_end = next((e for m, s, e in segments if m == 0xE0), 2)
    head = base[2:head_end]
    rest = kept[len(head):] + base[segments[-1][2]:]  # tables and frame, then SOS header, scan and EOI
    payload_size = size - 2 - len(head) - 4 - len(rest)
    if not 0 < payload_size <= 65533:
        fail("cannot make %d-byte JPEGs from cat.jpg" % size)
    os.makedirs(folder)
    paths = []
    for n in range(count):
        text = b"wxmediafs W8 benchmark file %d\n" % n
        filler, block = bytearray(text), 0
        while len(filler) < payload_size:
            filler += hashlib.sha256(b"%d/%d" % (n, block)).digest()
            block += 1
        segment = b"\xff\xfe" + (payload_size + 2).to_bytes(2, "big") + bytes(filler[:payload_size])
        data = b"\xff\xd8" + head + segment + rest
        assert len(data) == size and data.endswith(b"\xff\xd9")
        path = os.path.join(folder, "photo%03d.jpg" % n)
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- the emulator

class Emulator:
    def __init__(self, binary, work):
        self.work = work
        self.stdout_path = os.path.join(work, "emulator.out")
        self.stdout = open(self.stdout_path, "wb")
        self.log = open(os.path.join(work, "emulator.log"), "wb")
        self.process = subprocess.Popen(
            [binary, "emulator", "--host", "127.0.0.1", "--port", "0", "--data-dir", os.path.join(work, "emulator"),
             "--appid", APPID, "--secret", SECRET, "--limits", "current", "--test-controls", "--log-level", "warning"],
            stdout=self.stdout, stderr=self.log,
            start_new_session=True)  # Ctrl-C reaches cp and this script, not the server the mounts still need

        def listening():
            if self.process.poll() is not None:
                fail("the emulator exited (%s); see its log:\n%s" % (self.process.returncode, self.log_tail()))
            with open(self.stdout_path, "rb") as f:
                line = f.readline().decode()
            return line if line.endswith("\n") and "listening on" in line else None
        line = wait_for(listening, 30, "the emulator to listen")
        self.url = line.split("listening on ")[1].split()[0]
        parsed = urllib.parse.urlparse(self.url)
        self.host, self.port = parsed.hostname, parsed.port

    def log_tail(self):
        try:
            with open(os.path.join(self.work, "emulator.log"), "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stdout.close()
        self.log.close()

    def call(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                fail("%s %s: HTTP %d %r" % (method, path, response.status, data[:300]))
            return json.loads(data)
        finally:
            connection.close()

    def token(self):
        """The stable token: the one the mounts hold too, so fetching it invalidates nothing."""
        body = json.dumps({"grant_type": "client_credential", "appid": APPID, "secret": SECRET})
        reply = self.call("POST", "/cgi-bin/stable_token", body, {"Content-Type": "application/json"})
        if not reply.get("access_token"):
            fail("no access token: %r" % reply)
        return reply["access_token"]

    def delay_uploads(self, milliseconds):
        rules = {"rules": [{"endpoint": "upload", "kind": "delay", "fraction": 1.0, "delay_ms": milliseconds}]}
        reply = self.call("POST", "/_emulator/faults", json.dumps(rules), {"Content-Type": "application/json"})
        if reply.get("rules") != 1:
            fail("the emulator did not take the delay rule: %r" % reply)

    def delayed(self):
        """How many requests the delay rule has held back so far."""
        return self.call("GET", "/_emulator/faults")["injected"][0]

    def counters(self):
        return self.call("GET", "/_emulator/counters")


# ---------------------------------------------------------------- direct clients (the baselines)

def multipart(path):
    boundary = uuid.uuid4().hex
    with open(path, "rb") as f:
        content = f.read()
    body = (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"media\"; filename=\"" +
            os.path.basename(path).encode() + b"\"\r\nContent-Type: image/jpeg\r\n\r\n" + content +
            b"\r\n--" + boundary.encode() + b"--\r\n")
    return body, "multipart/form-data; boundary=" + boundary


def upload(connection, token, path):
    """One upload on `connection` (kept alive); its media id, or a loud failure."""
    body, content_type = multipart(path)
    connection.request("POST", "/cgi-bin/media/upload?access_token=%s&type=image" % token, body,
                       {"Content-Type": content_type})
    response = connection.getresponse()
    data = response.read()
    try:
        reply = json.loads(data)
    except ValueError:
        reply = None
    if response.status != 200 or not isinstance(reply, dict) or not reply.get("media_id"):
        raise RuntimeError("upload of %s refused: HTTP %d %r" % (path, response.status, data[:300]))
    if response.will_close:
        raise RuntimeError("the emulator closed the keep-alive connection after %s" % path)
    return reply["media_id"]


def check_ids(ids, count, what):
    if len(ids) != count or len(set(ids)) != count:
        fail("%s: %d media ids for %d files (%d distinct)" % (what, len(ids), count, len(set(ids))))


class Sequential:
    """The N uploads one after another on one HTTP/1.1 keep-alive connection, as an SDK makes them."""

    def __init__(self, emulator, token):
        self.emulator, self.token = emulator, token

    def __call__(self, paths):
        connection = http.client.HTTPConnection(self.emulator.host, self.emulator.port, timeout=60)
        try:
            ids = [upload(connection, self.token, path) for path in paths]
        finally:
            connection.close()
        check_ids(ids, len(paths), "sequential client")


class Parallel:
    """`width` threads, each on a keep-alive connection of its own, taking files from one queue."""

    def __init__(self, emulator, token, width=PARALLEL):
        self.emulator, self.token, self.width = emulator, token, width

    def __call__(self, paths):
        work = queue.Queue()
        for path in paths:
            work.put(path)
        ids, errors, stop = [], [], threading.Event()
        lock = threading.Lock()

        def worker():
            connection = http.client.HTTPConnection(self.emulator.host, self.emulator.port, timeout=60)
            try:
                while not stop.is_set():
                    try:
                        path = work.get_nowait()
                    except queue.Empty:
                        return
                    media_id = upload(connection, self.token, path)
                    with lock:
                        ids.append(media_id)
            except BaseException as error:  # noqa: B902 - handed to the main thread
                stop.set()
                with lock:
                    errors.append(error)
            finally:
                connection.close()
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(self.width, len(paths)))]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        finally:
            stop.set()
        if errors:
            raise errors[0]
        check_ids(ids, len(paths), "parallel uploader")


# ---------------------------------------------------------------- mounts

def mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


class Mount:
    def __init__(self, bench, name, extra):
        self.binary = bench.binary
        self.path = os.path.join(bench.work, name)
        self.cache = os.path.join(bench.work, "cache-" + name)
        self.pid = None
        os.makedirs(self.path)
        subprocess.run(
            [self.binary, "mount", self.path, "--appid", APPID, "--secret-file", bench.secret_file,
             "--api-base", bench.emulator.url, "--cache-dir", self.cache, "--limits", "current",
             "--log-level", "warning"] + extra,
            check=True, stdout=subprocess.DEVNULL)
        bench.mounts.append(self)
        self.pid = self.find_daemon()

    def find_daemon(self):
        """The daemon serving this mountpoint (the `--foreground` process `mount` started)."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    arguments = f.read().split(b"\0")
            except OSError:
                continue
            if b"--foreground" in arguments and self.path.encode() in arguments and b"mount" in arguments:
                return int(entry)
        return None

    def daemon_running(self):
        if self.pid is None:
            return False
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def unmount(self):
        """Unmounts (retrying while busy), falls back to fusermount3, then sees the daemon gone."""
        deadline = time.monotonic() + 20
        while mounted(self.path) and time.monotonic() < deadline:
            done = subprocess.run([self.binary, "unmount", self.path], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            if done.returncode != 0 and mounted(self.path):
                time.sleep(0.2)  # busy: a file still open in it; try again
        for command in (["fusermount3", "-u", self.path], ["fusermount3", "-u", "-z", self.path]):
            if mounted(self.path):
                subprocess.run(command, stderr=subprocess.DEVNULL)
        if mounted(self.path):
            print("uploads.py: could not unmount %s" % self.path, file=sys.stderr)
        deadline = time.monotonic() + 45
        while self.daemon_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.daemon_running():
                print("uploads.py: the daemon of %s (pid %d) is still running; sending %s"
                      % (self.path, self.pid, sig.name), file=sys.stderr)
                os.kill(self.pid, sig)
                deadline = time.monotonic() + 10
                while self.daemon_running() and time.monotonic() < deadline:
                    time.sleep(0.05)
        return not mounted(self.path)


def check_sidecars(source, target):
    names = sorted(os.listdir(source))
    ids = []
    for name in names:
        sidecar = os.path.join(target, name + ".media_id")
        try:
            with open(sidecar) as f:
                media_id = f.read().strip()
        except OSError as error:
            fail("no sidecar %s: %s" % (sidecar, error))
        if not media_id:
            fail("empty sidecar %s" % sidecar)
        ids.append(media_id)
    check_ids(ids, len(names), "mount into " + target)


# ---------------------------------------------------------------- the benchmark

def features(binary):
    """Whether the binary has background uploads: `mount --uploads` and `wxmediafs sync`."""
    mount_help = subprocess.run([binary, "mount", "--help"], capture_output=True, text=True).stdout
    top_help = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    has_uploads = "--uploads" in mount_help
    has_concurrency = "--upload-concurrency" in mount_help
    has_sync = any(line.split()[:1] == ["sync"] for line in top_help.splitlines())
    missing = [what for what, there in (("`mount --uploads`", has_uploads),
                                        ("`mount --upload-concurrency`", has_concurrency),
                                        ("`wxmediafs sync`", has_sync)) if not there]
    return has_uploads, missing


def summary(values):
    return statistics.median(values), min(values), max(values)


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    return "%s, %d cores, %.0f GiB, Linux %s" % (cpu, os.cpu_count(), memory, platform.release())


class Bench:
    def __init__(self, binary, work, latency_ms):
        self.binary, self.work, self.latency_ms = binary, work, latency_ms
        self.mounts = []
        self.emulator = None
        self.secret_file = os.path.join(work, "secret")
        with open(self.secret_file, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(self.secret_file, 0o600)

    def start(self):
        self.emulator = Emulator(self.binary, self.work)
        self.token = self.emulator.token()
        self.emulator.delay_uploads(self.latency_ms)
        self.check_delay()

    def check_delay(self):
        """The rule holds back upload answers by the latency, and token answers not at all."""
        before = self.emulator.delayed()
        self.emulator.token()
        if self.emulator.delayed() != before:
            fail("the delay rule struck a token request")
        probe = distinct_jpegs(os.path.join(self.work, "probe"), 1)
        connection = http.client.HTTPConnection(self.emulator.host, self.emulator.port, timeout=60)
        try:
            start = time.perf_counter()
            upload(connection, self.token, probe[0])
            took = time.perf_counter() - start
        finally:
            connection.close()
        if self.emulator.delayed() != before + 1 or took < self.latency_ms / 1000:
            fail("the upload was not held back %d ms (took %.0f ms)" % (self.latency_ms, took * 1000))

    def stop(self):
        # A second Ctrl-C must not leave a mount behind: ignored while cleaning up.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            clean = True
            for mount in reversed(self.mounts):
                clean = mount.unmount() and clean
            if self.emulator:
                self.emulator.stop()
            if clean and not any(mounted(m.path) for m in self.mounts):
                shutil.rmtree(self.work, ignore_errors=True)
            else:
                print("uploads.py: left %s in place (a mount in it is still there)" % self.work, file=sys.stderr)
        finally:
            signal.signal(signal.SIGINT, previous)


def timed(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=ROOT + "/.build/release/wxmediafs")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="30,200", help="file counts, comma-separated (default 30,200)")
    parser.add_argument("--latency-ms", type=int, default=100, help="delay on every upload answer (default 100)")
    parser.add_argument("--tsv", help="also write the rows to this TSV file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.runs < 1 or not sizes or min(sizes) < 1 or args.latency_ms < 0:
        parser.error("--runs, --sizes and --latency-ms must be positive")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        parser.error("no binary at %s" % binary)

    # SIGTERM unwinds like Ctrl-C, through the `finally` that unmounts and stops everything.
    def terminate(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, terminate)

    has_uploads, missing = features(binary)
    background = not missing
    started = time.monotonic()
    print("wxmediafs W8 benchmark: %s, %d runs, %s JPEGs of 50 KiB, %d ms per upload answer; %s"
          % (binary, args.runs, " and ".join(map(str, sizes)), args.latency_ms, machine()), flush=True)
    if not background:
        print("SKIPPED: the background-mode rows (cp -r + wxmediafs sync vs %d-way parallel uploader): "
              "this binary has no %s" % (PARALLEL, " and no ".join(missing)), flush=True)

    work = tempfile.mkdtemp(prefix="wxm-w8-")
    os.chmod(work, 0o755)
    bench = Bench(binary, work, args.latency_ms)
    results = {}  # (size, mode) -> (mount times, baseline times)
    try:
        bench.start()
        sources = {n: os.path.join(work, "src%d" % n) for n in sizes}
        for n in sizes:
            distinct_jpegs(sources[n], n)
        sync_mount = Mount(bench, "sync", ["--uploads", "sync"] if has_uploads else [])
        bg_mount = Mount(bench, "background", ["--uploads", "background", "--upload-concurrency", str(PARALLEL)]) \
            if background else None
        sequential, parallel = Sequential(bench.emulator, bench.token), Parallel(bench.emulator, bench.token)
        files = {n: sorted(os.path.join(sources[n], f) for f in os.listdir(sources[n])) for n in sizes}

        def cp_sync(n, run):
            target = os.path.join(sync_mount.path, "image", "w8-sync-%d-r%d" % (n, run))
            took = timed(lambda: subprocess.run(["cp", "-r", sources[n], target], check=True))
            check_sidecars(sources[n], target)
            return took

        def cp_background(n, run):
            target = os.path.join(bg_mount.path, "image", "w8-bg-%d-r%d" % (n, run))

            def copy_and_sync():
                subprocess.run(["cp", "-r", sources[n], target], check=True)
                subprocess.run([binary, "sync", bg_mount.path], check=True, stdout=subprocess.DEVNULL)
            took = timed(copy_and_sync)
            check_sidecars(sources[n], target)
            return took

        # Without background uploads the parallel baseline still runs, alone, as context (no row).
        cells = [("sync", cp_sync, sequential), ("background", cp_background if background else None, parallel)]
        for run in range(args.runs):
            for n in sizes:
                for mode, subject, baseline in cells:
                    mine, theirs = results.setdefault((n, mode), ([], []))
                    if subject is None:
                        theirs.append(timed(lambda: baseline(files[n])))
                        print("  run %d/%d  %3d files  parallel   (no mount)      baseline %7.0f ms"
                              % (run + 1, args.runs, n, theirs[-1] * 1e3), flush=True)
                        continue
                    # Alternated: the mount first in even rounds, the baseline first in odd ones.
                    if run % 2 == 0:
                        mine.append(subject(n, run))
                        theirs.append(timed(lambda: baseline(files[n])))
                    else:
                        theirs.append(timed(lambda: baseline(files[n])))
                        mine.append(subject(n, run))
                    print("  run %d/%d  %3d files  %-10s mount %7.0f ms   baseline %7.0f ms"
                          % (run + 1, args.runs, n, mode, mine[-1] * 1e3, theirs[-1] * 1e3), flush=True)
        counters = bench.emulator.counters()
        delayed = bench.emulator.delayed()
        if delayed != counters.get("upload"):
            fail("%d uploads reached the emulator but %d were held back" % (counters.get("upload", 0), delayed))
        print("emulator: %d uploads, every one held back %d ms; %d token requests, none held back"
              % (delayed, args.latency_ms, counters.get("stable_token", 0) + counters.get("token", 0)), flush=True)
    finally:
        bench.stop()

    rows, alone = [], []
    for n in sizes:
        for mode, what, target in (
                ("sync", "%d x 50 KiB JPEG: cp -r (sync mode) vs sequential keep-alive client" % n, 1.1),
                ("background", "%d x 50 KiB JPEG: cp -r + sync (background, 8) vs 8-way parallel keep-alive" % n, 1.3)):
            mine, theirs = results[(n, mode)]
            width = 1 if mode == "sync" else PARALLEL
            floor = math.ceil(n / width) * args.latency_ms
            if not mine:
                alone.append((n, summary(theirs), floor))
                continue
            ratio = statistics.median(mine) / statistics.median(theirs)
            rows.append((what, summary(mine), summary(theirs), floor, ratio, target))

    print()
    print("| workload | what | wxmediafs median (min-max) | baseline median (min-max) | latency floor | ratio | target | met |")
    print("|---|---|---|---|---|---|---|---|")
    fmt = lambda v: "%.0f (%.0f-%.0f) ms" % (v[0] * 1e3, v[1] * 1e3, v[2] * 1e3)
    for what, mine, theirs, floor, ratio, target in rows:
        print("| W8 | %s | %s | %s | %d ms | %.2f | <= %.1f | %s |"
              % (what, fmt(mine), fmt(theirs), floor, ratio, target, "yes" if ratio <= target else "**no**"))
    if not background:
        print("(background-mode rows skipped: the binary has no %s)" % " and no ".join(missing))
        for n, theirs, floor in alone:
            print("context, no mount row: %d files by the %d-way parallel keep-alive uploader alone: %s "
                  "(latency floor %d ms)" % (n, PARALLEL, fmt(theirs), floor))
    print("latency floor: ceil(files / connections) x %d ms, what the injected delay alone costs the baseline"
          % args.latency_ms)
    print("took %.0f s" % (time.monotonic() - started))
    if args.tsv:
        with open(args.tsv, "w") as tsv:
            tsv.write("workload\twhat\tunit\tsubject_median\tsubject_min\tsubject_max\tbaseline_median\t"
                      "baseline_min\tbaseline_max\tratio\ttarget\tmet\n")
            for what, mine, theirs, floor, ratio, target in rows:
                tsv.write("\t".join(["W8", what, "ms"] + ["%.1f" % (v * 1e3) for v in mine + theirs] +
                                    ["%.3f" % ratio, "<= %.1f" % target, "yes" if ratio <= target else "no"]) + "\n")
        print("TSV: %s" % args.tsv)
    return 0 if all(ratio <= target for _, _, _, _, ratio, target in rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("uploads.py: interrupted; everything it started is stopped", file=sys.stderr)
        sys.exit(130)
