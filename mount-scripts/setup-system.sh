#!/usr/bin/env bash
# Installs the system packages wxmediafs builds with and its tests drive. As root it installs
# them (apt-get update first); otherwise it names what is missing and fails.
set -euo pipefail

packages=(libfuse3-dev fuse3 pkg-config curl rsync attr python3 python3-pip libsqlite3-dev libglib2.0-bin systemd man-db)
# --tests: also what the test command alone needs (the Debian package is built and checked).
if [[ ${1:-} == --tests ]]; then packages+=(dpkg-dev lintian); fi
# A program per package, to tell whether it is there without asking apt.
declare -A probe=(
    [libfuse3-dev]="pkg-config --exists fuse3"
    [fuse3]="command -v fusermount3"
    [pkg-config]="command -v pkg-config"
    [curl]="command -v curl"
    [rsync]="command -v rsync"
    [attr]="command -v getfattr"
    [python3]="command -v python3"
    [python3-pip]="python3 -m pip --version"
    [libsqlite3-dev]="test -e /usr/include/sqlite3.h"
    [libglib2.0-bin]="command -v gio"
    [systemd]="command -v systemd-analyze"
    [man-db]="command -v man"
    [dpkg-dev]="command -v dpkg-shlibdeps"
    [lintian]="command -v lintian"
)

missing=()
for package in "${packages[@]}"; do
    if ! bash -c "${probe[$package]}" >/dev/null 2>&1; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: run as root to install them, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: no Swift toolchain on PATH (Swift 6 is needed: https://www.swift.org/install/linux/)" >&2
    exit 1
fi
