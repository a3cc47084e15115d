#!/usr/bin/env bash
# bench/syslog_e2e.sh: syslog TCP -> memory -> null, engine on CPU 0 (1 shard), loadgen on CPU 1.
# Prints events per engine CPU-second (utime+stime of the agent from before the
# load starts until the sink has drained every event).
set -euo pipefail
B=${BUILD:-build/release}; EVENTS=${EVENTS:-20000000}; CONNS=${CONNS:-4}; FORMAT=${FORMAT:-5424}; WORDS=${WORDS:-10}
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port
port=$(free_port); mport=$((port + 1)); dir=$(mktemp -d)
cat >"$dir/a.properties" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = syslogtcp
a1.sources.r1.host = 127.0.0.1
a1.sources.r1.port = $port
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 10000
a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 10000
a1.sinks.k1.channel = c1
CONF
taskset -c 0 "$B/tools/sluice" agent -n a1 -f "$dir/a.properties" --shards 1 \
  -Dsluice.monitoring.type=http -Dsluice.monitoring.port=$mport >"$dir/out" 2>"$dir/err" &
agent=$!
trap 'kill $agent 2>/dev/null; rm -rf "$dir"' EXIT
for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
ticks() { local s; s=$(<"/proc/$agent/stat"); s=${s##*) }; awk '{print $12 + $13}' <<<"$s"; }
t0=$(ticks)
taskset -c 1 "$B/tools/sluice-loadgen" --proto syslog --syslog-format "$FORMAT" --port $port --events "$EVENTS" \
  --conns "$CONNS" --words "$WORDS" --quiet >"$dir/lg"
until curl -s "http://127.0.0.1:$mport/metrics" | grep -q "\"EventDrainSuccessCount\":\"$EVENTS\""; do sleep 0.05; done
t1=$(ticks)
hz=$(getconf CLK_TCK)
cat "$dir/lg"
awk -v n="$EVENTS" -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "engine_cpu_s=%.2f events_per_engine_cpu_s=%.0f\n", t / hz, n / (t / hz) }'
curl -s "http://127.0.0.1:$mport/metrics" | grep -o '"SOURCE.r1":{[^}]*}' | tr ',' '\n' | grep -E 'EventReceived|EventAccepted|ChannelWriteFail'
