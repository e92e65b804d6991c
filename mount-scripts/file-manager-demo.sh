#!/usr/bin/env bash
# A real desktop file manager (PCManFM, under Xvfb) copies a JPEG into a wxmediafs mount's image/:
# the JPEG is put on the clipboard as a copied file (x-special/gnome-copied-files, what a file
# manager's "Copy" puts there) and ctrl+v is pressed in the PCManFM window showing MOUNT/image.
# The shell then checks that image/NAME.jpg holds the same bytes and image/NAME.jpg.media_id is
# there, and a screenshot of the screen is saved.
#
# Installs with apt (as root, apt-get update first) those that are missing of:
#   xvfb pcmanfm xdotool xclip imagemagick dbus-x11     (and fuse3 if fusermount3 is missing)
#
# Usage (as root, from anywhere):
#   bash mount-scripts/file-manager-demo.sh [BINARY] [SCREENSHOT]
#     BINARY      the wxmediafs binary (default: REPO/.build/debug/wxmediafs); it is not built here
#     SCREENSHOT  where the PNG goes (default: REPO/docs/file-manager.png)
#   Environment: SAMPLE=a JPEG to copy (default: REPO/Tests/EmulatorTestSupport/Fixtures/cat.jpg),
#                KEEP_LOG=a path to keep the mount's debug log at.
#
# The mount uses --emulator (no WeChat account). Everything started here (mount, Xvfb, D-Bus,
# PCManFM, xclip) is stopped, and the temporary folder removed, on every exit, failures included.
#
# PCManFM watches folders with inotify, and the kernel raises no inotify event for a name that a
# FUSE filesystem makes by itself: the .media_id sidecar is not shown until the folder is reloaded,
# so F5 is pressed once the upload is done and before the screenshot is taken.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/.build/debug/wxmediafs}
shot=${2:-$repo/docs/file-manager.png}
sample=${SAMPLE:-$repo/Tests/EmulatorTestSupport/Fixtures/cat.jpg}
[[ $bin == /* ]] || bin=$PWD/$bin
[[ $shot == /* ]] || shot=$PWD/$shot
[[ $sample == /* ]] || sample=$PWD/$sample
width=1024 height=700

say() { echo "file-manager-demo: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages and mounts with FUSE)"
[[ -x $bin ]] || die "no wxmediafs binary at $bin (build it first: swift build --product wxmediafs)"
[[ -r $sample ]] || die "no sample JPEG at $sample"
[[ $(head -c 3 "$sample" | od -An -tx1 | tr -d ' \n') == ffd8ff ]] || die "$sample is not a JPEG"

# --- packages --------------------------------------------------------------------------------
declare -A probe=(
    [xvfb]="command -v Xvfb"
    [pcmanfm]="command -v pcmanfm"
    [xdotool]="command -v xdotool"
    [xclip]="command -v xclip"
    [imagemagick]="test -x /usr/bin/import"
    [dbus-x11]="command -v dbus-launch"
    [fuse3]="command -v fusermount3"
)
missing=()
for package in xvfb pcmanfm xdotool xclip imagemagick dbus-x11 fuse3; do
    bash -c "${probe[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- state and cleanup -----------------------------------------------------------------------
tmp=$(mktemp -d /tmp/wxm-fm-demo.XXXXXX)
mnt=$tmp/mnt cache=$tmp/cache home=$tmp/home
mkdir -p "$mnt" "$cache" "$tmp/src" "$home/.config/pcmanfm/default" "$home/.cache" "$home/.local/share" "$tmp/run"
chmod 700 "$tmp/run"
xvfb_pid="" xdisplay="" dbus_pid="" fm_pid="" clip_pid="" daemon_pid="" mounted=0 ok=0

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
    local seconds=$1 what=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { say "gave up after ${seconds}s waiting for: $what"; return 1; }
        sleep 0.1
    done
}

# A process that has not exited (a zombie waiting to be reaped counts as gone).
alive() { [[ -n $1 && -r /proc/$1/stat ]] && [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]; }
gone() { ! alive "$1"; }

stop() { # pid: TERM, then KILL if it is still there after 5 s
    local pid=$1
    alive "$pid" || return 0
    kill "$pid" 2>/dev/null || true
    wait_for 5 "pid $pid to exit" gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    set +e
    if ((!ok)); then
        if [[ -n $xdisplay ]] && alive "$xvfb_pid" &&
            import -silent -window root /tmp/file-manager-demo-failed.png 2>/dev/null; then
            say "the screen at the failure: /tmp/file-manager-demo-failed.png"
        fi
        say "--- mount log (last 40 lines) ---"; tail -n 40 "$cache/wxmediafs.log" >&2 2>/dev/null
        say "--- pcmanfm stderr (last 20 lines) ---"; tail -n 20 "$tmp/pcmanfm.log" >&2 2>/dev/null
    fi
    stop "$fm_pid"
    stop "$clip_pid"
    if ((mounted)) && mountpoint -q "$mnt"; then
        "$bin" unmount "$mnt" >/dev/null 2>&1 || fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"
    fi
    if [[ -n $daemon_pid ]]; then
        wait_for 30 "the mount daemon (pid $daemon_pid) to exit" gone "$daemon_pid" ||
            kill -KILL "$daemon_pid" 2>/dev/null
    fi
    [[ -n ${KEEP_LOG:-} && -e $cache/wxmediafs.log ]] && cp "$cache/wxmediafs.log" "$KEEP_LOG"
    stop "$dbus_pid"
    stop "$xvfb_pid"
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- mount -----------------------------------------------------------------------------------
name=$(basename "$sample")
src=$tmp/src/$name
install -m 0644 "$sample" "$src"
[[ $src =~ ^[A-Za-z0-9/._-]+$ ]] || die "the sample's path needs URI escaping: $src"

mounted=1 # from here on, cleanup unmounts if $mnt is a mount point
out=$("$bin" mount "$mnt" --emulator --cache-dir "$cache" --log-level debug) || die "mount failed"
say "$out"
daemon_pid=$(sed -n 's/.*daemon pid \([0-9]*\).*/\1/p' <<<"$out")
mountpoint -q "$mnt" || die "$mnt is not a mount point after mount returned"

# --- X server, session bus, file manager -----------------------------------------------------
# -noreset: without it Xvfb resets when its last client leaves (xdotool, below), and a client
# connecting during the reset can be refused ("Cannot open display").
Xvfb -displayfd 3 -screen 0 "${width}x${height}x24" -nolisten tcp -noreset 3>"$tmp/display" >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
wait_for 20 "Xvfb to name its display" test -s "$tmp/display"
export DISPLAY=:$(head -n 1 "$tmp/display")
wait_for 20 "Xvfb to answer on $DISPLAY" xdotool getdisplaygeometry
xdisplay=$DISPLAY

export HOME=$home XDG_CONFIG_HOME=$home/.config XDG_CACHE_HOME=$home/.cache XDG_DATA_HOME=$home/.local/share
export XDG_RUNTIME_DIR=$tmp/run NO_AT_BRIDGE=1 LANG=C.UTF-8
eval "$(dbus-launch --sh-syntax)"
dbus_pid=$DBUS_SESSION_BUS_PID

cat >"$home/.config/pcmanfm/default/pcmanfm.conf" <<EOF
[ui]
win_width=$width
win_height=$height
maximized=0
splitter_pos=170
side_pane_mode=places
view_mode=list
show_hidden=0
show_statusbar=1
sort=name;ascending;
columns=name:430;desc:150;size:90;mtime:160;
EOF

pcmanfm "$mnt/image" >"$tmp/pcmanfm.log" 2>&1 &
fm_pid=$!
window() { xdotool search --all --onlyvisible --pid "$fm_pid" --name '^image$' | head -n 1 | grep .; }
window_or_exit() { window || gone "$fm_pid"; }
wait_for 30 "the PCManFM window on image/" window_or_exit
alive "$fm_pid" || die "PCManFM exited at start"
win=$(window)
say "PCManFM window $win is showing $mnt/image"

# A screen capture, to tell when the window has stopped changing.
capture() { import -silent -window root rgb:- | md5sum | cut -d' ' -f1; }
settle() { # waits for two identical captures in a row
    local deadline=$((SECONDS + $1)) previous="" current
    while :; do
        current=$(capture)
        [[ $current == "$previous" ]] && return 0
        ((SECONDS < deadline)) || { say "the screen kept changing for $1 s"; return 1; }
        previous=$current
        sleep 0.2
    done
}

# --- copy through the file manager -----------------------------------------------------------
# What "Copy" in a GTK file manager puts on the clipboard; xclip serves it until killed.
printf 'copy\nfile://%s' "$src" | xclip -quiet -selection clipboard -t x-special/gnome-copied-files -i \
    >"$tmp/xclip.log" 2>&1 &
clip_pid=$!
wait_for 10 "the clipboard to offer the copied file" \
    bash -c 'xclip -o -selection clipboard -t TARGETS | grep -qx x-special/gnome-copied-files'

# No window manager runs, so focus the window directly, click an empty spot of the file list
# (so ctrl+v goes to the folder view, not the location bar), then paste.
xdotool windowfocus --sync "$win"
xdotool mousemove --window "$win" 600 450 click 1
settle 15
xdotool key --clearmodifiers ctrl+v
say "pressed ctrl+v in PCManFM; waiting for the upload"

# Done when the sidecar is there, or when PCManFM's progress dialog says "Finished" (it stays
# open only when the operation had errors, e.g. "File too large" for an image over the limit).
uploaded_or_refused() {
    test -s "$mnt/image/$name.media_id" ||
        xdotool search --all --onlyvisible --pid "$fm_pid" --name '^Finished$' | grep -q .
}
wait_for 60 "$mnt/image/$name.media_id to appear (the upload)" uploaded_or_refused ||
    die "no $name.media_id in $mnt/image after pasting: the copy or the upload did not happen"
test -s "$mnt/image/$name.media_id" ||
    die "PCManFM reported an error copying $name into $mnt/image (see the screenshot and log below)"

# --- check from the shell --------------------------------------------------------------------
[[ -f $mnt/image/$name ]] || die "$mnt/image/$name is missing"
cmp "$src" "$mnt/image/$name" || die "$mnt/image/$name differs from $src"
media_id=$(cat "$mnt/image/$name.media_id")
[[ $media_id =~ ^[A-Za-z0-9_-]+$ ]] || die "$name.media_id does not hold a media id: '$media_id'"
cmp "$src" "$mnt/by-id/$media_id" || die "by-id/$media_id differs from $src"
say "uploaded: image/$name ($(stat -c %s "$mnt/image/$name") bytes, same as the original), media_id $media_id"
ls -l "$mnt/image" >&2

# --- reload (see the top), then screenshot ----------------------------------------------------
xdotool mousemove 1 $((height - 1))
settle 15
before=$(capture)
xdotool windowfocus --sync "$win"
xdotool key --clearmodifiers F5
if ! wait_for 10 "PCManFM to redraw after F5" bash -c "[[ \$(import -silent -window root rgb:- | md5sum | cut -d' ' -f1) != $before ]]"; then
    say "note: the window did not change after F5 (the sidecar may have been listed already)"
fi
settle 15
mkdir -p "$(dirname "$shot")"
import -silent -window root "$shot"
alive "$fm_pid" || die "PCManFM exited before the screenshot"
ok=1
say "screenshot: $shot"
