#!/usr/bin/env bash
# Echo server shoot-out: evloop (examples/echo.rs) against tokio's
# current-thread runtime (examples/tokio_echo.rs), under the same closed-loop
# load (examples/echo_bench.rs, itself on evloop).
#
# Run: bash benches/echo.sh            (ROUNDS=3 SECS=3 WARMUP=1 by default)
#
# The server is pinned to core 0 and the load generator to core 1 (taskset);
# the two servers take turns, several rounds, so drift on a shared machine
# hits both alike. For each run we read the server's CPU time
# (utime + stime from /proc/PID/stat) before and after the load, and divide
# by the messages echoed: CPU microseconds per message, the cost that
# matters once the server is the bottleneck. Ratios are evloop / tokio:
# above 1 is better for throughput, below 1 is better for CPU per message.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
WARMUP=${WARMUP:-1}
WORKLOADS=${WORKLOADS:-"64:64 256:1024"}   # conns:size
PORT=${PORT:-7400}

cargo build --release --quiet --example echo --example tokio_echo --example echo_bench
EX=target/release/examples
HZ=$(getconf CLK_TCK)
PIN_SERVER="taskset -c 0"
PIN_CLIENT="taskset -c 1"
if ! command -v taskset >/dev/null || [ "$(nproc)" -lt 2 ]; then
    echo "note: taskset or a second core missing; running unpinned" >&2
    PIN_SERVER=""; PIN_CLIENT=""
fi

cpu_ticks() { # utime + stime of PID, in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

user_ticks() { # utime alone: the runtime's own code, without the kernel's
    awk '{ sub(/^.*\) /, ""); print $12 }' "/proc/$1/stat"
}

wait_for_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "server on port $1 did not come up" >&2; return 1
}

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT

run_one() { # server conns size round
    local server=$1 conns=$2 size=$3 port=$((PORT++))
    $PIN_SERVER "$EX/$server" "127.0.0.1:$port" >/dev/null 2>&1 &
    local pid=$!
    wait_for_port "$port"
    local before; before=$(cpu_ticks "$pid")
    local ubefore; ubefore=$(user_ticks "$pid")
    local out; out=$($PIN_CLIENT "$EX/echo_bench" --addr "127.0.0.1:$port" \
        --conns "$conns" --size "$size" --secs "$SECS" --warmup "$WARMUP" | tail -n 1)
    local after; after=$(cpu_ticks "$pid")
    local uafter; uafter=$(user_ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    local all_msgs mps p50 p99
    all_msgs=$(sed -E 's/.*all_msgs=([0-9]+).*/\1/' <<<"$out")
    mps=$(sed -E 's/.*msgs_per_sec=([0-9.]+).*/\1/' <<<"$out")
    p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$out")
    p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$out")
    local us_per_msg user_us
    us_per_msg=$(awk -v t=$((after - before)) -v hz="$HZ" -v m="$all_msgs" \
        'BEGIN { printf "%.3f", t / hz * 1e6 / m }')
    user_us=$(awk -v t=$((uafter - ubefore)) -v hz="$HZ" -v m="$all_msgs" \
        'BEGIN { printf "%.3f", t / hz * 1e6 / m }')
    printf "%-10s %4d x %-5d  %10.0f msgs/s  %7.3f CPU us/msg (user %6.3f)  p50 %5d us  p99 %6d us\n" \
        "${server%_echo}" "$conns" "$size" "$mps" "$us_per_msg" "$user_us" "$p50" "$p99"
    echo "$server $conns:$size $mps $us_per_msg $user_us" >>"$RESULTS"
}

for round in $(seq "$ROUNDS"); do
    echo "--- round $round/$ROUNDS"
    for workload in $WORKLOADS; do
        conns=${workload%%:*}; size=${workload##*:}
        run_one echo "$conns" "$size"
        run_one tokio_echo "$conns" "$size"
    done
done

echo
echo "=== median over $ROUNDS rounds (ratio = evloop / tokio)"
for workload in $WORKLOADS; do
    awk -v w="$workload" '
        function median(a, n,   i, j, t) {
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        $2 == w && $1 == "echo"       { et[++ne] = $3; ec[ne] = $4; eu[ne] = $5 }
        $2 == w && $1 == "tokio_echo" { tt[++nt] = $3; tc[nt] = $4; tu[nt] = $5 }
        END {
            # Paired: each evloop run against the tokio run right after it.
            for (i = 1; i <= ne && i <= nt; i++) pr[i] = ec[i] / tc[i]
            paired = median(pr, (ne < nt ? ne : nt))
            e_t = median(et, ne); t_t = median(tt, nt)
            e_c = median(ec, ne); t_c = median(tc, nt)
            e_u = median(eu, ne); t_u = median(tu, nt)
            split(w, p, ":")
            printf "%4d conns x %5d B: evloop %9.0f msgs/s %6.3f us/msg | tokio %9.0f msgs/s %6.3f us/msg | throughput ratio %.3f, CPU/msg ratio %.3f (paired %.3f), user CPU/msg ratio %.3f\n",
                p[1], p[2], e_t, e_c, t_t, t_c, e_t / t_t, e_c / t_c, paired, e_u / t_u
        }' "$RESULTS"
done
