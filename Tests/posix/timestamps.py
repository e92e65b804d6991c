#!/usr/bin/env python3
"""POSIX timestamp checks in a directory, after pjdfstest's assertions.

Where each expectation comes from (pjdfstest: github.com/pjd/pjdfstest tests/
and its Rust rewrite): mkdir/00.t, rmdir/00.t, unlink/00.t, open/00.t,
truncate/00.t, ftruncate/00.t, utimensat/00,01,02,04,08.t, rename/22.t (the
renamed entry's ctime; opt-in "rename_ctime" there, on for ext4, UFS, ZFS).
From POSIX alone, as pjdfstest has no assertion: rename's parent times,
O_TRUNC of an empty file, ctime after utimensat.

Made for wxmediafs, which takes only real media as file content and has no
symlinks, fifos, sockets, devices or hard links: every file here is an empty
placeholder or a copy of --sample, and sizes only drop to 0. That leaves out
pjdfstest's checks that need a second hard link (the ctime of a file that
unlink/00.t or rename/23.t leaves with a link). Linux only (utimensat ABI).
"""
import argparse
import ctypes
import ctypes.util
import itertools
import json
import os
import re
import shutil
import sys
import time

DEFAULT_SAMPLE = "/work/shared/media-samples/cat.jpg"
DATE1, DATE2 = 1900000000, 1950000000      # utimensat/00.t: 2030 and 2031
NS_DATE1, NS_DATE2 = 100000000, 200000000  # utimensat/08.t: seconds and ns alike
NOW_MARGIN_NS = 300 * 10**9                # utimensat/01.t allows 5 minutes
# A new entry and its parent get their times from (nearly) one clock reading;
# leave room for a filesystem that reads the clock twice, a little apart.
EQUALISH_NS = 2 * 10**9
BIRTH = ("atime", "mtime", "ctime")
DIRTY = ("mtime", "ctime")  # what a change of content/entries must move

AT_FDCWD = -100
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def utimensat(path, atime, mtime):
    """atime/mtime: (sec, nsec), UTIME_NOW or UTIME_OMIT (os.utime has no OMIT)."""
    def ts(v):
        return Timespec(0, v) if isinstance(v, int) else Timespec(*v)
    if _libc.utimensat(AT_FDCWD, os.fsencode(path), (Timespec * 2)(ts(atime), ts(mtime)), 0):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)


def times(path):
    st = os.stat(path)
    return {"atime": st.st_atime_ns, "mtime": st.st_mtime_ns, "ctime": st.st_ctime_ns}


def fmt(ns):
    return "%d.%09d" % divmod(ns, 10**9)


class Ctx:
    """What a check gets: its own empty folder, the nap, the sample bytes, and
    expectations that collect every miss, not just the first."""

    def __init__(self, workdir, nap_s, sample):
        self.d, self.nap_s, self.sample, self.problems = workdir, nap_s, sample, []

    def p(self, *parts):
        return os.path.join(self.d, *parts)

    def nap(self):
        # Sleep longer than the timestamp granularity before the call, as
        # pjdfstest does; otherwise "unchanged" can't be told from "same tick".
        time.sleep(self.nap_s)

    def make(self, kind, path):
        if kind == "folder":
            return os.mkdir(path, 0o755)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
        try:  # anything but real media fails at close with EINVAL
            view = memoryview(b"" if kind in ("placeholder", "empty file") else self.sample)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def expect(self, ok, msg):
        if not ok:
            self.problems.append(msg)

    def changed(self, what, before, after, fields=DIRTY, should=True):
        for f in fields:  # "changed" is "later": a time going back is wrong too
            self.expect((after[f] > before[f]) if should else (after[f] == before[f]),
                        "%s %s %s (%s -> %s)" % (what, f, "did not change" if should
                                                 else "changed", fmt(before[f]), fmt(after[f])))

    def size_is(self, path, size):
        got = os.stat(path).st_size
        self.expect(got == size, "size %d, not %d" % (got, size))


def ext(kind):  # files are named as media, so the filesystem types them as images
    return "" if kind == "folder" else ".jpg"


CHECKS = []  # (name, function, keyword arguments)


def product(**variants):
    keys = list(variants)
    return [dict(zip(keys, vs)) for vs in itertools.product(*variants.values())]


def check(name, cases=({},)):
    """Register fn once per case (a dict of keyword arguments), its name
    formatted with the case."""
    def deco(fn):
        CHECKS.extend((name.format(**c), fn, c) for c in cases)
        return fn
    return deco


# --- mkdir/00.t, open/00.t (new entries), rmdir/00.t, unlink/00.t --------------

NEW = [dict(op="mkdir", new="folder"), dict(op="open O_CREAT new file", new="file")]


def _new_entry(ctx, new):
    """Create an entry in a fresh parent; times of the parent before and after,
    and of the new entry."""
    parent, path = ctx.p("parent"), ctx.p("parent", "new" + ext(new))
    os.mkdir(parent)
    before = times(parent)
    ctx.nap()
    if new == "folder":
        os.mkdir(path, 0o755)
    else:  # open(O_CREAT) and close: an empty placeholder
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
    return before, times(parent), times(path)


@check("{op}: parent mtime and ctime change", NEW)
def new_parent(ctx, op, new):
    before, after, _ = _new_entry(ctx, new)
    ctx.changed("parent", before, after)


@check("{op}: new {new}'s atime/mtime/ctime later than parent's old ctime", NEW)
def new_later(ctx, op, new):
    # pjdfstest's form: the new times are "now", not inherited, copied or zero.
    before, _, entry = _new_entry(ctx, new)
    for f in BIRTH:
        ctx.expect(entry[f] > before["ctime"], "new %s %s %s <= parent's old ctime %s"
                   % (new, f, fmt(entry[f]), fmt(before["ctime"])))


@check("{op}: new {new}'s atime/mtime/ctime equal-ish to parent's new mtime/ctime", NEW)
def new_equalish(ctx, op, new):
    _, after, entry = _new_entry(ctx, new)
    for f, g in itertools.product(BIRTH, DIRTY):
        ctx.expect(abs(entry[f] - after[g]) <= EQUALISH_NS, "new %s %s %s vs parent %s %s"
                   % (new, f, fmt(entry[f]), g, fmt(after[g])))


@check("{op}: parent mtime and ctime change",
       product(op=["rmdir", "unlink placeholder", "unlink media file"]))
def remove_parent(ctx, op):
    what = "folder" if op == "rmdir" else op[len("unlink "):]
    parent, path = ctx.p("parent"), ctx.p("parent", "gone" + ext(what))
    os.mkdir(parent)
    ctx.make(what, path)
    before = times(parent)
    ctx.nap()
    (os.rmdir if op == "rmdir" else os.unlink)(path)
    ctx.changed("parent", before, times(parent))


# --- open/00.t (existing files) --------------------------------------------------

@check("open O_CREAT existing {what}: parent mtime and ctime unchanged",
       product(what=["placeholder", "media file"]))
def create_existing(ctx, what):
    path = ctx.p("old.jpg")
    ctx.make(what, path)
    before = times(ctx.d)
    ctx.nap()
    # O_RDONLY as in pjdfstest: nothing written, so nothing uploaded.
    os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o644))
    ctx.changed("parent", before, times(ctx.d), should=False)


@check("open O_TRUNC {what}: mtime and ctime change, size 0",
       product(what=["media file", "empty file"]))
def open_trunc(ctx, what):
    # pjdfstest asserts this for a non-empty file only. POSIX marks mtime and
    # ctime on any successful O_TRUNC open of an existing regular file, and
    # Linux (ext4, tmpfs) does it for an empty one too.
    path = ctx.p("f.jpg")
    ctx.make(what, path)
    before = times(path)
    ctx.nap()
    os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))
    ctx.changed("file", before, times(path))
    ctx.size_is(path, 0)


# --- rename ------------------------------------------------------------------------

RENAMES = product(kind=["file", "folder"], over=["", " over an existing one"],
                  where=["within a folder", "across folders"])


def _rename(ctx, kind, over, where):
    """Rename a media file or a folder inside one parent or from src/ to dst/,
    replacing an entry of the same kind if `over` (a folder can only replace
    an empty one). Returns {parent: (before, after)}, (entry before, after)."""
    src_dir = ctx.p("src")
    dst_dir = src_dir if where == "within a folder" else ctx.p("dst")
    for d in {src_dir, dst_dir}:
        os.mkdir(d)
    old, new = os.path.join(src_dir, "x" + ext(kind)), os.path.join(dst_dir, "y" + ext(kind))
    ctx.make(kind, old)
    if over:
        ctx.make(kind, new)
    parents = {d: times(d) for d in {src_dir, dst_dir}}
    entry, ino = times(old), os.stat(old).st_ino
    ctx.nap()
    os.rename(old, new)
    ctx.expect(not os.path.lexists(old), "old name still exists")
    ctx.expect(os.stat(new).st_ino == ino, "new name is not the renamed entry")
    return {d: (b, times(d)) for d, b in parents.items()}, (entry, times(new))


@check("rename {kind}{over} {where}: each parent's mtime and ctime change", RENAMES)
def rename_parents(ctx, **case):
    # POSIX rename(): "mark for update the last data modification and last file
    # status change timestamps of the parent directory of each file", which
    # includes the folder of a replaced target. pjdfstest asserts nothing here.
    parents, _ = _rename(ctx, **case)
    for d, (before, after) in sorted(parents.items()):
        ctx.changed("parent " + os.path.basename(d), before, after)


@check("rename {kind}{over} {where}: renamed entry's ctime changes", RENAMES)
def rename_entry(ctx, **case):
    # rename/22.t: POSIX lets a filesystem skip it, but ext4, UFS, ZFS and
    # tmpfs do it and backup tools watch ctime for changes.
    _, (before, after) = _rename(ctx, **case)
    ctx.changed("renamed " + case["kind"], before, after, fields=("ctime",))


# --- truncate/00.t, ftruncate/00.t ---------------------------------------------------

CALLS = product(call=["truncate", "ftruncate"])


def _truncate(ctx, call, new_size):
    """(f)truncate a media file to new_size(old size); times before and after."""
    path = ctx.p("f.jpg")
    ctx.make("media file", path)
    size = new_size(os.stat(path).st_size)
    before = times(path)
    ctx.nap()
    if call == "truncate":
        os.truncate(path, size)
    else:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
        finally:
            os.close(fd)  # where this filesystem checks and uploads content
    return path, size, before, times(path)


@check("{call} media file to 0: mtime and ctime change, size 0", CALLS)
def truncate_zero(ctx, call):
    # pjdfstest asserts ctime after growing a file to 123 bytes (no media here
    # survives that), POSIX both times whenever the size changes.
    path, _, before, after = _truncate(ctx, call, lambda n: 0)
    ctx.changed("file", before, after)
    ctx.size_is(path, 0)


@check("{call} media file to its own size: succeeds, size and content unchanged", CALLS)
def truncate_same(ctx, call):
    # Neither pjdfstest nor POSIX ("if the file size is changed") says what the
    # times do here (Linux 6.18 ext4 and tmpfs move both), so only the outcome
    # is checked.
    path, size, _, _ = _truncate(ctx, call, lambda n: n)
    ctx.size_is(path, size)
    with open(path, "rb") as f:
        ctx.expect(f.read() == ctx.sample, "content differs from the sample")


# --- utimensat/*.t -------------------------------------------------------------------

KINDS = product(kind=["file", "folder"])


def _entry(ctx, kind):
    path = ctx.p("e" + ext(kind))
    ctx.make(kind, path)
    return path


@check("utimensat {kind}: sets the given atime and mtime", KINDS)
def utimens_set(ctx, kind):
    path = _entry(ctx, kind)
    # 00.t, then 04.t: mtime may be earlier than atime, and the other way round.
    for a, m in ((DATE1, DATE2), (DATE2, DATE1)):
        os.utime(path, ns=(a * 10**9, m * 10**9))
        t = times(path)
        ctx.expect((t["atime"], t["mtime"]) == (a * 10**9, m * 10**9), "set atime %d mtime %d, "
                   "read %s %s" % (a, m, fmt(t["atime"]), fmt(t["mtime"])))


@check("utimensat {kind}: keeps 0.1 s precision", KINDS)
def utimens_subsecond(ctx, kind):
    # 08.t: sub-second times survive to 0.1 s at least; finer is not required.
    path = _entry(ctx, kind)
    utimensat(path, (NS_DATE1, NS_DATE1), (NS_DATE2, NS_DATE2))
    t = times(path)
    for f, want in (("atime", NS_DATE1), ("mtime", NS_DATE2)):
        ctx.expect(t[f] // 10**8 == (want * 10**9 + want) // 10**8,
                   "%s: set %s, read %s" % (f, fmt(want * 10**9 + want), fmt(t[f])))


@check("utimensat {kind}: UTIME_NOW sets atime and mtime to now", KINDS)
def utimens_now(ctx, kind):
    # 01.t: both move forward, and not implausibly far.
    path = _entry(ctx, kind)
    before = times(path)
    ctx.nap()
    utimensat(path, UTIME_NOW, UTIME_NOW)
    after, now = times(path), time.time_ns()
    ctx.changed(kind, before, after, fields=("atime", "mtime"))
    for f in ("atime", "mtime"):
        ctx.expect(abs(after[f] - now) < NOW_MARGIN_NS,
                   "%s %s is far from now %s" % (f, fmt(after[f]), fmt(now)))


@check("utimensat {kind}: UTIME_OMIT leaves that time unchanged", KINDS)
def utimens_omit(ctx, kind):
    # 02.t: omit mtime while setting atime, then the other way round.
    path = _entry(ctx, kind)
    orig_mtime = times(path)["mtime"]
    for a, m, want_a, want_m in (((DATE1, 0), UTIME_OMIT, DATE1 * 10**9, orig_mtime),
                                 (UTIME_OMIT, (DATE2, 0), DATE1 * 10**9, DATE2 * 10**9)):
        utimensat(path, a, m)
        t = times(path)
        ctx.expect((t["atime"], t["mtime"]) == (want_a, want_m), "wanted atime %s mtime %s, "
                   "read %s %s" % (fmt(want_a), fmt(want_m), fmt(t["atime"]), fmt(t["mtime"])))


@check("utimensat {kind}: ctime changes", KINDS)
def utimens_ctime(ctx, kind):
    # POSIX: utimensat marks ctime, except that it need not when both times
    # are UTIME_OMIT (Linux then does nothing at all), so that case is left out.
    path = _entry(ctx, kind)
    for label, a, m in (("given times", (DATE1, 0), (DATE2, 0)),
                        ("UTIME_NOW", UTIME_NOW, UTIME_NOW),
                        ("one UTIME_OMIT", UTIME_OMIT, (DATE1, 0))):
        before = times(path)
        ctx.nap()
        utimensat(path, a, m)
        ctx.changed("%s (%s)" % (kind, label), before, times(path), fields=("ctime",))


# --- running ---------------------------------------------------------------------------

def run_one(root, index, name, fn, case, nap_s, sample):
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    workdir = os.path.join(root, "ts-%d-%02d-%s" % (os.getpid(), index, slug))
    detail = None
    try:
        os.mkdir(workdir)
        ctx = Ctx(workdir, nap_s, sample)
        fn(ctx, **case)
        detail = "; ".join(ctx.problems) or None
    except Exception as e:  # an unexpected errno is a finding, not a crash
        detail = "%s: %s" % (type(e).__name__, e)
    finally:
        errors = []
        if os.path.lexists(workdir):
            # A name that went while the tree was walked (a derived entry, like a filesystem's
            # sidecar that goes with its file) is not a failure to clean up.
            shutil.rmtree(workdir, onerror=lambda f, p, exc: None if isinstance(exc[1], FileNotFoundError)
                          else errors.append("%s %s" % (p, exc[1])))
        if errors:
            detail = (detail + "; " if detail else "") + "cleanup failed: " + ", ".join(errors)
    return {"name": name, "ok": detail is None, "detail": detail or ""}


def detect_nap(root):
    """pjdfstest's 1.1 s, unless the filesystem keeps sub-second times: then
    20 ms, which outlasts a coarse kernel clock tick (4-10 ms)."""
    probe, fractions = os.path.join(root, "ts-%d-probe" % os.getpid()), []
    os.mkdir(probe)
    try:
        for i in range(3):  # three tries: one may land on a whole second
            t = times(probe)
            fractions += [t["mtime"] % 10**9, t["ctime"] % 10**9]
            os.mkdir(os.path.join(probe, str(i)))
            time.sleep(0.013)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return 0.02 if any(fractions) else 1.1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="directory to test in; each check uses a fresh subfolder")
    ap.add_argument("--sample", default=DEFAULT_SAMPLE, help="JPEG whose bytes files get")
    ap.add_argument("--granularity-sleep", default="auto", metavar="SECONDS",
                    help="sleep before each timed call; auto (default): 0.02 if the "
                         "filesystem keeps sub-second times, else 1.1")
    ap.add_argument("--only", metavar="REGEX", help="run the checks whose name matches")
    ap.add_argument("--json", action="store_true", help="print a JSON list of {name, ok, detail}")
    ap.add_argument("--list", action="store_true", help="print the check names and exit")
    args = ap.parse_args()

    selected = [c for c in CHECKS if not args.only or re.search(args.only, c[0])]
    if args.list:
        print("\n".join(c[0] for c in selected))
        return 0
    with open(args.sample, "rb") as f:
        sample = f.read()
    root = os.path.abspath(args.dir)
    nap_s = (detect_nap(root) if args.granularity_sleep == "auto"
             else float(args.granularity_sleep))

    results = []
    for index, (name, fn, case) in enumerate(selected):
        r = run_one(root, index, name, fn, case, nap_s, sample)
        results.append(r)
        if not args.json:
            print("ok " + name if r["ok"] else "not ok %s: %s" % (name, r["detail"]), flush=True)
    failed = sum(not r["ok"] for r in results)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed or not results else 0  # a --only that matches nothing is an error


if __name__ == "__main__":
    sys.exit(main())
