#!/usr/bin/env bash
# Instructions per HTTP request, evloop's server against hyper, counted by
# callgrind: exact and repeatable where wall-clock and CPU timings are not
# (a shared or noisy machine). Each server runs under callgrind while
# examples/http_bench loads it for SHORT and then LONG seconds; the
# difference in instructions over the difference in requests answered is
# the cost of one request, start-up and connection set-up excluded.
# Only user-space instructions are counted: see STRACE=1 for syscalls.
#
# Run: bash benches/http_instructions.sh
#      SERVERS=http_echo WORKLOADS=get bash benches/http_instructions.sh
#      HYPER_ARGS=--pipeline-flush SERVERS=hyper_echo WORKLOADS=pipe16 bash benches/http_instructions.sh
#      STRACE=1 bash benches/http_instructions.sh   (syscalls per request, strace -c -f)
set -euo pipefail
cd "$(dirname "$0")/.."

SERVERS=${SERVERS:-"http_echo hyper_echo"}
WORKLOADS=${WORKLOADS:-"get pipe16 post1k"}
SHORT=${SHORT:-2}
LONG=${LONG:-6}
PORT=${PORT:-8470}
HYPER_ARGS=${HYPER_ARGS:-}
STRACE=${STRACE:-0}
EX=target/release/examples
cargo build --release --quiet --example http_echo --example hyper_echo --example http_bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

workload_args() {
    case $1 in
        get) echo "--conns 64 --method GET --path /" ;;
        pipe16) echo "--conns 64 --method GET --path / --pipeline 16" ;;
        post1k) echo "--conns 64 --method POST --path /echo --body-size 1024" ;;
        *) echo "unknown workload $1" >&2; exit 2 ;;
    esac
}

# One run: prints "requests count" where count is instructions (callgrind)
# or syscalls (strace).
run() { # server workload secs
    local server=$1 workload=$2 secs=$3 extra=()
    [ "$server" = hyper_echo ] && [ -n "$HYPER_ARGS" ] && read -r -a extra <<<"$HYPER_ARGS"
    local log=$tmp/log
    if [ "$STRACE" = 1 ]; then
        "$EX/$server" --addr "127.0.0.1:$PORT" --workers 1 "${extra[@]}" >/dev/null 2>&1 &
    else
        valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$log" \
            "$EX/$server" --addr "127.0.0.1:$PORT" --workers 1 "${extra[@]}" >/dev/null 2>&1 &
    fi
    local pid=$! tracer=
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.1
    done
    if [ "$STRACE" = 1 ]; then
        # Attached once the server listens, so start-up is not counted;
        # detached (SIGTERM) after the load, which prints the summary.
        strace -c -f -p "$pid" -o "$log" 2>"$tmp/strace.err" &
        tracer=$!
        sleep 1
    fi
    local out
    # shellcheck disable=SC2046
    out=$("$EX/http_bench" --addr "127.0.0.1:$PORT" $(workload_args "$workload") \
        --secs "$secs" --warmup 0 | tail -1)
    sleep 0.3
    if [ -n "$tracer" ]; then
        kill -TERM "$tracer"
        wait "$tracer" || true
    fi
    kill -TERM "$pid"
    wait "$pid" || true
    local requests count
    requests=$(sed 's/.*all_requests=\([0-9]*\).*/\1/' <<<"$out")
    if [ "$STRACE" = 1 ]; then
        count=$(awk '$NF == "total" {print $(NF-2)}' "$log")
    else
        count=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")
    fi
    echo "$requests $count"
}

what=instructions format=%.0f
[ "$STRACE" = 1 ] && what=syscalls format=%.2f
printf '%-11s %-7s %10s %10s %12s\n' server load "req short" "req long" "$what/req"
for workload in $WORKLOADS; do
    for server in $SERVERS; do
        read -r r1 c1 < <(run "$server" "$workload" "$SHORT")
        read -r r2 c2 < <(run "$server" "$workload" "$LONG")
        per=$(awk -v a="$c1" -v b="$c2" -v x="$r1" -v y="$r2" -v f="$format" \
            'BEGIN { printf f, (b - a) / (y - x) }')
        printf '%-11s %-7s %10s %10s %12s\n' "$server" "$workload" "$r1" "$r2" "$per"
    done
done
