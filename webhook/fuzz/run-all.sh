#!/usr/bin/env bash
# The fuzz campaign: seeds the corpora (seed-corpora.sh), builds every target once, then runs
# them, each until FUZZ_RUNS executions or FUZZ_SECONDS, whichever comes first (defaults:
# 10,000,000 and 1800), from its corpus under corpus/<target>/.
#   FUZZ_TOGETHER=1 (default) runs the targets at the same time, 0 one after the other.
#   FUZZ_NICE (default 19) is the niceness of the build and the runs: the machine is shared.
# Built with optimisation, debug assertions and overflow checks (-O -a), without a sanitizer
# (-s none: the crates forbid unsafe code, and a sanitizer would halve the executions). The
# built binaries are run directly, as `cargo fuzz run` would, so a later edit of the sources
# does not rebuild them mid-campaign. Logs go to logs/<target>.log, the load average every
# 30 s to logs/load.txt; at the end one summary line per target (executions, exec/s, edge
# coverage, corpus, load average while it ran) goes to stdout and logs/summary.txt. A crash
# stops its target and is saved under artifacts/<target>/; the script then exits non-zero.
# `run-all.sh --summary [TARGET...]` prints the summary of the last campaign's logs again.
set -euo pipefail
cd "$(dirname "$0")"
summary_only=0
if [ "${1:-}" = --summary ]; then summary_only=1; shift; fi
runs=${FUZZ_RUNS:-10000000}
seconds=${FUZZ_SECONDS:-1800}
together=${FUZZ_TOGETHER:-1}
niceness=${FUZZ_NICE:-19}
targets=${*:-admission_review policy_loader schedule_cron}
export RUSTC_BOOTSTRAP=1

summary() { # summary TARGET: one line from its log, its corpus and the load samples
    local target=$1 log=logs/$target.log start end last load
    start=$(cat "logs/$target.start")
    end=$(cat "logs/$target.end")
    last=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1 || true)
    load=$(awk -v s="$start" -v e="$end" '$1 >= s && $1 <= e { print $2 }' logs/load.txt \
        | sort -n | awk '{ v[NR] = $1 } END {
            if (NR) printf "%s / %s / %s", v[1], v[int((NR + 1) / 2)], v[NR]; else printf "n/a" }')
    printf '%s: exit %s; %s executions in %s s (%s exec/s); edge coverage %s, features %s; corpus %s (%s files on disk); peak RSS %s MB; load average min / median / max %s\n' \
        "$target" "$(cat "logs/$target.status")" \
        "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" "$((end - start))" \
        "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")" \
        "$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' <<< "$last")" \
        "$(sed -nE 's/.* ft: ([0-9]+) .*/\1/p' <<< "$last")" \
        "$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*) .*/\1/p' <<< "$last")" \
        "$(find "corpus/$target" -type f | wc -l)" \
        "$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")" "$load"
}

summarise() { # summarise: every target's line; fails if a target did not exit cleanly
    local failed=0
    : > logs/summary.txt
    for target in $targets; do
        summary "$target" | tee -a logs/summary.txt
        [ "$(cat "logs/$target.status")" = 0 ] || failed=1
    done
    return "$failed"
}
if [ "$summary_only" = 1 ]; then
    summarise
    exit
fi

./seed-corpora.sh
nice -n "$niceness" cargo fuzz build -O -a -s none
bin=target/$(rustc -vV | sed -n 's/^host: //p')/release
mkdir -p logs

(while :; do echo "$(date -u +%s) $(cut -d' ' -f1 /proc/loadavg)"; sleep 30; done) \
    >> logs/load.txt &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT

run() { # run TARGET: one libFuzzer run; its exit status goes to logs/TARGET.status
    local target=$1 status=0
    mkdir -p "artifacts/$target"
    date -u +%s > "logs/$target.start"
    nice -n "$niceness" "$bin/$target" "corpus/$target" \
        -artifact_prefix="artifacts/$target/" -runs="$runs" -max_total_time="$seconds" \
        -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 > "logs/$target.log" 2>&1 \
        || status=$?
    date -u +%s > "logs/$target.end"
    echo "$status" > "logs/$target.status"
}

echo "campaign: $targets until $runs executions or $seconds s, together=$together, started $(date -u +%FT%TZ)"
pids=()
for target in $targets; do
    if [ "$together" = 1 ]; then run "$target" & pids+=($!); else run "$target"; fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
summarise
