#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Recovery time of a file channel holding a large backlog: fill it through
# netcat with no sink (EVENTS lines of LINE_BYTES), kill -9 the agent, start
# it again and time from start to "agent ... started" (recovery runs before
# the agent starts), R times; prints each run and the backlog's size.
#
#   BUILD=build/release EVENTS=8000000 LINE_BYTES=128 R=3 bench/durable_recovery.sh
set -euo pipefail
BUILD=${BUILD:-build/release}
EVENTS=${EVENTS:-8000000}
LINE_BYTES=${LINE_BYTES:-128}
R=${R:-3}
SLUICE=$BUILD/tools/sluice
LOADGEN=$BUILD/tools/sluice-loadgen
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-recovery.XXXXXX")}
PORT=${PORT:-47311}
cat >"$OUT/a.properties" <<EOF
a1.sources = r1
a1.channels = c1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $PORT
a1.sources.r1.ack-every-event = false
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.capacity = 100000000
a1.channels.c1.transactionCapacity = 10000
a1.channels.c1.checkpointDir = $OUT/checkpoint
a1.channels.c1.dataDirs = $OUT/data
EOF
start_agent() {  # prints the seconds from start to "started"
    local t0 pid
    rm -f "$OUT/agent.err"
    t0=$(date +%s.%N)
    taskset -c 0 "$SLUICE" agent -n a1 -f "$OUT/a.properties" --shards 1 >"$OUT/agent.out" 2>"$OUT/agent.err" &
    pid=$!
    until grep -q 'agent a1 started' "$OUT/agent.err" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { cat "$OUT/agent.err" >&2; exit 1; }
        sleep 0.01
    done
    awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
    echo " $pid"
}
read -r secs pid < <(start_agent)
taskset -c 1 "$LOADGEN" --proto netcat --port "$PORT" --events "$EVENTS" --line-bytes "$LINE_BYTES" --conns 1 --quiet >/dev/null
sleep 1
kill -9 "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
echo "backlog: $(du -sh "$OUT/data" | cut -f1) in $(find "$OUT/data" -name "*.seg" | wc -l) segments, $EVENTS events of $LINE_BYTES bytes"
for ((i = 1; i <= R; i++)); do
    read -r secs pid < <(start_agent)
    echo "run $i: recovery + start ${secs}s; $(grep -o 'recovered [0-9]* events[^)]*)' "$OUT/agent.err")"
    kill -9 "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
done
rm -rf "$OUT"
