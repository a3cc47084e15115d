#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# netcat -> memory -> null, end to end, next to the raw-socket ceiling.
#
#   bench/netcat_e2e.sh                      # from the repo root, Release build in build/release
#   BUILD=build/release R=5 bench/netcat_e2e.sh
#
# Scenarios (each run R times, medians reported; all in one session so they
# see the same machine state):
#   ceiling       bench/ceiling.cc counting lines, no replies
#   ceiling-acks  the same, answering OK per line (yardstick for sluice-acks)
#   sluice        `sluice agent --shards 1`: netcat (ack-every-event = false)
#                 -> memory channel -> null sink
#   sluice-acks   the same with ack-every-event = true and loadgen --acks
#   sluice-file-acks  sluice-acks through the durable `file` channel: every
#                 OK only once its event is on disk (grouped fdatasync)
# The receiver (ceiling or engine) is pinned to ENGINE_CPU, the load
# generator to LOADGEN_CPU. The load is EVENTS lines of LINE_BYTES bytes over
# CONNS connections in WRITE_SIZE writes.
#
# Metrics:
#   events/s          loadgen's rate: first byte to last byte written (or last
#                     ack read, with acks)
#   e2e events/s      sluice only: events / (loadgen's seconds + the time from
#                     loadgen's exit until the agent, stopped by SIGTERM right
#                     then, has drained the channel into the sink and exited).
#                     loadgen exits once the agent has read everything and
#                     closed the connections (it waits for that after EOF).
#   events/CPU-s      events / receiver CPU seconds (user+system). Ceiling: its
#                     getrusage. sluice: the agent's CPU from loadgen start to
#                     exit, including the drain and shutdown (total from bash's
#                     `times` in a wrapper that waits for the agent, minus
#                     /proc/PID/stat utime+stime sampled before loadgen starts,
#                     so start-up is excluded)
# Every sluice run is checked: the agent must exit 0 and its summary line
# `SINK.k1: ... EventDrainSuccessCount=N` must equal EVENTS.
#
# Environment: BUILD R EVENTS CONNS LINE_BYTES WRITE_SIZE SCENARIOS INTERCEPTORS ENGINE_CPU
# LOADGEN_CPU RUN_TIMEOUT START_TIMEOUT OUT, and LOADGEN CEILING SLUICE to
# point at binaries elsewhere. Per-run raw output is kept in $OUT.
set -euo pipefail

BUILD=${BUILD:-build/release}
R=${R:-5}
EVENTS=${EVENTS:-20000000}
CONNS=${CONNS:-4}
LINE_BYTES=${LINE_BYTES:-100}
WRITE_SIZE=${WRITE_SIZE:-65536}
SCENARIOS=${SCENARIOS:-"ceiling ceiling-acks sluice sluice-acks"}
INTERCEPTORS=${INTERCEPTORS:-}    # e.g. "timestamp host": an interceptor chain on the source
ENGINE_CPU=${ENGINE_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}   # seconds for one loadgen run, and for one drain
START_TIMEOUT=${START_TIMEOUT:-20} # seconds for a receiver to start listening
LOADGEN=${LOADGEN:-$BUILD/tools/sluice-loadgen}
CEILING=${CEILING:-$BUILD/bench/sluice-ceiling}
SLUICE=${SLUICE:-$BUILD/tools/sluice}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-e2e.XXXXXX")}
mkdir -p "$OUT"

die() {
    echo "netcat_e2e: $*" >&2
    exit 1
}
log() { echo "netcat_e2e: $*" >&2; }

# ------------------------------------------------------------ preconditions --
for tool in taskset timeout ss awk getconf; do
    command -v "$tool" >/dev/null || die "'$tool' is required but not installed"
done
needs_sluice=0
needs_ceiling=0
for s in $SCENARIOS; do
    case $s in
    ceiling | ceiling-acks) needs_ceiling=1 ;;
    sluice | sluice-acks | sluice-file-acks) needs_sluice=1 ;;
    *) die "unknown scenario '$s' (ceiling ceiling-acks sluice sluice-acks sluice-file-acks)" ;;
    esac
done
[[ -x $LOADGEN ]] || die "load generator not found: $LOADGEN (build with -DCMAKE_BUILD_TYPE=Release into $BUILD, or set LOADGEN=)"
((needs_ceiling == 0)) || [[ -x $CEILING ]] || die "ceiling receiver not found: $CEILING (set CEILING=)"
((needs_sluice == 0)) || [[ -x $SLUICE ]] || die "sluice binary not found: $SLUICE (set SLUICE=)"
[[ $R =~ ^[1-9][0-9]*$ ]] || die "R must be a positive integer"
ncpu=$(nproc)
((ENGINE_CPU < ncpu && LOADGEN_CPU < ncpu)) || die "ENGINE_CPU/LOADGEN_CPU must be < nproc ($ncpu)"
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------- background process care --
BG_PIDS=()
cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    sleep 0.2
    for pid in "${BG_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

# A random port nobody listens on (checked with ss; the window between the
# check and the bind is tiny and a clash fails loudly at bind).
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, cpu_ticks

# wait_exit PID SECONDS: wait until PID is gone; kill it and fail on timeout.
wait_exit() {
    local pid=$1 limit=$2 what=$3 deadline
    deadline=$(awk -v t="$(now)" -v l="$limit" 'BEGIN { printf "%.3f", t + l }')
    while kill -0 "$pid" 2>/dev/null; do
        if awk -v t="$(now)" -v d="$deadline" 'BEGIN { exit !(t > d) }'; then
            kill -KILL "$pid" 2>/dev/null || true
            die "$what did not exit within ${limit}s (killed)"
        fi
        sleep 0.05
    done
}

# wait_port PORT PID SECONDS: until 127.0.0.1:PORT accepts; PID must stay alive.
wait_port() {
    local port=$1 pid=$2 limit=$3 errf=$4 i
    for ((i = 0; i < limit * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$errf" >&2 || true
            die "receiver exited before listening on $port (stderr above, in $errf)"
        }
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    die "nothing listens on port $port after ${limit}s"
}

# kv KEY FILE: the value of KEY=value on the first line that has it.
kv() {
    local v
    v=$(grep -o "\b$1=[^ ]*" "$2" | head -n 1 | cut -d= -f2)
    [[ -n $v ]] || die "no '$1=' in $2: $(head -c 400 "$2")"
    echo "$v"
}

run_loadgen() { # OUTFILE ERRFILE PORT [extra flags]
    local out=$1 err=$2 port=$3
    shift 3
    if ! timeout "$RUN_TIMEOUT" taskset -c "$LOADGEN_CPU" "$LOADGEN" --proto netcat --port "$port" \
        --events "$EVENTS" --conns "$CONNS" --line-bytes "$LINE_BYTES" --write-size "$WRITE_SIZE" \
        --quiet "$@" >"$out" 2>"$err"; then
        cat "$err" >&2
        die "loadgen failed (output in $out, $err)"
    fi
}

RESULTS=$OUT/results.tsv # scenario run rate e2e_rate cpu_s cpu_rate p50 p99
: >"$RESULTS"

# ---------------------------------------------------------------- ceiling --
run_ceiling() { # SCENARIO RUN [--acks]
    local sc=$1 run=$2 acks=${3:-} dir port pid i
    dir=$OUT/$sc.$run
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    taskset -c "$ENGINE_CPU" "$CEILING" --port 0 --conns "$CONNS" $acks >"$dir/ceiling.out" 2>"$dir/ceiling.err" &
    pid=$!
    BG_PIDS+=("$pid")
    port=""
    for ((i = 0; i < START_TIMEOUT * 20; i++)); do
        port=$(sed -n 's/^listening port=//p' "$dir/ceiling.err" 2>/dev/null || true)
        [[ -n $port ]] && break
        kill -0 "$pid" 2>/dev/null || die "sluice-ceiling exited: $(cat "$dir/ceiling.err")"
        sleep 0.05
    done
    [[ -n $port ]] || die "sluice-ceiling did not start listening"
    # shellcheck disable=SC2086
    run_loadgen "$dir/loadgen.out" "$dir/loadgen.err" "$port" $acks
    wait_exit "$pid" "$RUN_TIMEOUT" "sluice-ceiling"
    wait "$pid" || die "sluice-ceiling failed: $(cat "$dir/ceiling.err")"
    local got rate cpu p50=- p99=-
    got=$(kv events "$dir/ceiling.out")
    [[ $got == "$EVENTS" ]] || die "$sc run $run: ceiling counted $got events, expected $EVENTS"
    rate=$(kv events_per_s "$dir/loadgen.out")
    cpu=$(kv cpu_seconds "$dir/ceiling.out")
    if [[ -n $acks ]]; then
        p50=$(kv p50_us "$dir/loadgen.out")
        p99=$(kv p99_us "$dir/loadgen.out")
    fi
    printf '%s\t%s\t%s\t-\t%s\t%s\t%s\t%s\n' "$sc" "$run" "$rate" "$cpu" \
        "$(awk -v e="$EVENTS" -v c="$cpu" 'BEGIN { printf "%.1f", e / c }')" "$p50" "$p99" >>"$RESULTS"
}

# ----------------------------------------------------------------- sluice --
run_sluice() { # SCENARIO RUN ack-every-event [--acks [CHANNEL-TYPE]]
    local sc=$1 run=$2 ack_every=$3 acks=${4:-} channel=${5:-memory} dir port conf wrap agent i
    dir=$OUT/$sc.$run
    mkdir -p "$dir"
    port=$(free_port)
    conf=$dir/agent.properties
    cat >"$conf" <<EOF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $port
a1.sources.r1.ack-every-event = $ack_every
a1.sources.r1.channels = c1
a1.channels.c1.type = $channel
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 10000
a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 10000
a1.sinks.k1.channel = c1
EOF
    if [[ $channel == file ]]; then
        printf 'a1.channels.c1.checkpointDir = %s\na1.channels.c1.dataDirs = %s\n' "$dir/checkpoint" "$dir/data" >>"$conf"
    fi
    # INTERCEPTORS="timestamp host": that chain on the source, in that order.
    if [[ -n $INTERCEPTORS ]]; then
        local names="" i=0 t
        for t in $INTERCEPTORS; do
            i=$((i + 1))
            names+=" i$i"
            echo "a1.sources.r1.interceptors.i$i.type = $t" >>"$conf"
        done
        echo "a1.sources.r1.interceptors =$names" >>"$conf"
    fi
    # The wrapper (pinned with the agent; it only waits) records the agent's
    # pid, waits for it, and writes `times` — the CPU of its waited children,
    # i.e. the agent's whole life, which /proc no longer shows after exit.
    # shellcheck disable=SC2016 # expanded by the inner bash
    PIDF=$dir/agent.pid TIMESF=$dir/agent.times taskset -c "$ENGINE_CPU" bash -c \
        '"$@" & echo $! >"$PIDF"; wait $!; rc=$?; times >"$TIMESF"; exit $rc' \
        wrapper "$SLUICE" agent -n a1 -f "$conf" --shards 1 >"$dir/agent.out" 2>"$dir/agent.err" &
    wrap=$!
    BG_PIDS+=("$wrap")
    for ((i = 0; i < START_TIMEOUT * 20; i++)); do
        [[ -s $dir/agent.pid ]] && break
        sleep 0.05
    done
    agent=$(<"$dir/agent.pid") || die "agent did not start"
    BG_PIDS+=("$agent")
    wait_port "$port" "$agent" "$START_TIMEOUT" "$dir/agent.err"

    local t0 t1 t2 base mid
    base=$(cpu_ticks "$agent")
    [[ -n $base ]] || die "the agent exited before the load: $(tail -n 20 "$dir/agent.err")"
    t0=$(now)
    # shellcheck disable=SC2086
    run_loadgen "$dir/loadgen.out" "$dir/loadgen.err" "$port" $acks
    t1=$(now)
    mid=$(cpu_ticks "$agent")
    kill -TERM "$agent"
    wait_exit "$agent" "$RUN_TIMEOUT" "sluice agent (draining)"
    t2=$(now)
    wait "$wrap" || die "$sc run $run: agent exited with an error: $(tail -n 20 "$dir/agent.err")"
    [[ -s $dir/agent.times ]] || die "no CPU times recorded for the agent"

    local drained total_cpu cpu rate e2e p50=- p99=-
    drained=$(grep '^SINK\.k1:' "$dir/agent.err" | grep -o 'EventDrainSuccessCount=[0-9]*' | cut -d= -f2 || true)
    [[ $drained == "$EVENTS" ]] ||
        die "$sc run $run: sink drained '${drained:-?}' events, expected $EVENTS (see $dir/agent.err)"
    # `times` line 2: children user and system, as XmY.ZZZs.
    total_cpu=$(sed -n 2p "$dir/agent.times" | awk '{
        s = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] }
        printf "%.3f", s }')
    cpu=$(awk -v t="$total_cpu" -v b="$base" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", t - b / h }')
    rate=$(kv events_per_s "$dir/loadgen.out")
    # loadgen's own sending time (its line generation before the clock is
    # not load) plus everything from its exit to the agent's exit.
    e2e=$(awk -v e="$EVENTS" -v s="$(kv seconds "$dir/loadgen.out")" -v a="$t1" -v b="$t2" \
        'BEGIN { printf "%.1f", e / (s + b - a) }')
    if [[ -n $acks ]]; then
        p50=$(kv p50_us "$dir/loadgen.out")
        p99=$(kv p99_us "$dir/loadgen.out")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$run" "$rate" "$e2e" "$cpu" \
        "$(awk -v e="$EVENTS" -v c="$cpu" 'BEGIN { printf "%.1f", e / c }')" "$p50" "$p99" >>"$RESULTS"
    log "$sc run $run: loadgen $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')s," \
        "drain+exit $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')s," \
        "agent CPU ${cpu}s (during load $(awk -v m="$mid" -v b="$base" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", (m - b) / h }')s)"
}

# ------------------------------------------------------------------- main --
log "output in $OUT; scenarios: $SCENARIOS; R=$R EVENTS=$EVENTS CONNS=$CONNS LINE_BYTES=$LINE_BYTES"
# Interleave scenarios run by run, so slow drifts of the VM hit all alike.
for ((run = 1; run <= R; run++)); do
    for sc in $SCENARIOS; do
        case $sc in
        ceiling) run_ceiling ceiling "$run" ;;
        ceiling-acks) run_ceiling ceiling-acks "$run" --acks ;;
        sluice) run_sluice sluice "$run" false ;;
        sluice-acks) run_sluice sluice-acks "$run" true --acks ;;
        sluice-file-acks) run_sluice sluice-file-acks "$run" true --acks file ;;
        esac
        log "$(tail -n 1 "$RESULTS")"
    done
done

# ---------------------------------------------------------------- summary --
# stats SCENARIO COLUMN -> "median min max" (column numbers as in results.tsv)
stats() {
    awk -F'\t' -v s="$1" -v c="$2" '$1 == s && $c != "-" { print $c }' "$RESULTS" | sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "- - -"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m, v[1], v[NR] }'
}
mega() { awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else printf "%.2f", x / 1e6 }'; }
range() { # median min max -> "M (min–max)" in millions
    read -r m lo hi <<<"$1"
    [[ $m == - ]] && { echo "–"; return; }
    echo "$(mega "$m") ($(mega "$lo")–$(mega "$hi"))"
}

commit=$(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo "uncommitted")
echo
echo "netcat -> memory -> null: $EVENTS events of $LINE_BYTES B over $CONNS connections, $WRITE_SIZE-byte writes;"
echo "median (min–max) of $R runs; receiver on CPU $ENGINE_CPU, loadgen on CPU $LOADGEN_CPU;" \
    "$(uname -r), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, commit $commit"
echo
echo "| scenario | events/s (M) | e2e events/s incl. drain (M) | events per receiver CPU-s (M) | ratio to ceiling | ack p50 / p99 (µs) |"
echo "|---|---|---|---|---|---|"
ceil_med=$(stats ceiling 6 | cut -d' ' -f1)
ceil_ack_med=$(stats ceiling-acks 6 | cut -d' ' -f1)
for sc in $SCENARIOS; do
    cpu_stats=$(stats "$sc" 6)
    base=$ceil_med
    [[ $sc == *-acks && $ceil_ack_med != - ]] && base=$ceil_ack_med
    ratio=$(awk -v a="${cpu_stats%% *}" -v b="$base" 'BEGIN { if (b == "-" || b == 0) print "–"; else printf "%.2f", a / b }')
    lat="–"
    if [[ $sc == *-acks ]]; then
        lat="$(stats "$sc" 7 | cut -d' ' -f1) / $(stats "$sc" 8 | cut -d' ' -f1)"
    fi
    echo "| $sc | $(range "$(stats "$sc" 3)") | $(range "$(stats "$sc" 4)") | $(range "$cpu_stats") | $ratio | $lat |"
done
echo
echo "ratio: events per CPU-second relative to the ceiling receiver (the -acks rows relative to ceiling-acks)."
echo "raw runs: $RESULTS"
