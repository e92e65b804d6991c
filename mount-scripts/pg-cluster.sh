#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, benchmarks and the fleet demo: initdb in a temp dir
# owned by the postgres user, a free port, listening on 127.0.0.1 only, password auth on TCP.
#
#   eval "$(bash mount-scripts/pg-cluster.sh start DIR)"   # exports WXMEDIAFS_TEST_PG_URL and _PASSWORD
#   bash mount-scripts/pg-cluster.sh stop DIR              # stops it and removes DIR
#   bash mount-scripts/pg-cluster.sh stop-server|start-server DIR   # the server only, data kept
#
# Run as root (it switches to the postgres user for the server); installs PostgreSQL from the
# distribution's packages when it is missing.
set -euo pipefail

command=${1:-}
dir=${2:-}
[[ -n $command && -n $dir ]] || { echo "usage: pg-cluster.sh start|stop|stop-server|start-server DIR" >&2; exit 2; }

# The server's settings, for a start and a restart. The core suite runs its PostgreSQL tests in
# parallel, each catalog's pool up to 8 connections: 178 and 195 client connections were seen at
# once (2026-12-05), and one CI run failed for slots at 200.
server_options() {
    echo "-c listen_addresses=127.0.0.1 -p $1 -k $2 -c fsync=off -c max_connections=400"
}

pg_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [[ -n $found && -x $found/initdb ]] && { echo "$found"; return; }
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
    return 1
}

as_postgres() {
    if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

case $command in
start)
    if ! bin=$(pg_bin); then
        if [[ $(id -u) -eq 0 ]]; then
            echo "pg-cluster: installing postgresql" >&2
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y -qq postgresql >/dev/null
            bin=$(pg_bin)
        else
            echo "pg-cluster: PostgreSQL is missing: run as root, or: sudo apt-get install postgresql" >&2
            exit 1
        fi
    fi
    [[ $(id -u) -eq 0 || $(id -un) == postgres ]] || {
        echo "pg-cluster: run as root (the server runs as the postgres user)" >&2
        exit 1
    }
    mkdir -p "$dir"
    chown postgres: "$dir" 2>/dev/null || true
    as_postgres test -x "$dir" || {
        echo "pg-cluster: the postgres user cannot reach $dir (make its parent folders searchable)" >&2
        exit 1
    }
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    printf '%s\n' "$password" >"$dir/.pw"
    chown postgres: "$dir/.pw" 2>/dev/null || true
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$dir/.pw" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/.pw"
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "$(server_options "$port" "$dir")" start >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
    as_postgres "$bin/psql" -h "$dir" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 -d postgres <<SQL >/dev/null
CREATE ROLE wxmediafs LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE wxmediafs OWNER wxmediafs;
SQL
    echo "$port" >"$dir/port"
    echo "export WXMEDIAFS_TEST_PG_URL=postgresql://wxmediafs@127.0.0.1:$port/wxmediafs"
    echo "export WXMEDIAFS_TEST_PG_PASSWORD=$password"
    echo "export WXMEDIAFS_TEST_PG_ADMIN='$bin/psql -h $dir -p $port -U postgres -d wxmediafs'"
    echo "export WXMEDIAFS_TEST_PG_CTL='$bin/pg_ctl -D $dir/data'"
    echo "export WXMEDIAFS_TEST_PG_DIR=$dir"
    ;;
stop-server)
    # The server only, data kept (tests of a catalog that goes away and comes back).
    bin=$(pg_bin)
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
    ;;
start-server)
    # The server outlives this script: it must not hold the caller's descriptors (a test
    # harness that waits for this script's output would wait for the server's exit).
    for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null || true
    done
    bin=$(pg_bin)
    port=$(cat "$dir/port")
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "$(server_options "$port" "$dir")" start >/dev/null
    ;;
stop)
    if [[ -d $dir/data ]] && bin=$(pg_bin); then
        as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: pg-cluster.sh start|stop|stop-server|start-server DIR" >&2
    exit 2
    ;;
esac
