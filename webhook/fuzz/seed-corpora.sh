#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from the repository's fixtures, into
# webhook/fuzz/corpus/<target>/ (not committed; cargo fuzz adds what it finds there too):
#   admission_review  every review in fixtures/admission/ and the body of every real apiserver
#                     request in fixtures/admission-captures/
#   policy_loader     every policy file (a YAML file with `tiers:`) in fixtures/ and deploy/webhook/
#   schedule_cron     every `schedule:` cron expression found in fixtures/ (one per file), and
#                     each manifest file in fixtures/ that holds a Velero Schedule
# Idempotent: a corpus file is named by the hash of its content.
set -euo pipefail
cd "$(dirname "$0")"
repo=../..
corpus=corpus

add() { # add TARGET < content
    local target=$1 tmp
    mkdir -p "$corpus/$target"
    tmp=$(mktemp)
    cat > "$tmp"
    mv "$tmp" "$corpus/$target/seed-$(sha1sum "$tmp" | cut -c1-16)"
}

for review in "$repo"/fixtures/admission/*.json; do
    add admission_review < "$review"
done
for capture in "$repo"/fixtures/admission-captures/[0-9]*.json; do
    python3 -c 'import json,sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1]))["body"]))' "$capture" \
        | add admission_review
done

for file in $(grep -rl --include="*.yaml" "^tiers:" "$repo"/fixtures "$repo"/deploy/webhook); do
    add policy_loader < "$file"
done

grep -rhoE '"?schedule"?: *"[^"]+"' "$repo"/fixtures \
    | sed -E 's/.*: *"//; s/"$//' | sort -u \
    | while IFS= read -r expression; do printf '%s\n' "$expression" | add schedule_cron; done
for file in $(grep -rlE '^kind: Schedule' "$repo"/fixtures --include='*.yaml'); do
    add schedule_cron < "$file"
done

for target in admission_review policy_loader schedule_cron; do
    echo "$target: $(find "$corpus/$target" -type f | wc -l) seeds"
done
