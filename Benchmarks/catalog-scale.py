#!/usr/bin/env python3
"""Does a large catalog slow the mount down? Measures, side by side in one run:
  - `ls -l` of a folder of 10,000 entries, in a catalog of ~10,100 entries and of 100,000;
  - 1,000 single lookups (`os.stat` of distinct names), in a catalog of 100 entries and of 100,000.
Each catalog is written straight into a fresh cache dir's SQLite file, then mounted with --emulator.
Usage: python3 Benchmarks/catalog-scale.py [path/to/wxmediafs]   (root, or a user allowed /dev/fuse)
"""
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/wxmediafs")
IMAGE_FOLDER_INODE = 2
ENTRY_INODE_BASE = 1000


def mount(cache, mountpoint):
    subprocess.run([BIN, "mount", mountpoint, "--emulator", "--cache-dir", cache], check=True,
                   stdout=subprocess.DEVNULL)


def unmount(mountpoint):
    subprocess.run([BIN, "unmount", mountpoint], check=True)


def make_catalog(total, big_folder):
    """A cache dir whose catalog holds `total` placeholder entries; with `big_folder`, 10,000 of
    them are in image/big, the rest spread over image/other-N folders of 1,000."""
    work = tempfile.mkdtemp(prefix="wxm-scale-")
    cache, mountpoint = work + "/cache", work + "/mnt"
    os.makedirs(mountpoint)
    mount(cache, mountpoint)  # creates the schema
    unmount(mountpoint)
    db = sqlite3.connect(cache + "/catalog.sqlite")
    now = int(time.time() * 1e9)
    def insert(parent, name, state):
        cur = db.execute(
            "INSERT INTO entry (parent, name, type, state, size, mode, uid, gid, accessTime, modificationTime, changeTime)"
            " VALUES (?, ?, 'image', ?, 0, 420, 0, 0, ?, ?, ?)", (parent, name, state, now, now, now))
        return cur.lastrowid
    remaining = total
    if big_folder:
        big = insert(IMAGE_FOLDER_INODE, "big", "directory")
        rows = [(ENTRY_INODE_BASE + big, "f%05d.jpg" % i) for i in range(10_000)]
        db.executemany(
            "INSERT INTO entry (parent, name, type, state, size, mode, uid, gid, accessTime, modificationTime, changeTime)"
            " VALUES (?, ?, 'image', 'placeholder', 0, 420, 0, 0, %d, %d, %d)" % (now, now, now), rows)
        remaining -= 10_001
    folder = 0
    while remaining > 0:
        parent = insert(IMAGE_FOLDER_INODE, "other-%d" % folder, "directory")
        count = min(999, remaining - 1)
        db.executemany(
            "INSERT INTO entry (parent, name, type, state, size, mode, uid, gid, accessTime, modificationTime, changeTime)"
            " VALUES (?, ?, 'image', 'placeholder', 0, 420, 0, 0, %d, %d, %d)" % (now, now, now),
            [(ENTRY_INODE_BASE + parent, "g%04d.jpg" % i) for i in range(count)])
        remaining -= count + 1
        folder += 1
    db.commit()
    db.close()
    return cache, mountpoint


def timed(fn, runs=5):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples), max(samples)


def ls_big(mountpoint):
    subprocess.run(["ls", "-l", mountpoint + "/image/big"], check=True, stdout=subprocess.DEVNULL)


def lookups(mountpoint, round_number):
    # Distinct names each round, so the kernel's 1 s name cache never answers for us.
    folder = mountpoint + "/image"
    for i in range(1000):
        try:
            os.stat("%s/missing-%d-%d.jpg" % (folder, round_number, i))
        except FileNotFoundError:
            pass
        os.stat("%s/other-0/g%04d.jpg" % (folder, (i * 7 + round_number) % 999))


def main():
    rows = []
    small, large = make_catalog(10_101, True), make_catalog(100_000, True)
    tiny = make_catalog(1_000, False)
    try:
        for cache, mountpoint in (small, large, tiny):
            mount(cache, mountpoint)
        # Alternate the two catalogs run by run, so machine noise hits both alike.
        a, b = [], []
        for _ in range(5):
            a.append(timed(lambda: ls_big(small[1]), 1)[0])
            b.append(timed(lambda: ls_big(large[1]), 1)[0])
        rows.append(("ls -l image/big (10,000 entries)", "10,101-entry catalog", a, "100,000-entry catalog", b))
        a, b = [], []
        for r in range(5):
            a.append(timed(lambda: lookups(tiny[1], r), 1)[0])
            b.append(timed(lambda: lookups(large[1], r + 100), 1)[0])
        rows.append(("2,000 lookups (1,000 hits, 1,000 misses)", "1,000-entry catalog", a, "100,000-entry catalog", b))
    finally:
        for cache, mountpoint in (small, large, tiny):
            subprocess.run([BIN, "unmount", mountpoint], stderr=subprocess.DEVNULL)
            if not os.path.ismount(mountpoint):
                shutil.rmtree(os.path.dirname(cache), ignore_errors=True)
    print("%-44s %-24s %-24s %s" % ("workload", "baseline median (min-max)", "large median (min-max)", "ratio"))
    for name, base_name, base, large_name, big in rows:
        fmt = lambda xs: "%.3f s (%.3f-%.3f)" % (statistics.median(xs), min(xs), max(xs))
        print("%-44s %-24s %-24s %.2fx   [%s vs %s]" % (
            name, fmt(base), fmt(big), statistics.median(big) / statistics.median(base), base_name, large_name))


main()
