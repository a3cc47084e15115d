#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Acknowledgement latency of the durable `file` channel at a fixed offered rate:
# netcat with per-event acks -> file channel (defaults) -> null, agent with one
# shard on CPU 0, loadgen (CONNS connections, LINE_BYTES-byte lines) on CPU 1,
# RATE events/s for DURATION seconds. Each of the R runs starts from empty
# directories (every segment new, as in bench/compare); WARM=1 runs once more
# on the same directories first, so the measured run writes recycled segments,
# as a long-running agent does. Prints, per run, the engine's own receipt-to-
# acknowledgement latency (p50/p99 of the netcat source's
# sluice_source_ack_latency_seconds histogram: from reading an event to
# handing its durable OK to the socket), its receipt-to-sink latency, and
# loadgen's ack round trip (which adds the client's side), the agent's CPU
# seconds, and (FLOOR=1, the default) the disk's floor at the same rate, run
# right after on the same CPU and filesystem: sluice-sync-floor copies the
# same bytes at the same pace into segment files and syncs them one
# fdatasync at a time, with no network and no engine (bench/sync_floor.cc).
# The floor is what this disk gives anything that acknowledges after an
# fdatasync; it is measured a minute after the engine, and a disk's latency
# can change more than that in a minute: compare medians of several runs.
#
#   BUILD=build/release RATE=600000 DURATION=4 R=5 bench/durable_latency.sh
#   SLUICE=/tmp/other/sluice ...   # another build, for side-by-side runs
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD=${BUILD:-build/release}
SLUICE=${SLUICE:-$BUILD/tools/sluice}
LOADGEN=${LOADGEN:-$BUILD/tools/sluice-loadgen}
SYNC_FLOOR=${SYNC_FLOOR:-$BUILD/bench/sluice-sync-floor}
FLOOR=${FLOOR:-1}
RATE=${RATE:-600000}
DURATION=${DURATION:-4}
CONNS=${CONNS:-4}
LINE_BYTES=${LINE_BYTES:-120}
R=${R:-3}
WARM=${WARM:-0}
EXTRA=${EXTRA:-} # more channel keys, "key=value key=value"
AGENT_ARGS=${AGENT_ARGS:-} # more agent arguments, e.g. -Dsluice.io=epoll
AGENT_CPUS=${AGENT_CPUS:-0} # CPUs the agent may use (its shard takes the first)
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-durable-latency.XXXXXX")}

run_once() { # run_once DIR PORT -> "engine ack p50/p99 ... sink p50/p99 ... loadgen <its summary>"
    local dir=$1 port=$2 mport=$(($2 + 1)) pid lg ack sink c0 c1 cpu
    taskset -c "$AGENT_CPUS" "$SLUICE" agent -n a1 -f "$dir/a.properties" --shards 1 \
        -Dsluice.monitoring.type=http -Dsluice.monitoring.port="$mport" $AGENT_ARGS >"$dir/agent.out" 2>"$dir/agent.err" &
    pid=$!
    for _ in $(seq 200); do
        ss -ltn | grep -q ":$port " && break
        kill -0 "$pid" 2>/dev/null || { cat "$dir/agent.err" >&2; exit 1; }
        sleep 0.05
    done
    c0=$(cpu_ticks "$pid")
    lg=$(taskset -c 1 "$LOADGEN" --proto netcat --port "$port" --rate "$RATE" --duration "$DURATION" \
        --conns "$CONNS" --acks --line-bytes "$LINE_BYTES" --quiet 2>&1 | tail -1)
    c1=$(cpu_ticks "$pid")
    sleep 0.5 # the sink drains
    prom_histogram "$mport" sluice_source_ack_latency_seconds r1 "$dir/ack.hist" || { echo "no ack histogram" >&2; exit 1; }
    prom_histogram "$mport" sluice_sink_delivery_latency_seconds k1 "$dir/sink.hist" || { echo "no sink histogram" >&2; exit 1; }
    awk '{ print $1, 0 }' "$dir/ack.hist" >"$dir/zero.hist"
    ack=$(quantiles "$dir/zero.hist" "$dir/ack.hist")
    sink=$(quantiles "$dir/zero.hist" "$dir/sink.hist")
    kill "$pid"
    wait "$pid" || true
    cpu=$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", c / hz }')
    echo "engine receipt->ack p50/p99 ${ack/ / / } ms, receipt->sink p50/p99 ${sink/ / / } ms, agent CPU ${cpu} s; loadgen $lg"
}

echo "file channel ack latency: $RATE events/s offered for ${DURATION}s, $CONNS connections, $LINE_BYTES-byte lines, WARM=$WARM"
for run in $(seq "$R"); do
    dir=$OUT/run$run
    rm -rf "$dir"
    mkdir -p "$dir"
    port=$(free_port)
    {
        echo "a1.sources = r1"
        echo "a1.channels = c1"
        echo "a1.sinks = k1"
        echo "a1.sources.r1.type = netcat"
        echo "a1.sources.r1.bind = 127.0.0.1"
        echo "a1.sources.r1.port = $port"
        echo "a1.sources.r1.ack-every-event = true"
        echo "a1.sources.r1.channels = c1"
        echo "a1.channels.c1.type = file"
        echo "a1.channels.c1.checkpointDir = $dir/checkpoint"
        echo "a1.channels.c1.dataDirs = $dir/data"
        for kv in $EXTRA; do echo "a1.channels.c1.${kv%%=*} = ${kv#*=}"; done
        echo "a1.sinks.k1.type = null"
        echo "a1.sinks.k1.channel = c1"
    } >"$dir/a.properties"
    [[ $WARM == 1 ]] && run_once "$dir" "$port" >/dev/null
    echo "run $run: $(run_once "$dir" "$port")"
    rm -rf "$dir/data" "$dir/checkpoint"
    if [[ $FLOOR == 1 ]]; then
        mkdir -p "$dir/floor"
        echo "run $run: $(WARM=$WARM taskset -c 0 "$SYNC_FLOOR" "$dir/floor" "$RATE" "$LINE_BYTES" "$DURATION")"
    fi
done
