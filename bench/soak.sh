#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Soak benchmark: `sluice agent` (netcat source with per-event acks -> memory
# or durable `file` channel -> null sink) under sluice-loadgen at a fixed 50 %
# of its maximum acknowledged rate for DURATION seconds, sampling every second
# the agent's RSS (/proc/PID/status VmRSS), its open files (/proc/PID/fd) and
# its receipt-to-sink latency (the per-second delta of the sink's histogram on
# GET /prometheus). Writes a CSV, draws a PNG with gnuplot, and fails (exit 1)
# on growth. bench/README.md ("Soak") documents the knobs and the criteria.
#
#   BUILD=build/release bench/soak.sh                  # 30 min, memory channel
#   DURATION=60 CHANNEL=file PLOT=/tmp/s.png bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build/release}
DURATION=${DURATION:-1800}          # seconds of load
CHANNEL=${CHANNEL:-memory}          # memory | file
RATE=${RATE:-}                      # events/s; empty: 50 % of a measured maximum
RATE_PCT=${RATE_PCT:-50}            # percent of the maximum when RATE is empty
MAX_SECONDS=${MAX_SECONDS:-15}      # length of the maximum-rate measurement
CONNS=${CONNS:-4}
LINE_BYTES=${LINE_BYTES:-100}
ENGINE_CPU=${ENGINE_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
RSS_GROWTH_PCT=${RSS_GROWTH_PCT:-10} # allowed growth of the median RSS, final window over the base window
FD_GROWTH=${FD_GROWTH:-0}            # allowed growth of the median open-file count
START_TIMEOUT=${START_TIMEOUT:-20}
LOADGEN=${LOADGEN:-$BUILD/tools/sluice-loadgen}
SLUICE=${SLUICE:-$BUILD/tools/sluice}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-soak.XXXXXX")}
CSV=${CSV:-$OUT/soak.csv}
PLOT=${PLOT:-docs/img/soak.png}
mkdir -p "$OUT" "$(dirname "$PLOT")"

die() {
    echo "soak: FAIL: $*" >&2
    exit 1
}
log() { echo "soak: $*" >&2; }

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive number of seconds"
((DURATION >= 30)) || die "DURATION must be at least 30 s (the growth check compares windows of DURATION/6)"
[[ $CHANNEL == memory || $CHANNEL == file ]] || die "CHANNEL must be memory or file"
[[ -x $LOADGEN ]] || die "load generator not found: $LOADGEN (Release build into $BUILD, or set LOADGEN=)"
[[ -x $SLUICE ]] || die "sluice binary not found: $SLUICE (set SLUICE=)"
for tool in taskset timeout ss awk sort; do
    command -v "$tool" >/dev/null || die "'$tool' is required but not installed"
done
if ! command -v gnuplot >/dev/null; then
    log "installing gnuplot (Debian gnuplot-nox)"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi

BG_PIDS=()
cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port

# GET /prometheus from the agent's monitor (curl if present, else bash's /dev/tcp).
scrape() {
    if command -v curl >/dev/null; then
        curl -s --max-time 2 "http://127.0.0.1:$1/prometheus"
    else
        local body
        exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
        printf 'GET /prometheus HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
        body=$(timeout 2 cat <&3) || true
        exec 3<&-
        printf '%s\n' "${body#*$'\r\n\r\n'}"
    fi
}

kv() {
    local v
    v=$(grep -o "\b$1=[^ ]*" "$2" | head -n 1 | cut -d= -f2)
    [[ -n $v ]] || die "no '$1=' in $2: $(head -c 400 "$2")"
    echo "$v"
}

# Starts an agent on ENGINE_CPU in directory $1; sets AGENT, PORT, MON. A
# port picked free may be taken before the agent binds it (a busy machine's
# ephemeral ports): then it tries again with new ports, up to 5 times.
start_agent() {
    local attempt
    for attempt in 1 2 3 4 5; do
        if try_start_agent "$1"; then return 0; fi
        grep -q "Address already in use" "$1/agent.err" || die "agent exited at start: $(tail -n 20 "$1/agent.err")"
        log "port taken before the agent bound it; trying other ports"
    done
    die "agent could not bind a free port in 5 attempts: $(tail -n 5 "$1/agent.err")"
}

try_start_agent() {
    local dir=$1 i
    mkdir -p "$dir"
    PORT=$(free_port)
    MON=$(free_port)
    [[ $MON != "$PORT" ]] || MON=$(free_port)
    cat >"$dir/agent.properties" <<EOF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $PORT
a1.sources.r1.ack-every-event = true
a1.sources.r1.channels = c1
a1.channels.c1.type = $CHANNEL
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 10000
a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 10000
a1.sinks.k1.channel = c1
EOF
    if [[ $CHANNEL == file ]]; then
        printf 'a1.channels.c1.checkpointDir = %s\na1.channels.c1.dataDirs = %s\n' "$dir/checkpoint" "$dir/data" >>"$dir/agent.properties"
    fi
    taskset -c "$ENGINE_CPU" "$SLUICE" agent -n a1 -f "$dir/agent.properties" --shards 1 \
        -Dsluice.monitoring.type=http -Dsluice.monitoring.port="$MON" >"$dir/agent.out" 2>"$dir/agent.err" &
    AGENT=$!
    BG_PIDS+=("$AGENT")
    for ((i = 0; i < START_TIMEOUT * 20; i++)); do
        if ! kill -0 "$AGENT" 2>/dev/null; then
            wait "$AGENT" || true
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$MON") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    die "agent not listening on $PORT and $MON after ${START_TIMEOUT}s"
}

# Stops the agent and checks that its sink drained exactly $2 events.
stop_agent() {
    local dir=$1 want=$2 drained
    kill -TERM "$AGENT"
    wait "$AGENT" || die "agent exited with an error: $(tail -n 20 "$dir/agent.err")"
    drained=$(grep '^SINK\.k1:' "$dir/agent.err" | grep -o 'EventDrainSuccessCount=[0-9]*' | cut -d= -f2 || true)
    [[ $drained == "$want" ]] || die "sink drained '${drained:-?}' events, loadgen had $want acknowledged (see $dir/agent.err)"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
log "output in $OUT; channel=$CHANNEL duration=${DURATION}s conns=$CONNS line_bytes=$LINE_BYTES commit=$commit load=$(loadavg)"

# 1. The maximum acknowledged rate (a fresh agent, thrown away afterwards so
#    the soak starts from a clean process).
if [[ -z $RATE ]]; then
    start_agent "$OUT/max"
    timeout $((MAX_SECONDS + 60)) taskset -c "$LOADGEN_CPU" "$LOADGEN" --proto netcat --port "$PORT" \
        --duration "$MAX_SECONDS" --conns "$CONNS" --line-bytes "$LINE_BYTES" --acks --quiet \
        >"$OUT/max/loadgen.out" 2>"$OUT/max/loadgen.err" || die "max-rate loadgen failed: $(cat "$OUT/max/loadgen.err")"
    max_rate=$(kv events_per_s "$OUT/max/loadgen.out")
    [[ $(kv failed "$OUT/max/loadgen.out") == 0 ]] || die "max-rate run had failed acks"
    stop_agent "$OUT/max" "$(kv acks "$OUT/max/loadgen.out")"
    RATE=$(awk -v m="$max_rate" -v p="$RATE_PCT" 'BEGIN { printf "%d", m * p / 100 }')
    log "maximum acknowledged rate ${max_rate} events/s over ${MAX_SECONDS}s -> soak rate $RATE ($RATE_PCT %)"
else
    max_rate=-
    log "soak rate $RATE events/s (from RATE)"
fi

# 2. The soak.
start_agent "$OUT/soak"
load_start=$(loadavg)
taskset -c "$LOADGEN_CPU" "$LOADGEN" --proto netcat --port "$PORT" --duration "$DURATION" --rate "$RATE" \
    --conns "$CONNS" --line-bytes "$LINE_BYTES" --acks --quiet >"$OUT/soak/loadgen.out" 2>"$OUT/soak/loadgen.err" &
LG=$!
BG_PIDS+=("$LG")

# Sampler: one row per second while loadgen runs. Latency columns are from
# the delta of the sink's cumulative histogram since the previous second:
# events delivered, their mean (sum/count), and for p50 and p99 the upper
# bound of the bucket the quantile falls in (buckets 1, 2, 5, 10, 25, ... ms).
# The agent stamps events in whole milliseconds, so a latency is a difference
# of millisecond clocks: the mean of sub-millisecond latencies shows how often
# a millisecond tick fell between receipt and delivery, and "1" in a quantile
# column means "at most 1 ms".
echo "t_s,rss_kb,fds,delivered,lat_mean_ms,lat_p50_le_ms,lat_p99_le_ms,loadavg1" >"$CSV"
prev=""
# Bash builtins where possible ($EPOCHREALTIME, read, globs): on a loaded
# machine every process spawned per sample costs time, and the column t_s is
# the real time since the start, so a late sample is late, not mislabelled.
now_us() { local t=$EPOCHREALTIME; echo $((10#${t/./})); }
t0_us=$(now_us)
n=0
while kill -0 "$LG" 2>/dev/null; do
    n=$((n + 1))
    # Sleep to the next whole second since t0 (seconds already missed are skipped).
    el=$(($(now_us) - t0_us))
    wait_us=$(((el / 1000000 + 1) * 1000000 - el))
    sleep "$((wait_us / 1000000)).$(printf '%06d' $((wait_us % 1000000)))"
    kill -0 "$LG" 2>/dev/null || break  # load is over: no sample of the idle agent
    kill -0 "$AGENT" 2>/dev/null || die "agent died during the soak: $(tail -n 20 "$OUT/soak/agent.err")"
    el=$(($(now_us) - t0_us))
    t_s="$((el / 1000000)).$(printf '%01d' $((el % 1000000 / 100000)))"
    rss=""
    while read -r key val _; do
        if [[ $key == VmRSS: ]]; then rss=$val; break; fi
    done <"/proc/$AGENT/status"
    fd_list=("/proc/$AGENT/fd/"*)
    fds=${#fd_list[@]}
    read -r la _ </proc/loadavg
    { read -r row || true; read -r hist || true; } < <(scrape "$MON" | awk -v prev="$prev" -v t="$t_s" -v rss="$rss" -v fds="$fds" -v la="$la" '
        function parse(s, arr, keys,   parts, i, kv, k) {
            k = split(s, parts, " ")
            for (i = 1; i <= k; i++) { split(parts[i], kv, ":"); arr[kv[1]] = kv[2]; keys[i] = kv[1] }
            return k
        }
        /^sluice_sink_delivery_latency_seconds_bucket\{name="k1"/ {
            bound = $0; sub(/.*le="/, "", bound); sub(/".*/, "", bound); cur = cur bound ":" $2 " " }
        /^sluice_sink_delivery_latency_seconds_sum\{name="k1"/ { cur = cur "sum:" $2 " " }
        END {
            nb = parse(cur, c, order)
            if (prev != "") parse(prev, p, pk)
            # buckets in exposition order (the last is +Inf), then the sum
            nbk = 0
            for (i = 1; i <= nb; i++) if (order[i] != "sum") { nbk++; le[nbk] = order[i]; d[nbk] = c[order[i]] - (order[i] in p ? p[order[i]] : 0) }
            total = nbk ? d[nbk] : 0
            dsum = c["sum"] - ("sum" in p ? p["sum"] : 0)
            if (total <= 0) { printf "%s,%d,%d,0,,,,%s\n%s\n", t, rss, fds, la, cur; exit }
            mean = dsum * 1000 / total
            split("0.5 0.99", qs, " ")
            for (q = 1; q <= 2; q++) {
                rank = qs[q] * total; res[q] = ""
                for (b = 1; b <= nbk; b++)
                    if (d[b] >= rank) { res[q] = (le[b] == "+Inf") ? "inf" : le[b] * 1000; break }
            }
            printf "%s,%d,%d,%d,%.3f,%s,%s,%s\n%s\n", t, rss, fds, total, mean, res[1], res[2], la, cur
        }')
    [[ -n $hist ]] && prev=$hist
    echo "$row" >>"$CSV"
    if ((n % 60 == 0)); then log "t=${t_s}s rss=${rss}kB fds=$fds load=$(loadavg)"; fi
done
wait "$LG" || die "loadgen failed: $(cat "$OUT/soak/loadgen.err")"
load_end=$(loadavg)
acks=$(kv acks "$OUT/soak/loadgen.out")
failed=$(kv failed "$OUT/soak/loadgen.out")
lg_p50=$(kv p50_us "$OUT/soak/loadgen.out")
lg_p99=$(kv p99_us "$OUT/soak/loadgen.out")
achieved=$(kv events_per_s "$OUT/soak/loadgen.out")
stop_agent "$OUT/soak" "$acks"
[[ $failed == 0 ]] || die "loadgen saw $failed failed acks"

# 3. Growth check: the base window is seconds [D/6, D/3) (minutes 5-10 of
#    30), the final window the last D/6 seconds (the last 5 minutes).
base_from=$((DURATION / 6))
base_to=$((DURATION / 3))
final_from=$((DURATION - DURATION / 6))
median_of() { # COLUMN FROM TO (t_s in [FROM, TO))
    awk -F, -v c="$1" -v a="$2" -v b="$3" 'NR > 1 && $1 >= a && $1 < b && $c != "" { print $c }' "$CSV" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
max_of() { awk -F, -v c="$1" -v a="$2" -v b="$3" 'NR > 1 && $1 >= a && $1 < b && $c != "" && ($c + 0 > m + 0 || m == "") { m = $c } END { print (m == "" ? "nan" : m) }' "$CSV"; }
rss_base=$(median_of 2 "$base_from" "$base_to")
rss_final=$(median_of 2 "$final_from" $((DURATION + 10)))
fd_base=$(median_of 3 "$base_from" "$base_to")
fd_final=$(median_of 3 "$final_from" $((DURATION + 10)))
rss_first=$(awk -F, 'NR == 2 { print $2 }' "$CSV")
rss_last=$(tail -n 1 "$CSV" | cut -d, -f2)
rss_max=$(max_of 2 0 $((DURATION + 10)))
fd_max=$(max_of 3 0 $((DURATION + 10)))
p50_base=$(median_of 6 "$base_from" "$base_to")
p50_final=$(median_of 6 "$final_from" $((DURATION + 10)))
p99_base=$(median_of 7 "$base_from" "$base_to")
p99_final=$(median_of 7 "$final_from" $((DURATION + 10)))
p99_max=$(max_of 7 0 $((DURATION + 10)))
rss_growth=$(awk -v a="$rss_base" -v b="$rss_final" 'BEGIN { printf "%.2f", (b - a) * 100 / a }')

summary=$OUT/summary.txt
{
    echo "commit=$commit channel=$CHANNEL duration_s=$DURATION conns=$CONNS line_bytes=$LINE_BYTES"
    echo "max_rate=$max_rate rate=$RATE achieved_events_per_s=$achieved acks=$acks failed=$failed"
    echo "rss_kb first=$rss_first last=$rss_last max=$rss_max base_median=$rss_base final_median=$rss_final growth_pct=$rss_growth (limit $RSS_GROWTH_PCT)"
    echo "fds base_median=$fd_base final_median=$fd_final max=$fd_max (allowed growth $FD_GROWTH)"
    echo "agent_latency_bucket_ms p50 base=$p50_base final=$p50_final; p99 base=$p99_base final=$p99_final max_per_second=$p99_max"
    echo "loadgen_ack_latency_us p50=$lg_p50 p99=$lg_p99"
    echo "windows_s base=[$base_from,$base_to) final=[$final_from,$DURATION)"
    echo "loadavg start=\"$load_start\" end=\"$load_end\""
    echo "csv=$CSV plot=$PLOT"
} >"$summary"
cat "$summary"

# 4. The plot: RSS, open files, latency against time.
gnuplot <<EOF
set terminal pngcairo size 1200,900 font ",10"
set output "$PLOT"
set datafile separator ","
set key bottom right
set grid
set multiplot layout 3,1 title "sluice soak: netcat (acks) -> $CHANNEL -> null, $RATE events/s for ${DURATION} s, commit $commit, load $load_start -> $load_end"
set xlabel "time (s)"
set ylabel "RSS (MiB)"
set yrange [0:*]
plot "$CSV" every ::1 using 1:(\$2/1024) with lines lw 1.5 title "VmRSS"
set ylabel "open files"
set yrange [0:*]
plot "$CSV" every ::1 using 1:3 with steps lw 1.5 title "/proc/PID/fd"
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set ylabel "latency (ms)"
plot "$CSV" every ::1 using 1:7 with steps lw 1.5 title "agent receipt-to-sink p99 (bucket bound, per second)", \
     "$CSV" every ::1 using 1:6 with steps lw 1.5 title "agent p50 (bucket bound)", \
     "$CSV" every ::1 using 1:5 with lines lw 1 title "agent mean (1 ms clock ticks)"
unset multiplot
EOF
log "plot written to $PLOT"

# 5. Verdict.
awk -v g="$rss_growth" -v l="$RSS_GROWTH_PCT" 'BEGIN { exit !(g > l) }' &&
    die "RSS grew ${rss_growth} % (median ${rss_base} kB in [$base_from,$base_to) s -> ${rss_final} kB in the last $((DURATION / 6)) s; limit ${RSS_GROWTH_PCT} %)"
awk -v a="$fd_base" -v b="$fd_final" -v g="$FD_GROWTH" 'BEGIN { exit !(b > a + g) }' &&
    die "open files grew (median $fd_base in [$base_from,$base_to) s -> $fd_final in the last $((DURATION / 6)) s; allowed $FD_GROWTH)"
if awk -v a="$p99_base" -v b="$p99_final" 'BEGIN { exit !(a != "nan" && b != "nan" && b > 2 * a && b > 1) }'; then
    log "WARNING: agent p99 latency went from $p99_base ms to $p99_final ms (reported, not a failure: the machine is shared)"
fi
log "PASS: no RSS growth over ${RSS_GROWTH_PCT} %, no open-file growth"
