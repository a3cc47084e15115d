#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# avro appendBatch -> memory -> null, end to end (docs/benchmarks.md, "Avro source").
#
#   bench/avro_e2e.sh                        # from the repo root, Release build in build/release
#   BUILD=build/release R=5 BATCH=100 BODY_BYTES=100 bench/avro_e2e.sh
#
# `sluice agent --shards 1` (avro source -> memory channel -> null sink) pinned
# to ENGINE_CPU; `sluice-loadgen --proto avro` pinned to LOADGEN_CPU sends
# EVENTS events in appendBatch calls of BATCH events with BODY_BYTES-byte
# bodies, INFLIGHT calls outstanding on each of CONNS connections (DEFLATE=1:
# compression-type = deflate on both ends).
#
# Metrics per run: loadgen's events/s (first write to last OK) and ack latency
# p50/p99 per call, and events per engine CPU-second = EVENTS / (agent
# utime+stime from /proc/PID/stat, sampled just before loadgen starts and just
# after it exits: start-up and shutdown are excluded; every event has been
# answered OK, i.e. committed, by then). A run counts only if loadgen exits 0
# (every call answered OK). Medians over R runs, with min-max.
set -euo pipefail

BUILD=${BUILD:-build/release}
R=${R:-5}
EVENTS=${EVENTS:-10000000}
BATCH=${BATCH:-100}
BODY_BYTES=${BODY_BYTES:-100}
CONNS=${CONNS:-4}
INFLIGHT=${INFLIGHT:-2}
DEFLATE=${DEFLATE:-0}
ENGINE_CPU=${ENGINE_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
PORT=${PORT:-41577}
LOADGEN=${LOADGEN:-$BUILD/tools/sluice-loadgen}
SLUICE=${SLUICE:-$BUILD/tools/sluice}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-avro.XXXXXX")}

die() { echo "avro_e2e: $*" >&2; exit 1; }
[[ -x $LOADGEN && -x $SLUICE ]] || die "build Release into $BUILD first (or set LOADGEN= SLUICE=)"
tick=$(getconf CLK_TCK)

compression=none
lg_deflate=()
if [[ $DEFLATE == 1 ]]; then compression=deflate; lg_deflate=(--deflate); fi
cat >"$OUT/agent.properties" <<EOF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $PORT
a1.sources.r1.channels = c1
a1.sources.r1.compression-type = $compression
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 10000
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k1.batchSize = 1000
a1.sinks.k1.logEveryNEvents = 0
EOF

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # cpu_ticks

rates=() cpus=() p50s=() p99s=()
for ((i = 1; i <= R; i++)); do
    taskset -c "$ENGINE_CPU" "$SLUICE" agent -n a1 -f "$OUT/agent.properties" --shards 1 >"$OUT/agent-$i.log" 2>&1 &
    agent=$!
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
        sleep 0.1
    done
    before=$(cpu_ticks $agent)
    if ! taskset -c "$LOADGEN_CPU" "$LOADGEN" --proto avro --port "$PORT" --events "$EVENTS" --batch "$BATCH" \
        --line-bytes $((BODY_BYTES + 1)) --conns "$CONNS" --inflight "$INFLIGHT" "${lg_deflate[@]}" --quiet \
        >"$OUT/loadgen-$i.out" 2>"$OUT/loadgen-$i.err"; then
        kill $agent; wait $agent || true
        die "run $i: loadgen failed: $(cat "$OUT/loadgen-$i.err")"
    fi
    after=$(cpu_ticks $agent)
    kill -TERM $agent
    wait $agent || die "run $i: agent exited non-zero (log: $OUT/agent-$i.log)"
    rate=$(awk -F'events_per_s=' '/events_per_s/ { split($2, a, " "); print a[1] }' "$OUT/loadgen-$i.out")
    p50=$(awk -F'p50_us=' '/p50_us/ { split($2, a, " "); print a[1] }' "$OUT/loadgen-$i.out")
    p99=$(awk -F'p99_us=' '/p99_us/ { split($2, a, " "); print a[1] }' "$OUT/loadgen-$i.out")
    cpu_s=$(awk -v t=$((after - before)) -v hz="$tick" 'BEGIN { printf "%.3f", t / hz }')
    per_cpu=$(awk -v e="$EVENTS" -v c="$cpu_s" 'BEGIN { printf "%.0f", (c > 0 ? e / c : 0) }')
    echo "run $i: events/s=$rate engine_cpu_s=$cpu_s events_per_cpu_s=$per_cpu p50_us=$p50 p99_us=$p99"
    rates+=("$rate") cpus+=("$per_cpu") p50s+=("$p50") p99s+=("$p99")
done

stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3g (%.3g-%.3g)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
echo "median (min-max) over $R runs: events/s $(stats "${rates[@]}"); events per engine CPU-s $(stats "${cpus[@]}");" \
    "p50 $(stats "${p50s[@]}") us; p99 $(stats "${p99s[@]}") us"
