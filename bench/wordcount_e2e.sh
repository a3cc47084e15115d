#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Streams word count end to end: netcat -> memory -> stream -> memory -> null.
#
#   BUILD=build/release bench/wordcount_e2e.sh          # from the repo root
#   R=1 LINES=1000000 LINES_BIG=1000000 bench/wordcount_e2e.sh   # a quick look
#
# Cells (each run R times, medians reported; cells interleaved run by run so
# slow drifts of the machine hit all alike):
#   pipeline      plain     flatMap(split(" ")) | pair(1) | reduceByKey(sum)
#                 window    flatMap(split(" ")) | pair(1) | reduceByKeyAndWindow(sum, 30s, 10s, inverse)
#                 both with batch = 1s
#   vocabulary    1000 and 100000 words (sluice-loadgen --vocab)
#   distribution  uniform (--zipf 0) and zipf (--zipf 1.0)
# Every line is 10 words (`--words 10`, no --line-bytes padding, which would
# add a word), sent by `sluice-loadgen --proto netcat` over CONNS connections
# to `sluice agent --shards 1`:
#   netcat r1 (ack-every-event = false) -> memory c1 (capacity 1000000,
#   transactionCapacity 10000) -> stream wc -> memory c2 (same) -> null k1
#   (batchSize 10000, logEveryNEvents 0)
# The agent is pinned to ENGINE_CPU, the load generator to LOADGEN_CPU.
#
# Metrics:
#   lines (words) per engine CPU-s  LINES / the agent's CPU seconds (user+sys)
#                   from just before loadgen starts to the agent's exit,
#                   including the drain and the last batch after SIGTERM
#                   (total from bash's `times` in a wrapper that waits for the
#                   agent, minus /proc/PID/stat utime+stime sampled before
#                   loadgen starts, so start-up is excluded). words = 10 x lines.
#   e2e lines/s     LINES / (loadgen's sending seconds + time from loadgen's
#                   exit to the agent's exit). For `window` this includes an
#                   idle wait (see below), so it is only shown for `plain`.
#   bytes per key   window only: StateBytes / KeysHeld from the agent's final
#                   `STREAM.wc:` summary line (last-batch gauges of the owner
#                   shard: the incremental window values plus the batch tables
#                   of the window ring it still holds).
# Windows are emitted only at batch ends that are multiples of the 10 s slide,
# and the incremental window table is only built then. So for `window` the
# script waits, after loadgen exits, until 0.5 s before the next multiple of
# 10 s of the wall clock and only then sends SIGTERM: the agent's final batch
# then ends on a slide boundary and one window step over all the loaded
# batches runs (and is counted) in every run. The agent is idle while it waits.
# (Since commit b18763a a stopping windowed stream closes on to the next window
# end by itself; the wait changes nothing there and keeps older builds
# comparable.)
#
# A run counts only if the agent exits 0 and its summary says the source
# accepted and the stream received exactly LINES events, and the sink drained
# exactly the results the stream emitted; otherwise the script stops with an
# error naming the run.
#
# Environment: BUILD R LINES (lines per run with the 1000-word vocabulary)
# LINES_BIG (with 100000) CONNS PIPELINES VOCABS DISTS ZIPF ENGINE_CPU
# LOADGEN_CPU RUN_TIMEOUT START_TIMEOUT OUT, and LOADGEN SLUICE to point at
# binaries elsewhere. Per-run raw output is kept in $OUT.
set -euo pipefail

BUILD=${BUILD:-build/release}
R=${R:-5}
LINES=${LINES:-4000000}
LINES_BIG=${LINES_BIG:-2000000}
CONNS=${CONNS:-4}
PIPELINES=${PIPELINES:-"plain window"}
VOCABS=${VOCABS:-"1000 100000"}
DISTS=${DISTS:-"uniform zipf"}
ZIPF=${ZIPF:-1.0}
ENGINE_CPU=${ENGINE_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}   # seconds for one loadgen run, and for one drain
START_TIMEOUT=${START_TIMEOUT:-20} # seconds for the agent to start listening
LOADGEN=${LOADGEN:-$BUILD/tools/sluice-loadgen}
SLUICE=${SLUICE:-$BUILD/tools/sluice}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-wc.XXXXXX")}
mkdir -p "$OUT"

WORDS=10
SLIDE_S=10
OPS_plain='flatMap(split(" ")) | pair(1) | reduceByKey(sum)'
OPS_window='flatMap(split(" ")) | pair(1) | reduceByKeyAndWindow(sum, 30s, 10s, inverse)'

die() {
    echo "wordcount_e2e: $*" >&2
    exit 1
}
log() { echo "wordcount_e2e: $*" >&2; }

# ------------------------------------------------------------ preconditions --
for tool in taskset timeout ss awk getconf grep sed; do
    command -v "$tool" >/dev/null || die "'$tool' is required but not installed"
done
[[ -x $LOADGEN ]] || die "load generator not found: $LOADGEN (build with -DCMAKE_BUILD_TYPE=Release into $BUILD, or set LOADGEN=)"
[[ -x $SLUICE ]] || die "sluice binary not found: $SLUICE (set SLUICE=)"
[[ $R =~ ^[1-9][0-9]*$ ]] || die "R must be a positive integer"
[[ $LINES =~ ^[1-9][0-9]*$ && $LINES_BIG =~ ^[1-9][0-9]*$ ]] || die "LINES and LINES_BIG must be positive integers"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive integer"
for p in $PIPELINES; do [[ $p == plain || $p == window ]] || die "unknown pipeline '$p' (plain window)"; done
for v in $VOCABS; do [[ $v =~ ^[1-9][0-9]*$ ]] || die "bad vocabulary '$v'"; done
for d in $DISTS; do [[ $d == uniform || $d == zipf ]] || die "unknown distribution '$d' (uniform zipf)"; done
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

# wait_exit PID SECONDS WHAT: wait until PID is gone; kill it and fail on timeout.
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

# wait_port PORT PID SECONDS ERRFILE: until 127.0.0.1:PORT accepts; PID must stay alive.
wait_port() {
    local port=$1 pid=$2 limit=$3 errf=$4 i
    for ((i = 0; i < limit * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$errf" >&2 || true
            die "agent exited before listening on $port (stderr above, in $errf)"
        }
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    die "nothing listens on port $port after ${limit}s"
}

# kv KEY FILE: the value of KEY=value on the first line that has it.
kv() {
    local v
    v=$(grep -o "\b$1=[^ ]*" "$2" | head -n 1 | cut -d= -f2 || true)
    [[ -n $v ]] || die "no '$1=' in $2: $(head -c 400 "$2")"
    echo "$v"
}

# summary PREFIX KEY FILE: KEY's value on the agent's final `PREFIX: ...` line.
summary() {
    local v
    v=$(grep "^$1: " "$3" | tail -n 1 | grep -o "\b$2=[0-9]*" | cut -d= -f2 || true)
    [[ -n $v ]] || die "no '$1: ... $2=' summary in $3"
    echo "$v"
}

RESULTS=$OUT/results.tsv # cell run lines cpu_s lines_per_cpu e2e_lines_s keys state_bytes bytes_per_key
: >"$RESULTS"

# ------------------------------------------------------------------ a run --
run_cell() { # PIPELINE VOCAB DIST RUN
    local pipe=$1 vocab=$2 dist=$3 run=$4 cell lines zipf ops dir port conf wrap agent i
    cell=$pipe/$vocab/$dist
    lines=$LINES
    ((vocab > 1000)) && lines=$LINES_BIG
    zipf=0
    [[ $dist == zipf ]] && zipf=$ZIPF
    ops=OPS_$pipe
    ops=${!ops}
    dir=$OUT/$pipe.$vocab.$dist.$run
    mkdir -p "$dir"
    port=$(free_port)
    conf=$dir/agent.properties
    cat >"$conf" <<EOF
a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1
a1.streams = wc
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $port
a1.sources.r1.ack-every-event = false
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 10000
a1.channels.c2.type = memory
a1.channels.c2.capacity = 1000000
a1.channels.c2.transactionCapacity = 10000
a1.streams.wc.channel = c1
a1.streams.wc.channels = c2
a1.streams.wc.batch = 1s
a1.streams.wc.ops = $ops
a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 10000
a1.sinks.k1.logEveryNEvents = 0
a1.sinks.k1.channel = c2
EOF
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
        kill -0 "$wrap" 2>/dev/null || break
        sleep 0.05
    done
    [[ -s $dir/agent.pid ]] || die "$cell run $run: agent did not start: $(tail -n 20 "$dir/agent.err")"
    agent=$(<"$dir/agent.pid")
    BG_PIDS+=("$agent")
    wait_port "$port" "$agent" "$START_TIMEOUT" "$dir/agent.err"

    local t0 t1 t2 base mid
    base=$(cpu_ticks "$agent")
    [[ -n $base ]] || die "the agent exited before the load: $(tail -n 20 "$dir/agent.err")"
    t0=$(now)
    if ! timeout "$RUN_TIMEOUT" taskset -c "$LOADGEN_CPU" "$LOADGEN" --proto netcat --port "$port" \
        --events "$lines" --conns "$CONNS" --words "$WORDS" --vocab "$vocab" --zipf "$zipf" \
        --quiet >"$dir/loadgen.out" 2>"$dir/loadgen.err"; then
        cat "$dir/loadgen.err" >&2
        die "$cell run $run: loadgen failed (output in $dir)"
    fi
    t1=$(now)
    mid=$(cpu_ticks "$agent")
    if [[ $pipe == window ]]; then
        # Stop 0.5 s before the next slide boundary at or after loadgen's
        # exit: the final batch then ends on it and the window step runs.
        local wait_s
        wait_s=$(awk -v t="$t1" -v s="$SLIDE_S" 'BEGIN {
            b = (int(t / s) + 1) * s; if (b - t < 0.5) b += s
            printf "%.3f", b - 0.5 - t }')
        sleep "$wait_s"
    fi
    kill -TERM "$agent"
    wait_exit "$agent" "$RUN_TIMEOUT" "$cell run $run: sluice agent (draining)"
    t2=$(now)
    wait "$wrap" || die "$cell run $run: agent exited with an error: $(tail -n 20 "$dir/agent.err")"
    [[ -s $dir/agent.times ]] || die "$cell run $run: no CPU times recorded for the agent"

    local accepted received emitted drained keys bytes bpk=- total_cpu cpu lpc e2e=-
    accepted=$(summary SOURCE.r1 EventAcceptedCount "$dir/agent.err")
    received=$(summary STREAM.wc EventReceivedCount "$dir/agent.err")
    emitted=$(summary STREAM.wc ResultsEmitted "$dir/agent.err")
    drained=$(summary SINK.k1 EventDrainSuccessCount "$dir/agent.err")
    keys=$(summary STREAM.wc KeysHeld "$dir/agent.err")
    bytes=$(summary STREAM.wc StateBytes "$dir/agent.err")
    [[ $accepted == "$lines" ]] || die "$cell run $run: source accepted $accepted lines, expected $lines (see $dir)"
    [[ $received == "$lines" ]] || die "$cell run $run: stream received $received lines, expected $lines (see $dir)"
    [[ $drained == "$emitted" ]] || die "$cell run $run: sink drained $drained results, stream emitted $emitted (see $dir)"
    ((emitted > 0)) || die "$cell run $run: the stream emitted no results (see $dir)"
    if [[ $pipe == window ]]; then
        ((keys > 0)) || die "$cell run $run: KeysHeld=0 after a window step (see $dir)"
        bpk=$(awk -v b="$bytes" -v k="$keys" 'BEGIN { printf "%.1f", b / k }')
    fi
    # `times` line 2: children user and system, as XmY.ZZZs.
    total_cpu=$(sed -n 2p "$dir/agent.times" | awk '{
        s = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] }
        printf "%.3f", s }')
    cpu=$(awk -v t="$total_cpu" -v b="$base" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", t - b / h }')
    lpc=$(awk -v e="$lines" -v c="$cpu" 'BEGIN { printf "%.1f", (c > 0) ? e / c : 0 }')
    if [[ $pipe == plain ]]; then
        e2e=$(awk -v e="$lines" -v s="$(kv seconds "$dir/loadgen.out")" -v a="$t1" -v b="$t2" \
            'BEGIN { printf "%.1f", e / (s + b - a) }')
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cell" "$run" "$lines" "$cpu" "$lpc" "$e2e" \
        "$keys" "$bytes" "$bpk" >>"$RESULTS"
    log "$cell run $run: loadgen $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')s" \
        "($(kv events_per_s "$dir/loadgen.out") lines/s sending)," \
        "loadgen exit to agent exit $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')s," \
        "agent CPU ${cpu}s (during load $(awk -v m="$mid" -v b="$base" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", (m - b) / h }')s)," \
        "$(awk -v x="$lpc" 'BEGIN { printf "%.2f", x / 1e6 }') M lines/CPU-s, KeysHeld=$keys StateBytes=$bytes"
}

# ------------------------------------------------------------------- main --
log "output in $OUT; R=$R LINES=$LINES LINES_BIG=$LINES_BIG CONNS=$CONNS; pipelines: $PIPELINES;" \
    "vocabularies: $VOCABS; distributions: $DISTS (zipf $ZIPF); load average $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((run = 1; run <= R; run++)); do
    for pipe in $PIPELINES; do
        for vocab in $VOCABS; do
            for dist in $DISTS; do
                run_cell "$pipe" "$vocab" "$dist" "$run"
            done
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- summary --
# stats CELL COLUMN -> "median min max" (column numbers as in results.tsv)
stats() {
    awk -F'\t' -v s="$1" -v c="$2" '$1 == s && $c != "-" { print $c }' "$RESULTS" | sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "- - -"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m, v[1], v[NR] }'
}
# range "median min max" [FACTOR] -> "M (min–max)" in millions, times FACTOR
range() {
    local m lo hi
    read -r m lo hi <<<"$1"
    [[ $m == - ]] && { echo "–"; return; }
    awk -v m="$m" -v lo="$lo" -v hi="$hi" -v f="${2:-1}" \
        'BEGIN { printf "%.2f (%.2f–%.2f)", m * f / 1e6, lo * f / 1e6, hi * f / 1e6 }'
}

# The commit of the tree $BUILD was configured from (CMakeCache), else of this script's.
src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
[[ -n $src ]] || src=$(dirname "$0")/..
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "unknown (source $src is not a git checkout)")
dirty=""
[[ -n $(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty=" (+ uncommitted changes)"
echo
echo "Streams word count: netcat -> memory -> stream (batch 1s) -> memory -> null; $WORDS words per line;"
echo "$LINES lines per run with the 1000-word vocabulary, $LINES_BIG with larger ones, over $CONNS connections;"
echo "median (min–max) of $R runs; agent (--shards 1) on CPU $ENGINE_CPU, loadgen on CPU $LOADGEN_CPU;" \
    "load average $LOAD_BEFORE before, $LOAD_AFTER after;"
echo "$(uname -r), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, commit $commit$dirty"
echo
echo "| pipeline | vocabulary | distribution | lines per engine CPU-s (M) | words per engine CPU-s (M) | e2e lines/s (M) | bytes per key (KeysHeld) |"
echo "|---|---|---|---|---|---|---|"
for pipe in $PIPELINES; do
    for vocab in $VOCABS; do
        for dist in $DISTS; do
            cell=$pipe/$vocab/$dist
            lpc=$(stats "$cell" 5)
            bpk="–"
            if [[ $pipe == window ]]; then
                read -r bm blo bhi <<<"$(stats "$cell" 9)"
                bpk="$(printf '%.0f (%.0f–%.0f)' "$bm" "$blo" "$bhi") ($(stats "$cell" 7 | cut -d' ' -f1))"
            fi
            dist_label=$dist
            [[ $dist == zipf ]] && dist_label="zipf $ZIPF"
            echo "| $pipe | $vocab | $dist_label | $(range "$lpc") | $(range "$lpc" "$WORDS") | $(range "$(stats "$cell" 6)") | $bpk |"
        done
    done
done
echo
echo "plain: $OPS_plain"
echo "window: $OPS_window"
echo "raw runs: $RESULTS"
