#!/usr/bin/env python3
"""Does a large catalog slow the mount down? Measures, side by side in one run:
  - `ls -l` of a folder of 10,000 entries, in a catalog of 10,101 entries and of 100,000;
  - 2,000 single lookups (`os.stat`: 1,000 names that exist, 1,000 that do not), in a catalog of
    1,000 entries and of 100,000.
Each catalog is made by the binary itself (one mount and unmount of a fresh cache dir, which creates
the current schema), then filled straight into its SQLite file as Benchmarks/fleet.py does it
(`entry.type` + `entry.parentID`: 0 for the type folder itself, else the catalog id of the
subfolder), then mounted again. The script checks that the schema is the one it writes, and after
the run that the mounts migrated nothing, lost no row and logged no warning or error.
It starts its own emulator and mounts on loopback, alternates the two catalogs run by run (medians
of --runs), and unmounts and stops everything it started at the end, on failure or Ctrl-C too.
Python's standard library only.

Usage (root, or a user allowed /dev/fuse):
  python3 Benchmarks/catalog-scale.py [--binary .build/release/wxmediafs] [--runs 5]
"""
import argparse
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APPID = "wxscale"
SECRET = "scale-secret-0123456789"
BIG_FOLDER = 10_000
FOLDER = 1_000  # each image/other-N: the folder and 999 files
LOOKUPS = 1_000  # hits, and as many misses, per run
# The kernel may keep a name the mount found for this long (MountSettings.cacheTimeout, 1 s): a
# mount's next lookup run starts at least this long after its last one, so its hits reach the mount.
NAME_CACHE_SECONDS = 1.0
# The columns of `entry` this script writes (SQLiteCatalog, migration "v4: parents are catalog ids").
ENTRY_COLUMNS = ("type", "parentID", "name", "state", "size", "mode", "uid", "gid",
                 "accessTime", "modificationTime", "changeTime")
SCHEMA_MIGRATION = "v4: parents are catalog ids"


def fail(message):
    raise SystemExit("catalog-scale.py: " + message)


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


def mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f if len(line.split()) > 1)


def process_running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Emulator:
    def __init__(self, binary, work, extra=()):
        self.out_path, self.log_path = work + "/emulator.out", work + "/emulator.log"
        self.out, self.log = open(self.out_path, "wb"), open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [binary, "emulator", "--host", "127.0.0.1", "--port", "0", "--data-dir", work + "/emulator",
             "--appid", APPID, "--secret", SECRET, "--limits", "current", "--log-level", "warning", *extra],
            stdout=self.out, stderr=self.log,
            start_new_session=True)  # Ctrl-C reaches this script, which stops it after the mounts

    def wait_listening(self):
        def listening():
            if self.process.poll() is not None:
                fail("the emulator exited (%s): %s" % (self.process.returncode, open(self.log_path).read()[-2000:]))
            with open(self.out_path) as f:
                line = f.readline()
            return line if line.endswith("\n") and "listening on " in line else None
        self.url = wait_for(listening, 30, "the emulator to listen").split("listening on ")[1].split()[0]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.out.close()
        self.log.close()


class Mount:
    """A mount of `cache` at `path`; `pid` is its daemon's, from the line `wxmediafs mount` prints."""

    def __init__(self, bench, name, extra=()):
        self.binary = bench.binary
        self.path, self.cache = bench.work + "/mnt-" + name, bench.work + "/cache-" + name
        self.log = self.cache + "/wxmediafs.log"
        self.pid = None
        os.makedirs(self.path, exist_ok=True)
        done = subprocess.run(
            [self.binary, "mount", self.path, "--appid", APPID, "--secret-file", bench.secret_file,
             "--api-base", bench.emulator.url, "--cache-dir", self.cache, "--limits", "current", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        found = re.search(r"daemon pid (\d+)", done.stdout)
        self.pid = int(found.group(1)) if found else None
        if done.returncode != 0 or not mounted(self.path):
            self.unmount()
            fail("mount %s failed (%d): %s%s" % (self.path, done.returncode, done.stdout, done.stderr))

    def unmount(self):
        """`wxmediafs unmount` (which waits for the daemon), else fusermount3; then the daemon is gone."""
        if mounted(self.path):
            done = subprocess.run([self.binary, "unmount", self.path], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:
                print("catalog-scale.py: wxmediafs unmount %s: %s" % (self.path, done.stderr.strip()), file=sys.stderr)
        for command in (["fusermount3", "-u", self.path], ["fusermount3", "-u", "-z", self.path]):
            if mounted(self.path):
                subprocess.run(command, stderr=subprocess.DEVNULL)
        if mounted(self.path):
            print("catalog-scale.py: could not unmount %s" % self.path, file=sys.stderr)
        if self.pid is not None:
            deadline = time.monotonic() + 45
            while process_running(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if process_running(self.pid):
                    print("catalog-scale.py: the daemon of %s (pid %d) is still running; sending %s"
                          % (self.path, self.pid, sig.name), file=sys.stderr)
                    os.kill(self.pid, sig)
                    deadline = time.monotonic() + 10
                    while process_running(self.pid) and time.monotonic() < deadline:
                        time.sleep(0.05)
        return not mounted(self.path)


class Bench:
    def __init__(self, binary):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="wxm-scale-")
        os.chmod(self.work, 0o755)
        self.secret_file = self.work + "/secret"
        with open(self.secret_file, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(self.secret_file, 0o600)
        self.emulator = None
        self.mounts = []

    def start(self, extra=()):
        self.emulator = Emulator(self.binary, self.work, extra)
        self.emulator.wait_listening()

    def mount(self, name, extra=()):
        mount = Mount(self, name, extra)
        self.mounts.append(mount)
        return mount

    def unmount(self, mount):
        if not mount.unmount():
            fail("could not unmount %s" % mount.path)
        self.mounts.remove(mount)

    def stop(self):
        clean = True
        for mount in list(self.mounts):
            clean = mount.unmount() and clean
        if self.emulator is not None:
            self.emulator.stop()
        if clean:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("catalog-scale.py: left %s (a mount in it could not be removed)" % self.work, file=sys.stderr)


# ---------------------------------------------------------------- the catalogs

def migrations(db):
    return [row[0] for row in db.execute("SELECT identifier FROM grdb_migrations ORDER BY identifier")]


def check_schema(db, path):
    """The catalog the binary made is one this script knows how to fill: fail, naming what differs,
    rather than write rows the mount would read wrong or migrate away."""
    columns = {row[1]: row for row in db.execute("PRAGMA table_info(entry)")}  # cid, name, type, notnull, default, pk
    if not columns:
        fail("%s has no entry table" % path)
    missing = [c for c in ENTRY_COLUMNS if c not in columns]
    required = [c for c, row in columns.items() if row[3] and row[4] is None and not row[5] and c not in ENTRY_COLUMNS]
    if missing or required or "parent" in columns:
        fail("%s: the binary's catalog schema is not the one this script writes (entry columns %s; missing %s;"
             " required but not written %s)" % (path, ", ".join(columns), missing, required))
    unique = [[row[2] for row in db.execute("PRAGMA index_info(%s)" % index[1])]
              for index in db.execute("PRAGMA index_list(entry)") if index[2]]
    if ["type", "parentID", "name"] not in unique:
        fail("%s: entry has no unique (type, parentID, name) index (unique indexes: %s)" % (path, unique))
    if SCHEMA_MIGRATION not in migrations(db):
        fail("%s: migration %r not applied (applied: %s)" % (path, SCHEMA_MIGRATION, migrations(db)))


def make_catalog(bench, name, total, big_folder):
    """A cache dir whose catalog holds `total` entries (`big_folder`: 10,000 of them in image/big, the
    folder one more; the rest in image/other-N folders of 1,000, the folder included), all
    placeholders of no size. Returns the cache dir's path and what a check after the run compares."""
    mount = bench.mount(name)  # creates the schema, as the running binary has it
    bench.unmount(mount)
    path = mount.cache + "/catalog.sqlite"
    db = sqlite3.connect(path)
    check_schema(db, path)
    now = int(time.time() * 1e9)
    columns = ", ".join(ENTRY_COLUMNS)

    def folder(name):
        return db.execute(
            "INSERT INTO entry (%s) VALUES ('image', 0, ?, 'directory', 0, 493, 0, 0, ?, ?, ?)" % columns,
            (name, now, now, now)).lastrowid

    def files(parent, names):
        db.executemany(
            "INSERT INTO entry (%s) VALUES ('image', ?, ?, 'placeholder', 0, 420, 0, 0, ?, ?, ?)" % columns,
            [(parent, n, now, now, now) for n in names])

    with db:
        remaining = total
        if big_folder:
            files(folder("big"), ["f%05d.jpg" % i for i in range(BIG_FOLDER)])
            remaining -= BIG_FOLDER + 1
        number = 0
        while remaining > 0:
            count = min(FOLDER - 1, remaining - 1)
            files(folder("other-%d" % number), ["g%04d.jpg" % i for i in range(count)])
            remaining -= count + 1
            number += 1
    rows = db.execute("SELECT COUNT(*) FROM entry").fetchone()[0]
    if rows != total:
        fail("%s holds %d entries, not %d" % (path, rows, total))
    applied = migrations(db)
    db.close()
    return name, (path, rows, applied)


def check_after(mount, expected):
    """The mount opened the catalog as written: no migration, no row gone, nothing logged at
    warning or above. Returns the number of log lines read."""
    path, rows, applied = expected
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        now_applied, now_rows = migrations(db), db.execute("SELECT COUNT(*) FROM entry").fetchone()[0]
    finally:
        db.close()
    if now_applied != applied:
        fail("%s was migrated by the mount: %s, then %s" % (path, applied, now_applied))
    if now_rows != rows:
        fail("%s held %d entries, now %d" % (path, rows, now_rows))
    with open(mount.log, errors="replace") as f:
        lines = f.read().splitlines()
    bad = [l for l in lines if re.match(r"\S+ (warning|error|critical) ", l)]
    if bad:
        fail("the mount's log %s has warnings or errors:\n%s" % (mount.log, "\n".join(bad[-10:])))
    if sum(" mounted " in l for l in lines) < 2 or sum(" unmounted " in l for l in lines) < 2:
        fail("the mount's log %s does not show both mounts and unmounts:\n%s" % (mount.log, "\n".join(lines[-10:])))
    return len(lines)


# ---------------------------------------------------------------- the workloads

def timed(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ls_big(mountpoint):
    subprocess.run(["ls", "-l", mountpoint + "/image/big"], check=True, stdout=subprocess.DEVNULL)


def lookups(mountpoint, round_number):
    """1,000 hits in image/other-0 (its 999 files, one of them twice) and 1,000 misses in image/
    whose names no run used before (a miss may stay in the kernel for an hour)."""
    folder = mountpoint + "/image"
    for i in range(LOOKUPS):
        try:
            os.stat("%s/missing-%d-%d.jpg" % (folder, round_number, i))
            fail("%s/missing-%d-%d.jpg exists" % (folder, round_number, i))
        except FileNotFoundError:
            pass
        os.stat("%s/other-0/g%04d.jpg" % (folder, (i * 7 + round_number) % (FOLDER - 1)))


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=ROOT + "/.build/release/wxmediafs", help="the wxmediafs to run")
    parser.add_argument("--runs", type=int, default=5, help="runs of each workload on each catalog (default 5)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be positive")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        parser.error("no binary at %s" % binary)

    # SIGTERM unwinds like Ctrl-C, through the `finally` that unmounts and stops everything.
    def terminate(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, terminate)

    started = time.monotonic()
    print("wxmediafs catalog scale: %s, %d runs, %d cores, load average %s at the start"
          % (binary, args.runs, os.cpu_count(), load()), flush=True)
    bench = Bench(binary)
    rows = []
    try:
        bench.start()
        catalogs = dict(make_catalog(bench, name, total, big) for name, total, big in
                        (("small", 10_101, True), ("large", 100_000, True), ("tiny", 1_000, False)))
        print("catalogs written in %.0f s; load average %s before the runs" % (time.monotonic() - started, load()),
              flush=True)
        small, large, tiny = (bench.mount(name) for name in ("small", "large", "tiny"))
        # Alternate the two catalogs run by run, so machine noise hits both alike.
        a, b = [], []
        for _ in range(args.runs):
            a.append(timed(lambda: ls_big(small.path)))
            b.append(timed(lambda: ls_big(large.path)))
        rows.append(("ls -l image/big (10,000 entries)", "10,101-entry catalog", a, "100,000-entry catalog", b))
        a, b = [], []
        last = {}  # mount -> when its last lookup run ended
        for r in range(args.runs):
            for mount, samples, number in ((tiny, a, r), (large, b, r + 100)):
                # A wait for a fixed time, not for a condition: the kernel's name cache has no state to poll.
                time.sleep(max(0.0, last.get(mount.path, 0.0) + NAME_CACHE_SECONDS + 0.1 - time.monotonic()))
                samples.append(timed(lambda: lookups(mount.path, number)))
                last[mount.path] = time.monotonic()
        rows.append(("2,000 lookups (1,000 hits, 1,000 misses)", "1,000-entry catalog", a, "100,000-entry catalog", b))
        finished_load = load()
        for mount in (small, large, tiny):
            bench.unmount(mount)
        logged = sum(check_after(mount, catalogs[name]) for mount, name in
                     ((small, "small"), (large, "large"), (tiny, "tiny")))
        print("checked: no migration, no entry lost, no warning or error in the mounts' logs (%d lines)" % logged)
    finally:
        bench.stop()
    print("load average %s at the end of the runs" % finished_load)
    print("%-44s %-24s %-24s %s" % ("workload", "baseline median (min-max)", "large median (min-max)", "ratio"))
    for name, base_name, base, large_name, big in rows:
        fmt = lambda xs: "%.3f s (%.3f-%.3f)" % (statistics.median(xs), min(xs), max(xs))
        print("%-44s %-24s %-24s %.2fx   [%s vs %s]" % (
            name, fmt(base), fmt(big), statistics.median(big) / statistics.median(base), base_name, large_name))
    print("took %.0f s" % (time.monotonic() - started))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("catalog-scale.py: interrupted; everything it started is stopped", file=sys.stderr)
        sys.exit(130)
