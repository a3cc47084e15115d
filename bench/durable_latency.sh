#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Acknowledgement latency of the durable `file` channel at a fixed offered rate:
# netcat with per-event acks -> file channel (defaults) -> null, agent with one
# shard on CPU 0, loadgen (CONNS connections, LINE_BYTES-byte lines) on CPU 1,
# RATE events/s for DURATION seconds. Each of the R runs starts from empty
# directories (every segment new, as in bench/compare); WARM=1 runs once more
# on the same directories first, so the measured run writes recycled segments,
# as a long-running agent does. Prints loadgen's ack round-trip percentiles.
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
RATE=${RATE:-600000}
DURATION=${DURATION:-4}
CONNS=${CONNS:-4}
LINE_BYTES=${LINE_BYTES:-120}
R=${R:-3}
WARM=${WARM:-0}
EXTRA=${EXTRA:-} # more channel keys, "key=value key=value"
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-durable-latency.XXXXXX")}

run_once() { # run_once DIR PORT -> loadgen's summary line
    local dir=$1 port=$2 pid
    taskset -c 0 "$SLUICE" agent -n a1 -f "$dir/a.properties" --shards 1 >"$dir/agent.out" 2>"$dir/agent.err" &
    pid=$!
    for _ in $(seq 200); do
        ss -ltn | grep -q ":$port " && break
        kill -0 "$pid" 2>/dev/null || { cat "$dir/agent.err" >&2; exit 1; }
        sleep 0.05
    done
    taskset -c 1 "$LOADGEN" --proto netcat --port "$port" --rate "$RATE" --duration "$DURATION" --conns "$CONNS" \
        --acks --line-bytes "$LINE_BYTES" --quiet 2>&1 | tail -1
    kill "$pid"
    wait "$pid" || true
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
done
