#!/usr/bin/env bash
# HTTP server shoot-out: evloop's HTTP server (examples/http_echo.rs)
# against hyper 1.x on tokio (examples/hyper_echo.rs), same routes, under
# the same closed-loop load: examples/http_bench (on evloop; it parses and
# verifies every response, and a wrong one fails the run), and wrk as well
# when it is installed (Debian package `wrk`; not required).
#
# Run: bash benches/http.sh                    (MODE=alternate ROUNDS=3 SECS=3)
#      MODE=together ROUNDS=8 bash benches/http.sh
#      WORKERS=2 bash benches/http.sh          (two workers each; see below)
#      SERVERS=hyper_echo bash benches/http.sh (one server alone: no ratios)
#      HYPER_ARGS=--pipeline-flush bash benches/http.sh
#                                              (hyper batching pipelined responses;
#                                               off by default in hyper, as here)
#
# Workloads (WORKLOADS="get pipe16 post1k" by default):
#   get      GET / over 64 keep-alive connections, one request at a time
#   pipe16   GET / over 64 connections, 16 requests per write (pipelined)
#   post1k   POST /echo with a 1 KiB body over 64 connections, echoed back
#            and compared byte for byte
#
# WORKERS=1 (the default): each server runs one loop (evloop
# `--workers 1`, hyper on tokio's current-thread runtime), pinned to core 0
# with taskset; the generators run on core 1.
# WORKERS=2: evloop `--workers 2` (two loops, SO_REUSEPORT) against hyper
# on tokio's multi-thread runtime with 2 worker threads. Nothing is pinned:
# the server has both cores, and the generators (GENERATORS=2 of them by
# default, the connections split between them) share those same cores, so
# requests/s here is what the pair achieves on the whole machine, and CPU
# per request is the figure to compare.
#
# Server CPU is read before and after the load and divided by the requests
# answered (warm-up included): the sum over all of the server's threads of
# /proc/PID/task/TID/schedstat (nanoseconds), so that a multi-threaded
# server is counted whole; user time alone comes from /proc/PID/stat
# (clock ticks, all threads). Ratios are evloop/hyper, paired round by
# round: requests/s above 1 is better, CPU per request below 1 is better,
# and "req per CPU-s" is hyper's CPU per request over evloop's (the issue's
# target: >= 1.1 for `get`, >= 3 for `pipe16`).
#
# wrk (when present) runs after http_bench against the same server and is
# counted the same way. It checks statuses (a non-2xx answer fails the run
# here) but not bodies; its pipelined workload is its own Lua script, and
# under pipelining its latency percentiles mean little (it reports 0 us
# for the upper ones).
#
# MODE works as in benches/echo.sh: `alternate` runs the servers one after
# another (order flipped every round; throughput is measured), `together`
# runs them all at once, each with its own generator (CPU per request
# compares to within a percent; throughput does not, the generators share
# a core).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${MODE:-alternate}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
WARMUP=${WARMUP:-1}
WORKERS=${WORKERS:-1}
WORKLOADS=${WORKLOADS:-"get pipe16 post1k"}
SERVERS=${SERVERS:-"http_echo hyper_echo"}
PEER=hyper_echo
PORT=${PORT:-8400}
GENERATORS=${GENERATORS:-$WORKERS}
HYPER_ARGS=${HYPER_ARGS:-}   # more flags for hyper_echo, e.g. --pipeline-flush
WRK=${WRK:-auto}   # auto: use wrk when installed; 0: never
case $MODE in alternate | together) ;; *) echo "MODE is alternate or together" >&2; exit 2 ;; esac
case $WORKERS in 1 | 2) ;; *) echo "WORKERS is 1 or 2" >&2; exit 2 ;; esac

missing=()
for server in $SERVERS; do
    [ -e "examples/$server.rs" ] || [ -e "examples/$server/main.rs" ] || missing+=("$server")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "benches/http.sh: no such server example in this tree: ${missing[*]}" >&2
    echo "  (http_echo is evloop's HTTP server, examples/http_echo.rs; to measure the others" >&2
    echo "   alone, name them: SERVERS=hyper_echo bash benches/http.sh)" >&2
    exit 2
fi
examples=()
for server in $SERVERS; do examples+=(--example "$server"); done
cargo build --release --quiet "${examples[@]}" --example http_bench
EX=target/release/examples
HZ=$(getconf CLK_TCK)

if [ "$WRK" != 0 ] && command -v wrk >/dev/null; then
    USE_WRK=1
else
    USE_WRK=0
    [ "$WRK" = 0 ] || echo "note: wrk not installed (apt-get install wrk); http_bench only" >&2
fi

PIN_SERVER=""; PIN_CLIENT=""
if [ "$WORKERS" = 1 ]; then
    if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
        PIN_SERVER="taskset -c 0"; PIN_CLIENT="taskset -c 1"
    else
        echo "note: taskset or a second core missing; running unpinned" >&2
    fi
fi

name() { # the name a server goes by in the report
    case $1 in http_echo) echo evloop ;; hyper_echo) echo hyper ;; *) echo "$1" ;; esac
}

workload_args() { # http_bench flags of a workload
    case $1 in
        get) echo "--conns 64 --method GET --path /" ;;
        pipe16) echo "--conns 64 --method GET --path / --pipeline 16" ;;
        post1k) echo "--conns 64 --method POST --path /echo --body-size 1024" ;;
        *) echo "unknown workload $1 (get, pipe16, post1k)" >&2; exit 2 ;;
    esac
}

cpu_ns() { # CPU time of PID so far, all its threads, in nanoseconds
    if ls /proc/"$1"/task/*/schedstat >/dev/null 2>&1; then
        cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
    else
        awk -v hz="$HZ" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / hz }' "/proc/$1/stat"
    fi
}

user_ticks() { # utime alone (all threads): the server's own code, without the kernel's
    awk '{ sub(/^.*\) /, ""); print $12 }' "/proc/$1/stat"
}

wait_for_port() { # port pid
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.05
    done
    echo "server on port $1 did not come up; its output:" >&2
    cat "$WORK/server.$1.log" >&2
    return 1
}

field() { # field NAME LINE: the value of NAME=... in a key=value line
    sed -E "s/.*[[:space:]]$1=([0-9.]+).*/\1/" <<<" $2"
}

RESULTS=$(mktemp)
WORK=$(mktemp -d)
SERVER_PIDS=()
cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$RESULTS" "$WORK"
}
trap cleanup EXIT

start_server() { # server port: starts it, sets SERVER_PID
    local extra=()
    [ "$1" != hyper_echo ] || read -r -a extra <<<"$HYPER_ARGS"
    "${PIN_SERVER_ARR[@]}" "$EX/$1" --addr "127.0.0.1:$2" --workers "$WORKERS" "${extra[@]}" \
        >"$WORK/server.$2.log" 2>&1 &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
}
read -r -a PIN_SERVER_ARR <<<"$PIN_SERVER"
read -r -a PIN_CLIENT_ARR <<<"$PIN_CLIENT"

stop_server() { # pid
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local pid left=()
    for pid in "${SERVER_PIDS[@]}"; do [ "$pid" = "$1" ] || left+=("$pid"); done
    SERVER_PIDS=("${left[@]}")
}

# http_bench load on one port: GENERATORS processes, connections split
# between them; writes "requests all_requests rps p50 p99" to OUT.
bench_load() { # port workload out
    local args pids=() g conns
    read -r -a args <<<"$(workload_args "$2")"
    conns=$((64 / GENERATORS))
    for g in $(seq "$GENERATORS"); do
        "${PIN_CLIENT_ARR[@]}" "$EX/http_bench" --addr "127.0.0.1:$1" "${args[@]}" \
            --conns "$conns" --secs "$SECS" --warmup "$WARMUP" \
            >"$3.$g" 2>"$3.$g.err" &
        pids+=($!)
    done
    for g in $(seq "$GENERATORS"); do
        if ! wait "${pids[$((g - 1))]}"; then
            echo "http_bench against port $1 ($2) failed:" >&2
            cat "$3.$g.err" >&2
            exit 1
        fi
    done
    for g in $(seq "$GENERATORS"); do tail -n 1 "$3.$g"; done | awk '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          req += v["requests"]; all += v["all_requests"]; rps += v["rps"]
          if (v["p50_us"] > p50) p50 = v["p50_us"]; if (v["p99_us"] > p99) p99 = v["p99_us"] }
        END { print req, all, rps, p50, p99 }' >"$3"
}

# wrk load on one port (no warm-up of its own: the http_bench run before
# it warmed the server); writes "requests all_requests rps p50 p99".
wrk_load() { # port workload out
    local script="$WORK/wrk_$1_$2.lua" path=/  # one per port: loads run at once
    case $2 in
        get) echo "" >"$script" ;;
        pipe16) cat >"$script" <<'LUA' ;;
init = function(args)
    local r = {}
    for i = 1, 16 do r[i] = wrk.format(nil, "/") end
    batch = table.concat(r)
end
request = function() return batch end
LUA
        post1k)
            path=/echo
            cat >"$script" <<'LUA' ;;
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
LUA
    esac
    "${PIN_CLIENT_ARR[@]}" wrk -t "$GENERATORS" -c 64 -d "${SECS}s" --latency -s "$script" \
        "http://127.0.0.1:$1$path" >"$3.wrk" 2>&1 || { cat "$3.wrk" >&2; exit 1; }
    if grep -q "Non-2xx\|Socket errors" "$3.wrk"; then
        echo "wrk saw errors against port $1 ($2):" >&2; cat "$3.wrk" >&2; exit 1
    fi
    awk 'function us(t) { if (t ~ /ms$/) return t * 1000; if (t ~ /us$/) return t + 0; return t * 1e6 }
         / requests in / { req = $1 } /^Requests\/sec:/ { rps = $2 }
         $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) }
         END { printf "%d %d %.0f %.0f %.0f\n", req, req, rps, p50, p99 }' "$3.wrk" >"$3"
}

# Runs the given servers at the same time, each under its own load
# (http_bench, then wrk when present), and appends one RESULTS line per
# server and tool: round server workload tool rps cpu_us user_us p50 p99.
measure() { # round workload servers...
    local round_no=$1 workload=$2; shift 2
    local server pids=() ports=() i tools=(http_bench)
    [ "$USE_WRK" = 1 ] && tools+=(wrk)
    for server in "$@"; do
        ports+=($((PORT++)))
        start_server "$server" "${ports[-1]}"
        pids+=("$SERVER_PID")
    done
    for i in "${!pids[@]}"; do wait_for_port "${ports[$i]}" "${pids[$i]}"; done
    for tool in "${tools[@]}"; do
        local before=() ubefore=() clients=()
        for i in "${!pids[@]}"; do
            before+=("$(cpu_ns "${pids[$i]}")"); ubefore+=("$(user_ticks "${pids[$i]}")")
            if [ "$tool" = wrk ]; then
                wrk_load "${ports[$i]}" "$workload" "$WORK/out.$i" &
            else
                bench_load "${ports[$i]}" "$workload" "$WORK/out.$i" &
            fi
            clients+=($!)
        done
        i=0
        for server in "$@"; do
            wait "${clients[$i]}" || exit 1
            local after uafter req all rps p50 p99 us user
            after=$(cpu_ns "${pids[$i]}"); uafter=$(user_ticks "${pids[$i]}")
            read -r req all rps p50 p99 <"$WORK/out.$i"
            [ "$all" -gt 0 ] || { echo "no requests answered by $server ($tool)" >&2; exit 1; }
            us=$(awk -v ns=$((after - ${before[$i]})) -v m="$all" 'BEGIN { printf "%.3f", ns / 1e3 / m }')
            user=$(awk -v u=$((uafter - ${ubefore[$i]})) -v hz="$HZ" -v m="$all" \
                'BEGIN { printf "%.3f", u / hz * 1e6 / m }')
            printf "%-7s %-7s %-10s %9.0f req/s  %7.3f CPU us/req (user %6.3f)  p50 %6d us  p99 %7d us\n" \
                "$(name "$server")" "$workload" "$tool" "$rps" "$us" "$user" "$p50" "$p99"
            echo "$round_no $server $workload $tool $rps $us $user" >>"$RESULTS"
            i=$((i + 1))
        done
    done
    for pid in "${pids[@]}"; do stop_server "$pid"; done
}

round() { # round_no workload
    local servers=$SERVERS
    if [ "$MODE" = alternate ] && [ $(($1 % 2)) -eq 0 ]; then
        servers=$(tr ' ' '\n' <<<"$SERVERS" | tac | tr '\n' ' ')  # flip the order
    fi
    if [ "$MODE" = together ]; then
        measure "$1" "$2" $servers
    else
        for server in $servers; do measure "$1" "$2" "$server"; done
    fi
}

pinning="servers on core 0, generators on core 1"
[ -n "$PIN_SERVER" ] || pinning="unpinned: servers and generators share every core"
echo "mode: $MODE, WORKERS=$WORKERS ($pinning), $ROUNDS rounds of $SECS s (+$WARMUP s warm-up)"
echo "servers: $SERVERS${HYPER_ARGS:+ (hyper_echo $HYPER_ARGS)}; workloads: $WORKLOADS; load: http_bench x $GENERATORS$([ "$USE_WRK" = 1 ] && echo ", then wrk -t $GENERATORS")"
for round_no in $(seq "$ROUNDS"); do
    echo "--- round $round_no/$ROUNDS"
    for workload in $WORKLOADS; do round "$round_no" "$workload"; done
done

echo
echo "=== $MODE, WORKERS=$WORKERS, $ROUNDS rounds: medians; ratios $(name http_echo)/$(name $PEER), paired round by round"
for workload in $WORKLOADS; do
    for tool in http_bench wrk; do
        for server in $SERVERS; do
            awk -v w="$workload" -v t="$tool" -v s="$server" -v p="$PEER" -v label="$(name "$server")" \
                -v plabel="$(name "$PEER")" -v mode="$MODE" '
                function median(a, n,   i, j, x) {
                    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                        if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
                }
                $3 == w && $4 == t && $2 == s { rps[$1] = $5; cpu[$1] = $6; usr[$1] = $7 }
                $3 == w && $4 == t && $2 == p { prps[$1] = $5; pcpu[$1] = $6; pusr[$1] = $7 }
                END {
                    for (r in rps) { k++; mr[k] = rps[r]; mc[k] = cpu[r] }
                    if (k == 0) exit
                    if (s == p) {  # the peer itself: its own medians only
                        printf "%-7s %-10s %-7s %9.0f req/s  %7.3f CPU us/req\n", w, t, label, median(mr, k), median(mc, k)
                        exit
                    }
                    for (r in rps) if (r in prps) {
                        n++
                        thr[n] = rps[r] / prps[r]; cr[n] = cpu[r] / pcpu[r]; eff[n] = pcpu[r] / cpu[r]
                        ur[n] = pusr[r] > 0 ? usr[r] / pusr[r] : 1
                        if (cr[n] <= 1) cheaper++
                        if (thr[n] >= 1) faster++
                        lo = (n == 1 || cr[n] < lo) ? cr[n] : lo
                        hi = (n == 1 || cr[n] > hi) ? cr[n] : hi
                    }
                    printf "%-7s %-10s %-7s %9.0f req/s  %7.3f CPU us/req", w, t, label, median(mr, k), median(mc, k)
                    if (n == 0) { printf "  (no %s rounds to pair with)\n", plabel; exit }
                    printf "  CPU/req ratio %.3f (range %.3f-%.3f, <= %s in %d of %d), req per CPU-s %.2fx",
                        median(cr, n), lo, hi, plabel, cheaper + 0, n, median(eff, n)
                    if (mode != "together")
                        printf ", req/s ratio %.3f (>= %s in %d of %d)", median(thr, n), plabel, faster + 0, n
                    printf ", user CPU ratio %.3f\n", median(ur, n)
                }' "$RESULTS"
        done
    done
done
