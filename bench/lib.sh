# SPDX-License-Identifier: Apache-2.0
# Helpers shared by the bench/ scripts: `source "$(dirname "$0")/lib.sh"`.

# free_port: a TCP port P such that no socket on this machine uses P or P+1
# (a caller may take both), below the kernel's ephemeral range (32768-60999
# by default): a port inside it could become the local port of some client
# connection between this check and the engine's bind, which then fails with
# "Address already in use".
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        if [[ -z $(ss -Htan "sport = :$p") && -z $(ss -Htan "sport = :$((p + 1))") ]]; then
            echo "$p"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# prom_histogram MPORT METRIC NAME FILE: histogram METRIC{name="NAME"} from
# the agent's GET /prometheus on port MPORT as "le count" lines (le in
# seconds, +Inf last) in FILE. Fails when it cannot be read or is absent.
prom_histogram() {
    curl -sf "http://127.0.0.1:$1/prometheus" |
        sed -n "s/^$2_bucket{name=\"$3\",le=\"\([^\"]*\)\"} \([0-9]*\)\$/\1 \2/p" >"$4" || return 1
    [[ -s $4 ]]
}

# quantiles BEFORE AFTER -> "p50_ms p99_ms" of the difference (Prometheus-style
# linear interpolation inside the bucket; ">10000" when in the +Inf bucket).
quantiles() {
    paste -d' ' "$1" "$2" | awk '
        { le[NR] = $1; c[NR] = $4 - $2 } # cumulative difference
        END {
            n = NR; total = c[n]
            if (total <= 0) { print "- -"; exit }
            split("0.5 0.99", qs, " ")
            out = ""
            for (k = 1; k <= 2; k++) {
                rank = qs[k] * total; prev = 0; prevc = 0; v = "-"
                for (i = 1; i <= n; i++) {
                    if (c[i] >= rank) {
                        if (le[i] == "+Inf") { v = ">" prev * 1000; break }
                        frac = (c[i] > prevc) ? (rank - prevc) / (c[i] - prevc) : 1
                        v = sprintf("%.2f", (prev + (le[i] - prev) * frac) * 1000); break
                    }
                    prev = (le[i] == "+Inf") ? prev : le[i]; prevc = c[i]
                }
                out = out (k > 1 ? " " : "") v
            }
            print out
        }'
}

# cpu_ticks PID: utime + stime of all of PID's threads (fields 14, 15 of
# /proc/PID/stat, counted after the ')' that ends the command name), in clock
# ticks; empty when the process is gone. Pure bash: callers poll it.
cpu_ticks() {
    local stat f
    { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 0
    stat=${stat##*) }
    read -r -a f <<<"$stat"
    echo $((f[11] + f[12]))
}
