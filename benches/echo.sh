#!/usr/bin/env bash
# Echo server shoot-out: evloop (examples/echo.rs) against tokio's
# current-thread runtime (examples/tokio_echo.rs), with a hand-written mio
# loop (examples/mio_echo.rs) as the floor no runtime can go below, all
# under the same closed-loop load (examples/echo_bench.rs, on evloop).
#
# Run: bash benches/echo.sh                 (MODE=alternate ROUNDS=3 SECS=3)
#      MODE=together ROUNDS=8 bash benches/echo.sh
#      WORKERS=2 bash benches/echo.sh       (two workers each; see below)
#
# Servers are pinned to core 0 and load generators to core 1 (taskset). For
# each server we read its CPU time before and after the load (nanoseconds
# from /proc/PID/schedstat; utime + stime from /proc/PID/stat where that is
# missing) and divide by the messages echoed: CPU microseconds per message.
# Ratios are against tokio: above 1 is better for throughput, below 1 is
# better for CPU per message.
#
# Two ways to take turns (docs/performance.md says what each shows):
#   alternate  the servers run one after another, in an order that flips
#              each round; a server has the machine to itself, so its
#              throughput is measured, but a shared VM's speed drifts from
#              one run to the next by more than the servers differ.
#   together   all servers run at the same time, each with its own load
#              generator: every moment's machine speed hits them alike, so
#              CPU per message compares to within a percent. Throughput is
#              not compared here: the generators share core 1 and set it...
#   together with QUOTA=30
#              ...unless each server is held to the same CPU budget (30% of
#              core 0, by a cgroup; needs root): then the servers are the
#              bottleneck, and throughput says who echoes more per CPU.
#
# WORKERS=1 (the default) gives each server one loop: evloop's echo gets
# `--workers 1` (its default is every core), tokio_echo runs tokio's
# current-thread runtime. WORKERS=2 compares evloop's echo `--workers 2`
# (two loops, each its own SO_REUSEPORT listener) with tokio_echo
# `--workers 2` (the multi-thread runtime, 2 worker threads, one listener).
# Then nothing is pinned: each server has both cores, and its load
# generators (GENERATORS=2 by default, the connections split between them)
# share the same two cores, so CPU per message is the figure to compare;
# messages/s is what server and generators achieve together. The mio floor
# is single-threaded and sits this mode out. CPU time counts every thread
# of the server (the per-thread schedstat files, summed).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${MODE:-alternate}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
WARMUP=${WARMUP:-1}
WORKLOADS=${WORKLOADS:-"64:64 256:1024"}   # conns:size
WORKERS=${WORKERS:-1}
case $WORKERS in
    1) SERVERS=${SERVERS:-"echo tokio_echo mio_echo"} ;;
    2) SERVERS=${SERVERS:-"echo tokio_echo"} ;;
    *) echo "WORKERS is 1 or 2" >&2; exit 2 ;;
esac
GENERATORS=${GENERATORS:-$WORKERS}
PORT=${PORT:-7400}
QUOTA=${QUOTA:-}   # percent of one core per server, MODE=together only
case $MODE in alternate | together) ;; *) echo "MODE is alternate or together" >&2; exit 2 ;; esac
if [ -n "$QUOTA" ] && [ "$MODE" != together ]; then
    echo "QUOTA needs MODE=together" >&2; exit 2
fi
if [ -n "$QUOTA" ] && [ "$WORKERS" != 1 ]; then
    echo "QUOTA is a share of one core: it needs WORKERS=1" >&2; exit 2
fi
if [ "$WORKERS" != 1 ]; then
    if [[ " $SERVERS " == *" mio_echo "* ]]; then
        echo "mio_echo has one loop only: leave it out of WORKERS=$WORKERS" >&2; exit 2
    fi
    # Today's echo ignores flags after its address: it would quietly run
    # one loop. Its --workers comes with evloop's workers layer.
    if [[ " $SERVERS " == *" echo "* ]] && ! grep -q -- '--workers' examples/echo.rs; then
        echo "examples/echo.rs in this tree has no --workers yet (evloop's workers layer adds it)" >&2
        exit 2
    fi
fi

cargo build --release --quiet --example echo --example tokio_echo --example mio_echo \
    --example echo_bench
EX=target/release/examples
HZ=$(getconf CLK_TCK)
PIN_SERVER="taskset -c 0"
PIN_CLIENT="taskset -c 1"
if [ "$WORKERS" != 1 ]; then
    PIN_SERVER=""; PIN_CLIENT=""   # servers and generators share every core
elif ! command -v taskset >/dev/null || [ "$(nproc)" -lt 2 ]; then
    echo "note: taskset or a second core missing; running unpinned" >&2
    PIN_SERVER=""; PIN_CLIENT=""
fi

name() { # the name a server goes by in the report
    case $1 in echo) echo evloop ;; tokio_echo) echo tokio ;; mio_echo) echo mio-floor ;; *) echo "$1" ;; esac
}

workers_flag() { # the flag that sets a server's loop count (mio_echo has none)
    case $1 in mio_echo) ;; *) echo "--workers $WORKERS" ;; esac
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

wait_for_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "server on port $1 did not come up" >&2; return 1
}

field() { # field NAME LINE: the value of NAME=... in a key=value line
    sed -E "s/.*[[:space:]]$1=([0-9.]+).*/\1/" <<<" $2"
}

RESULTS=$(mktemp)
WORK=$(mktemp -d)
CGROUPS=()
cleanup() {
    rm -rf "$RESULTS" "$WORK"
    for cg in "${CGROUPS[@]}"; do rmdir "$cg" 2>/dev/null || true; done
}
trap cleanup EXIT

# QUOTA: one CPU cgroup per server, each allowed QUOTA% of a core (in 10 ms
# periods, so that a throttled server waits milliseconds, not 100 ms).
if [ -n "$QUOTA" ]; then
    for server in $SERVERS; do
        if [ -e /sys/fs/cgroup/cgroup.controllers ]; then             # cgroup v2
            cg=/sys/fs/cgroup/echo_sh_$server
            mkdir -p "$cg" && echo "$((QUOTA * 100)) 10000" >"$cg/cpu.max"
        else                                                          # cgroup v1
            cg=/sys/fs/cgroup/cpu/echo_sh_$server
            mkdir -p "$cg" && echo 10000 >"$cg/cpu.cfs_period_us" &&
                echo $((QUOTA * 100)) >"$cg/cpu.cfs_quota_us"
        fi || { echo "QUOTA: cannot set up a CPU cgroup (root and a cpu controller needed)" >&2; exit 2; }
        CGROUPS+=("$cg")
    done
fi

cgroup_prefix() { # server: a command prefix that runs what follows in its cgroup
    CGROUP_PREFIX=()
    [ -n "$QUOTA" ] || return 0
    local cg=/sys/fs/cgroup/echo_sh_$1
    [ -d "$cg" ] || cg=/sys/fs/cgroup/cpu/echo_sh_$1
    # The shell joins the cgroup, then becomes the server (same PID).
    CGROUP_PREFIX=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg")
}

# One round of one workload: start SERVERS (all at once or one by one),
# load each with its own echo_bench, append a line per server to RESULTS.
round() { # round_no conns size
    local round_no=$1 conns=$2 size=$3 servers=$SERVERS
    if [ "$MODE" = alternate ] && [ $((round_no % 2)) -eq 0 ]; then
        servers=$(tr ' ' '\n' <<<"$SERVERS" | tac | tr '\n' ' ')  # flip the order
    fi
    if [ "$MODE" = together ]; then
        measure $servers
    else
        for server in $servers; do measure "$server"; done
    fi
    for server in $SERVERS; do
        local out; out=$(tail -n 1 "$WORK/$server.out")
        local mps us user
        mps=$(field msgs_per_sec "$out")
        us=$(cut -d' ' -f1 "$WORK/$server.cpu")
        user=$(cut -d' ' -f2 "$WORK/$server.cpu")
        printf "%-10s %4d x %-5d  %10.0f msgs/s  %7.3f CPU us/msg (user %6.3f)  p50 %5d us  p99 %6d us\n" \
            "$(name "$server")" "$conns" "$size" "$mps" "$us" "$user" \
            "$(field p50_us "$out")" "$(field p99_us "$out")"
        echo "$round_no $server $conns:$size $mps $us $user" >>"$RESULTS"
    done
}

load() { # port out: GENERATORS echo_benches splitting the connections; their
         # last lines summed into one line of the same keys in OUT
    local g pids=()
    for g in $(seq "$GENERATORS"); do
        $PIN_CLIENT "$EX/echo_bench" --addr "127.0.0.1:$1" --conns $((conns / GENERATORS)) \
            --size "$size" --secs "$SECS" --warmup "$WARMUP" >"$2.$g" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    for g in $(seq "$GENERATORS"); do tail -n 1 "$2.$g"; done | awk '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          msgs += v["msgs_per_sec"]; all += v["all_msgs"]
          if (v["p50_us"] > p50) p50 = v["p50_us"]; if (v["p99_us"] > p99) p99 = v["p99_us"] }
        END { printf "all_msgs=%d msgs_per_sec=%.0f p50_us=%d p99_us=%d\n", all, msgs, p50, p99 }' >"$2"
}

measure() { # servers...: run them at the same time, each with its own load
    local server pids=() clients=() ports=() before=() ubefore=() i=0
    for server in "$@"; do
        ports+=($((PORT++)))
        cgroup_prefix "$server"
        "${CGROUP_PREFIX[@]}" $PIN_SERVER "$EX/$server" "127.0.0.1:${ports[-1]}" \
            $(workers_flag "$server") >/dev/null 2>&1 &
        pids+=($!)
    done
    for server in "$@"; do
        wait_for_port "${ports[$i]}"
        before+=("$(cpu_ns "${pids[$i]}")"); ubefore+=("$(user_ticks "${pids[$i]}")")
        load "${ports[$i]}" "$WORK/$server.out" &
        clients+=($!)
        i=$((i + 1))
    done
    i=0
    for server in "$@"; do
        wait "${clients[$i]}"
        local after uafter msgs
        after=$(cpu_ns "${pids[$i]}"); uafter=$(user_ticks "${pids[$i]}")
        kill "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null || true
        msgs=$(field all_msgs "$(tail -n 1 "$WORK/$server.out")")
        awk -v ns=$((after - ${before[$i]})) -v u=$((uafter - ${ubefore[$i]})) -v hz="$HZ" \
            -v m="$msgs" 'BEGIN { printf "%.3f %.3f\n", ns / 1e3 / m, u / hz * 1e6 / m }' \
            >"$WORK/$server.cpu"
        i=$((i + 1))
    done
}

echo "mode: $MODE${QUOTA:+, $QUOTA% of a core per server}, WORKERS=$WORKERS$([ -n "$PIN_SERVER" ] || echo " (unpinned)"), $ROUNDS rounds of $SECS s (+$WARMUP s warm-up), servers: $SERVERS"
for round_no in $(seq "$ROUNDS"); do
    echo "--- round $round_no/$ROUNDS"
    for workload in $WORKLOADS; do
        round "$round_no" "${workload%%:*}" "${workload##*:}"
    done
done

echo
echo "=== $MODE${QUOTA:+ (QUOTA=$QUOTA)}, WORKERS=$WORKERS, $ROUNDS rounds: medians; ratios against tokio, paired round by round"
for workload in $WORKLOADS; do
    for server in $SERVERS; do
        if [ "$server" = tokio_echo ]; then   # the peer: its own medians
            awk -v w="$workload" '
                function median(a, n,   i, j, t) {
                    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                        if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
                }
                $3 == w && $2 == "tokio_echo" { n++; mps[n] = $4; cpu[n] = $5 }
                END {
                    split(w, p, ":")
                    if (n) printf "%4d conns x %5d B  tokio     CPU/msg %6.3f us, %.0f msgs/s\n",
                        p[1], p[2], median(cpu, n), median(mps, n)
                }' "$RESULTS"
            continue
        fi
        awk -v w="$workload" -v s="$server" -v label="$(name "$server")" -v mode="$MODE$QUOTA" '
            function median(a, n,   i, j, t) {
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                    if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            $3 == w && $2 == s          { mps[$1] = $4; cpu[$1] = $5; usr[$1] = $6 }
            $3 == w && $2 == "tokio_echo" { tmps[$1] = $4; tcpu[$1] = $5; tusr[$1] = $6 }
            END {
                for (r in mps) if (r in tmps) {
                    n++
                    thr[n] = mps[r] / tmps[r]; cr[n] = cpu[r] / tcpu[r]
                    ur[n] = tusr[r] > 0 ? usr[r] / tusr[r] : 1
                    if (cr[n] <= 1) cheaper++
                    if (thr[n] >= 1) faster++
                    lo = (n == 1 || cr[n] < lo) ? cr[n] : lo
                    hi = (n == 1 || cr[n] > hi) ? cr[n] : hi
                    e[n] = cpu[r]; t[n] = tcpu[r]
                }
                split(w, p, ":")
                printf "%4d conns x %5d B  %-9s CPU/msg %6.3f us vs tokio %6.3f: ratio %.3f (range %.3f-%.3f, <= 1 in %d of %d)",
                    p[1], p[2], label, median(e, n), median(t, n), median(cr, n), lo, hi, cheaper, n
                if (mode != "together")
                    printf "; throughput ratio %.3f (>= 1 in %d of %d); user CPU ratio %.3f",
                        median(thr, n), faster, n, median(ur, n)
                printf "\n"
            }' "$RESULTS"
    done
done
