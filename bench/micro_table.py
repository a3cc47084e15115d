#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Markdown table of sluice-micro results: reads the JSON files written with
# --benchmark_out=FILE --benchmark_out_format=json --benchmark_repetitions=N
# --benchmark_report_aggregates_only=true and prints, per benchmark, the median
# time per iteration, the median rate (items/s, and bytes/s where set), ns per
# item, and the spread (coefficient of variation of the rate over the N runs).
import json
import sys


def si(x, unit):
    for f, p in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= f:
            return f"{x / f:.3g} {p}{unit}"
    return f"{x:.3g} {unit}"


def main(paths):
    print("| benchmark | time / iteration (median) | items/s (median) | ns / item | bytes/s (median, 10^9) | spread (CV of the rate) | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path in paths:
        data = json.load(open(path))
        rows = {}
        for b in data["benchmarks"]:
            if b.get("run_type") != "aggregate":
                continue
            rows.setdefault(b["run_name"], {})[b["aggregate_name"]] = b
        for name, agg in rows.items():
            med, cv = agg["median"], agg.get("cv", {})
            clock = "wall" if "real_time" in name else "CPU"
            t = med["real_time"] if clock == "wall" else med["cpu_time"]
            if med.get("threads", 1) > 1:
                # Google Benchmark divides a threaded run's time by the
                # iterations of all threads; one iteration (batch) took this long.
                t *= med["threads"]
            unit = {"us": "µs"}.get(med["time_unit"], med["time_unit"])
            tfmt = f"{t:,.0f}" if t >= 100 else f"{t:.3g}"
            ips = med.get("items_per_second")
            bps = med.get("bytes_per_second")
            spread = cv.get("items_per_second", cv.get("bytes_per_second"))
            label = f" ({med['label']})" if med.get("label") else ""
            extra = ""
            if "keys_held" in med:
                extra = f", {int(med['keys_held'])} keys held"
            print(f"| `{name}`{label}{extra} | {tfmt} {unit} ({clock}) | "
                  f"{si(ips, '') if ips else '-'} | {1e9 / ips:.2f} | "
                  f"{si(bps, 'B/s') if bps else '-'} | "
                  f"{f'{spread * 100:.1f} %' if spread is not None else '-'} | {med['repetitions']} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: micro_table.py RESULT.json...")
    main(sys.argv[1:])
