# What the W2 scripts (per-file-costs.sh, w2-rounds.sh) share; sourced by them, not run.

# Starts `BINARY emulator` on a free loopback port with its data under WORK; sets `emulator` (its
# pid), `url`, and `account`: the mount options that reach it as app wxbench.
start_emulator() {
    local binary=$1 work=$2
    printf secretsecret >"$work/secret"; chmod 600 "$work/secret"
    "$binary" emulator --host 127.0.0.1 --port 0 --data-dir "$work/emulator" --appid wxbench \
        --secret secretsecret --limits current --daily-quota media/upload=1000000 >"$work/emulator.out" 2>&1 &
    emulator=$!
    for _ in $(seq 300); do grep -q "listening on" "$work/emulator.out" && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/emulator.out")
    [[ -n $url ]] || { echo "the emulator did not start" >&2; cat "$work/emulator.out" >&2; return 1; }
    account=(--appid wxbench --secret-file "$work/secret" --api-base "$url" --limits current)
}

stop_emulator() {
    if [[ -n ${emulator:-} ]]; then kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true; fi
}

# Process PID's CPU in clock ticks (user and system), and its threads' context switches.
daemon_cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
daemon_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}'; }
