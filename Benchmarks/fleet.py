#!/usr/bin/env python3
"""The fleet catalog (PostgreSQL) beside the embedded one (SQLite), side by side in one run:
  - `ls -l` of a folder of 10,000 entries, and 1,000 `stat`s of distinct names in it;
  - `ls -l` of a folder of 2,000 uploaded files, each with its `.media_id` sidecar (whose
    attributes are never cached by the kernel, so each costs the mount a lookup);
  - `cp -r` of a folder of 200 small JPEGs;
  - from `close()` on host A to the name on host B, p50 and p99 over 200 files (two PostgreSQL mounts).
It starts its own emulator, a throwaway PostgreSQL cluster (mount-scripts/pg-cluster.sh) and the
mounts, and stops and removes them all at the end.
Usage (root): python3 Benchmarks/fleet.py [--binary .build/release/wxmediafs] [--runs 5]
"""
import argparse
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.environ.get("WXMEDIAFS_SAMPLES", "/work/shared/media-samples")
APPID = "wxbench"
SECRET = "bench-secret-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(name):
    for folder in (SAMPLES, os.path.join(ROOT, "Tests/EmulatorTestSupport/Fixtures")):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    sys.exit("fleet.py: no sample %s (set WXMEDIAFS_SAMPLES)" % name)


class Bench:
    def __init__(self, binary):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="wxm-fleet-")
        os.chmod(self.work, 0o755)
        self.mounts = []
        self.processes = []
        self.cluster = self.work + "/pg"

    def start(self):
        out = subprocess.run(["bash", ROOT + "/mount-scripts/pg-cluster.sh", "start", self.cluster],
                             check=True, capture_output=True, text=True).stdout
        env = dict(line.replace("export ", "", 1).split("=", 1) for line in out.splitlines() if "=" in line)
        self.pg_url = env["WXMEDIAFS_TEST_PG_URL"]
        self.pg_password = env["WXMEDIAFS_TEST_PG_PASSWORD"]
        self.api_port = free_port()
        with open(self.work + "/secret", "w") as f:
            f.write(SECRET + "\n")
        log = open(self.work + "/emulator.log", "w")
        self.processes.append(subprocess.Popen(
            [self.binary, "emulator", "--port", str(self.api_port), "--data-dir", self.work + "/emu",
             "--appid", APPID, "--secret", SECRET, "--limits", "current", "--log-level", "warning"],
            stdout=log, stderr=log))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.api_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("fleet.py: the emulator did not start")

    def mount(self, name, shared):
        mountpoint, cache = self.work + "/" + name, self.work + "/cache-" + name
        os.makedirs(mountpoint, exist_ok=True)
        args = [self.binary, "mount", mountpoint, "--appid", APPID, "--secret-file", self.work + "/secret",
                "--api-base", "http://127.0.0.1:%d" % self.api_port, "--cache-dir", cache, "--limits", "current",
                "--log-level", "warning"]
        env = dict(os.environ)
        if shared:
            args += ["--catalog-url", self.pg_url, "--catalog-tls", "disable"]
            env["PGPASSWORD"] = self.pg_password
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=env)
        self.mounts.append(mountpoint)
        return mountpoint

    def unmount(self, mountpoint):
        subprocess.run([self.binary, "unmount", mountpoint], check=True)
        self.mounts.remove(mountpoint)

    def psql(self, sql):
        subprocess.run(["psql", self.pg_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                       env=dict(os.environ, PGPASSWORD=self.pg_password), stdout=subprocess.DEVNULL)

    def stop(self):
        for mountpoint in list(self.mounts):
            subprocess.run([self.binary, "unmount", mountpoint])
        for process in self.processes:
            process.terminate()
            process.wait(timeout=30)
        subprocess.run(["bash", ROOT + "/mount-scripts/pg-cluster.sh", "stop", self.cluster])
        shutil.rmtree(self.work, ignore_errors=True)


ENTRIES = 10_000
STATS = 1_000
UPLOADED = 2_000


FOLDERS = ("big", "cold")  # "cold" is never listed: its stats find no name cached anywhere


def fill_sqlite(cache):
    db = sqlite3.connect(cache + "/catalog.sqlite")
    now = int(time.time() * 1e9)
    for folder in FOLDERS:
        cur = db.execute(
            "INSERT INTO entry (type, parentID, name, state, size, mode, uid, gid, accessTime, modificationTime,"
            " changeTime) VALUES ('image', 0, ?, 'directory', 0, 493, 0, 0, ?, ?, ?)", (folder, now, now, now))
        parent = cur.lastrowid
        db.executemany(
            "INSERT INTO entry (type, parentID, name, state, size, mode, uid, gid, accessTime, modificationTime,"
            " changeTime) VALUES ('image', ?, ?, 'placeholder', 0, 420, 0, 0, ?, ?, ?)",
            [(parent, "f%05d.jpg" % i, now, now, now) for i in range(ENTRIES)])
    db.commit()
    db.close()


def fill_postgres(bench):
    now = int(time.time() * 1e9)
    schema = "wxmediafs_" + APPID
    for folder in FOLDERS:
        bench.psql(
            "SET search_path TO %s;"
            " WITH big AS (INSERT INTO entry (type, parent_id, name, state, size, mode, uid, gid, access_time,"
            " modification_time, change_time) VALUES ('image', 0, '%s', 'directory', 0, 493, 0, 0, %d, %d, %d)"
            " RETURNING id)"
            " INSERT INTO entry (type, parent_id, name, state, size, mode, uid, gid, access_time, modification_time,"
            " change_time) SELECT 'image', big.id, 'f' || lpad(n::text, 5, '0') || '.jpg', 'placeholder', 0, 420,"
            " 0, 0, %d, %d, %d FROM big, generate_series(0, %d) AS n"
            % (schema, folder, now, now, now, now, now, now, ENTRIES - 1))


def fill_uploaded_sqlite(cache):
    db = sqlite3.connect(cache + "/catalog.sqlite")
    now, born = int(time.time() * 1e9), int(time.time())
    cur = db.execute(
        "INSERT INTO entry (type, parentID, name, state, size, mode, uid, gid, accessTime, modificationTime,"
        " changeTime) VALUES ('image', 0, 'uploaded', 'directory', 0, 493, 0, 0, ?, ?, ?)", (now, now, now))
    db.executemany(
        "INSERT INTO entry (type, parentID, name, state, mediaID, format, size, createdAt, mode, uid, gid,"
        " accessTime, modificationTime, changeTime) VALUES ('image', ?, ?, 'uploaded', ?, 'jpeg', 1000, ?, 420,"
        " 0, 0, ?, ?, ?)",
        [(cur.lastrowid, "u%05d.jpg" % i, "m%05d" % i, born, now, now, now) for i in range(UPLOADED)])
    db.commit()
    db.close()


def fill_uploaded_postgres(bench):
    now, born = int(time.time() * 1e9), int(time.time())
    bench.psql(
        "SET search_path TO wxmediafs_%s;"
        " WITH up AS (INSERT INTO entry (type, parent_id, name, state, size, mode, uid, gid, access_time,"
        " modification_time, change_time) VALUES ('image', 0, 'uploaded', 'directory', 0, 493, 0, 0, %d, %d, %d)"
        " RETURNING id)"
        " INSERT INTO entry (type, parent_id, name, state, media_id, format, size, created_at, mode, uid, gid,"
        " access_time, modification_time, change_time) SELECT 'image', up.id, 'u' || lpad(n::text, 5, '0') || '.jpg',"
        " 'uploaded', 'm' || lpad(n::text, 5, '0'), 'jpeg', 1000, %d, 420, 0, 0, %d, %d, %d"
        " FROM up, generate_series(0, %d) AS n"
        % (APPID, now, now, now, born, now, now, now, UPLOADED - 1))


def uploaded_listing(mountpoint, runs):
    folder = mountpoint + "/image/uploaded"
    times = []
    for run in range(runs):
        # Past the kernel's 1 s cache timeout: every run asks the mount for each name.
        time.sleep(1.2)
        times.append(timed(lambda: subprocess.run(["ls", "-l", folder], check=True, stdout=subprocess.DEVNULL)))
    return statistics.median(times)


def timed(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def listing_and_stats(mountpoint, runs, offset):
    folder = mountpoint + "/image/big"
    lists, stats, cold = [], [], []
    timed(lambda: subprocess.run(["ls", "-l", folder], check=True, stdout=subprocess.DEVNULL))  # warm
    for run in range(runs):
        lists.append(timed(lambda: subprocess.run(["ls", "-l", folder], check=True, stdout=subprocess.DEVNULL)))
        # Past the kernel's 1 s cache timeout, so each stat reaches the mount (a lookup).
        time.sleep(1.2)
        first = (offset + run) * STATS % ENTRIES
        names = ["%s/f%05d.jpg" % (folder, (first + i) % ENTRIES) for i in range(STATS)]
        stats.append(timed(lambda: [os.stat(n) for n in names]))
        first = (offset * runs + run) * STATS % ENTRIES
        unlisted = ["%s/image/cold/f%05d.jpg" % (mountpoint, (first + i) % ENTRIES) for i in range(STATS)]
        cold.append(timed(lambda: [os.stat(n) for n in unlisted]))
    return statistics.median(lists), statistics.median(stats), statistics.median(cold)


def copy_folder(mountpoint, source, runs):
    times = []
    for run in range(runs):
        target = "%s/image/cp%d" % (mountpoint, run)
        times.append(timed(lambda: subprocess.run(["cp", "-r", source, target], check=True)))
    return statistics.median(times)


def visibility(host_a, host_b, count):
    data = open(sample("thumb.jpg"), "rb").read()
    os.makedirs(host_a + "/image/seen")
    delays = []
    for i in range(count):
        name = "/image/seen/v%03d.jpg" % i
        with open(host_a + name, "wb") as f:
            f.write(data)
        closed = time.perf_counter()  # close() returned: the upload is done
        while not os.path.exists(host_b + name):
            if time.perf_counter() - closed > 10:
                raise SystemExit("fleet.py: %s did not appear on host B in 10 s" % name)
            time.sleep(0.001)
        delays.append(time.perf_counter() - closed)
    delays.sort()
    return delays[len(delays) // 2], delays[min(len(delays) - 1, int(len(delays) * 0.99))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=ROOT + "/.build/release/wxmediafs")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bench = Bench(os.path.abspath(args.binary))
    try:
        bench.start()
        source = bench.work + "/small"
        os.makedirs(source)
        for i in range(200):
            shutil.copy(sample("thumb.jpg"), "%s/s%03d.jpg" % (source, i))

        lite = bench.mount("lite", shared=False)
        bench.unmount(lite)
        fill_sqlite(bench.work + "/cache-lite")
        fill_uploaded_sqlite(bench.work + "/cache-lite")
        lite = bench.mount("lite", shared=False)
        host_a = bench.mount("a", shared=True)
        fill_postgres(bench)
        fill_uploaded_postgres(bench)
        host_b = bench.mount("b", shared=True)

        rows = []
        for round in range(2):  # alternated, so neither side always runs on a warmer machine
            for label, mountpoint in (("sqlite", lite), ("postgresql", host_a)):
                ls, stats, cold = listing_and_stats(mountpoint, args.runs, round)
                rows.append((label, "ls", ls))
                rows.append((label, "stat", stats))
                rows.append((label, "cold", cold))
                rows.append((label, "uploaded", uploaded_listing(mountpoint, args.runs)))
        for label, mountpoint in (("sqlite", lite), ("postgresql", host_a)):
            rows.append((label, "cp", copy_folder(mountpoint, source, args.runs)))
        p50, p99 = visibility(host_a, host_b, 200)

        def best(label, what):
            return min(v for l, w, v in rows if l == label and w == what)

        print("workload                          SQLite     PostgreSQL   ratio")
        for what, title in (("ls", "ls -l, 10,000 entries"), ("stat", "1,000 stats after a listing"),
                            ("cold", "1,000 stats, names not listed"),
                            ("uploaded", "ls -l, 2,000 files + sidecars"), ("cp", "cp -r of 200 small files")):
            lite_t, pg_t = best("sqlite", what), best("postgresql", what)
            print("%-32s %7.0f ms %9.0f ms  %5.2f" % (title, lite_t * 1000, pg_t * 1000, pg_t / lite_t))
        print("close() on host A to the name on host B: p50 %.1f ms, p99 %.1f ms (200 files)" % (p50 * 1000, p99 * 1000))
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
