#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Kafka throughput per engine CPU-second, against librdkafka's mock cluster
# (bench/kafka_mock.cc, its own process).
#
#   BUILD=build/release bench/kafka_e2e.sh            # from the repo root
#
# Cells:
#   sink    sluice-loadgen --proto netcat (--line-bytes 101: 100-byte bodies) -> netcat r1
#           (ack-every-event false) -> memory c1 -> kafka sink k1 (flumeBatchSize
#           1000, 4 partitions). Counted: events the sink committed (broker
#           acknowledged) per engine CPU-second, from just before loadgen
#           starts until the sink's EventDrainSuccessCount reaches EVENTS.
#   source  EVENTS records of 10 words (vocabulary 1000) pre-filled into a
#           4-partition topic -> kafka source r1 -> memory c1 -> stream wc
#           (flatMap(split(" ")) | pair(1) | reduceByKey(sum)) -> memory c2 ->
#           null. Counted: records the stream received per engine CPU-second,
#           from the agent's start (joining the group included) until the
#           stream's EventReceivedCount reaches EVENTS; and, as
#           steady_events_per_cpu_s, the records counted after the first
#           /metrics sample that saw any, per engine CPU-second after it
#           (start-up and the group join left out, as the other benchmarks
#           leave out start-up).
# The agent (all its threads, librdkafka's included) is pinned to
# ENGINE_CPU; the mock cluster and loadgen to LOADGEN_CPU. Engine CPU =
# utime + stime from /proc/PID/stat. Counters are read from /metrics.
#
# Environment: BUILD EVENTS SHARDS SOURCE_PARTITIONS ENGINE_CPU LOADGEN_CPU CELLS R OUT SINK_BATCH.
set -euo pipefail

BUILD=${BUILD:-build/release}
EVENTS=${EVENTS:-3000000}
SHARDS=${SHARDS:-1}
SOURCE_PARTITIONS=${SOURCE_PARTITIONS:-$(((EVENTS / 10000) + 4))}
ENGINE_CPU=${ENGINE_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
CELLS=${CELLS:-"sink source"}
SINK_BATCH=${SINK_BATCH:-1000}   # the sink's flumeBatchSize
R=${R:-3}
SLUICE=${SLUICE:-$BUILD/tools/sluice}
LOADGEN=$BUILD/tools/sluice-loadgen
MOCK=$BUILD/bench/sluice-kafka-mock
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-kafka.XXXXXX")}
mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)

die() {
    echo "kafka_e2e: $*" >&2
    exit 1
}
for f in "$SLUICE" "$LOADGEN" "$MOCK"; do [[ -x $f ]] || die "not found: $f (build Release into $BUILD)"; done

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    exec 7>&- 2>/dev/null || true
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, cpu_ticks
# counter MONPORT GROUP NAME: a counter from /metrics (0 when not there yet).
counter() {
    curl -s "http://127.0.0.1:$1/metrics" | python3 -c "import json,sys
try: print(json.load(sys.stdin).get('$2',{}).get('$3','0'))
except Exception: print(0)"
}
wait_counter() { # MONPORT GROUP NAME TARGET SECONDS: fails when over time or stuck for 60 s
    local deadline=$((SECONDS + $5)) v last=-1 moved=$SECONDS
    while v=$(counter "$1" "$2" "$3"); ((v < $4)); do
        ((SECONDS < deadline)) || die "$2 $3 did not reach $4 in $5 s (at $v)"
        if ((v != last)); then last=$v moved=$SECONDS; fi
        ((SECONDS - moved < 60)) || die "$2 $3 stuck at $v of $4 for 60 s"
        sleep 0.05
    done
}
# start_mock FIFO ARGS...: the mock on LOADGEN_CPU, kept alive by an open FIFO.
start_mock() {
    local fifo=$1
    shift
    rm -f "$fifo"
    mkfifo "$fifo"
    taskset -c "$LOADGEN_CPU" "$MOCK" "$@" <"$fifo" >"$OUT/mock.out" 2>"$OUT/mock.err" &
    PIDS+=($!)
    exec 7>"$fifo"
    for _ in $(seq 1 200); do [[ -s $OUT/mock.out ]] && break; sleep 0.05; done
    BOOTSTRAP=$(head -n 1 "$OUT/mock.out")
    [[ -n $BOOTSTRAP ]] || die "mock cluster did not start"
}
stop_mock() {
    exec 7>&-
    wait "${PIDS[-1]}" 2>/dev/null || true
}

run_sink() { # RUN
    local port mon conf agent t0 c0 c1 t1
    start_mock "$OUT/mock.fifo" 3 4 out
    port=$(free_port)
    mon=$(free_port)
    conf=$OUT/sink.properties
    cat >"$conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $port
a1.sources.r1.ack-every-event = false
a1.sources.r1.max-line-length = 4096
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 10000
a1.sinks.k1.type = kafka
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = $BOOTSTRAP
a1.sinks.k1.kafka.topic = out
a1.sinks.k1.flumeBatchSize = $SINK_BATCH
CONF
    taskset -c "$ENGINE_CPU" "$SLUICE" agent -n a1 -f "$conf" --shards "$SHARDS" \
        -Dsluice.monitoring.type=http -Dsluice.monitoring.port="$mon" 2>"$OUT/sink.$1.err" &
    agent=$!
    PIDS+=($agent)
    for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    c0=$(cpu_ticks "$agent")
    t0=$(date +%s.%N)
    taskset -c "$LOADGEN_CPU" "$LOADGEN" --proto netcat --port "$port" --events "$EVENTS" --conns 2 \
        --line-bytes 101 --quiet >"$OUT/loadgen.$1.out" 2>&1
    wait_counter "$mon" SINK.k1 EventDrainSuccessCount "$EVENTS" 600
    c1=$(cpu_ticks "$agent")
    t1=$(date +%s.%N)
    kill -TERM "$agent"
    wait "$agent" || die "agent exited non-zero"
    stop_mock
    awk -v n="$EVENTS" -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" -v r="$1" \
        'BEGIN { printf "sink\t%d\t%d\t%.2f\t%.0f\t%.0f\t-\n", r, n, c / hz, n / (c / hz), n / (t1 - t0) }' >>"$OUT/results.tsv"
}

run_source() { # RUN
    local mon conf agent t0 c1 t1
    # The mock keeps a bounded log per partition (older record batches are deleted):
    # enough partitions that the whole fill stays (one per 10 000 records: 54 kept only 99 %).
    start_mock "$OUT/mock.fifo" 3 "$SOURCE_PARTITIONS" in --fill in "$EVENTS" 0 10 1000
    for _ in $(seq 1 12000); do grep -q filled "$OUT/mock.out" && break; sleep 0.05; done
    grep -q filled "$OUT/mock.out" || die "mock did not fill the topic"
    mon=$(free_port)
    conf=$OUT/source.properties
    cat >"$conf" <<CONF
a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1
a1.streams = wc
a1.sources.r1.type = kafka
a1.sources.r1.kafka.bootstrap.servers = $BOOTSTRAP
a1.sources.r1.kafka.topics = in
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
a1.sources.r1.batchSize = 10000
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 10000
a1.channels.c2.type = memory
a1.channels.c2.capacity = 1000000
a1.channels.c2.transactionCapacity = 10000
a1.streams.wc.channel = c1
a1.streams.wc.channels = c2
a1.streams.wc.ops = flatMap(split(" ")) | pair(1) | reduceByKey(sum)
a1.sinks.k1.type = null
a1.sinks.k1.channel = c2
a1.sinks.k1.batchSize = 10000
a1.sinks.k1.logEveryNEvents = 0
CONF
    t0=$(date +%s.%N)
    taskset -c "$ENGINE_CPU" "$SLUICE" agent -n a1 -f "$conf" --shards "$SHARDS" \
        -Dsluice.monitoring.type=http -Dsluice.monitoring.port="$mon" 2>"$OUT/source.$1.err" &
    agent=$!
    PIDS+=($agent)
    # Steady state: from the first sample at which records flow (start-up and
    # joining the group behind), the records counted after it per CPU after it.
    local n_first c_first
    wait_counter "$mon" STREAM.wc EventReceivedCount 1 600
    c_first=$(cpu_ticks "$agent")
    n_first=$(counter "$mon" STREAM.wc EventReceivedCount)  # read after the CPU sample: the steady rate errs low
    wait_counter "$mon" STREAM.wc EventReceivedCount "$EVENTS" 600
    c1=$(cpu_ticks "$agent")
    t1=$(date +%s.%N)
    kill -TERM "$agent"
    wait "$agent" || die "agent exited non-zero"
    stop_mock
    awk -v n="$EVENTS" -v c="$c1" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" -v r="$1" -v nf="$n_first" -v cf="$c_first" \
        'BEGIN { steady = (n > nf && c > cf) ? sprintf("%.0f", (n - nf) / ((c - cf) / hz)) : "-"
                 printf "source\t%d\t%d\t%.2f\t%.0f\t%.0f\t%s\n", r, n, c / hz, n / (c / hz), n / (t1 - t0), steady }' >>"$OUT/results.tsv"
}

: >"$OUT/results.tsv"
for ((run = 1; run <= R; run++)); do
    for cell in $CELLS; do "run_$cell" "$run"; done
done
echo -e "cell\trun\tevents\tengine_cpu_s\tevents_per_cpu_s\twall_events_s\tsteady_events_per_cpu_s"
cat "$OUT/results.tsv"
