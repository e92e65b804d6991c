#!/usr/bin/env bash
# Fuzzes the parsers with libFuzzer (and AddressSanitizer): the media format checks, the client's
# reading of API answers, and the emulator's multipart reading. Each target runs SECONDS (default
# 300); a crash stops the script and leaves its input in .build-fuzz/ (copy it to
# Fuzz/regressions/ once fixed: the regression test replays that folder).
# Usage: bash mount-scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(FuzzMediaRules FuzzAPIReplies FuzzMultipart)
scratch=.build-fuzz
for target in "${targets[@]}"; do
    swift build --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product "$target"
    corpus=$scratch/corpus/$target
    mkdir -p "$corpus"
    # Seed with the real samples and the kept regressions.
    cp Tests/EmulatorTestSupport/Fixtures/* Fuzz/regressions/* "$corpus/" 2>/dev/null || true
    echo "== $target for $seconds s"
    (cd "$scratch" && "./debug/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 "corpus/$target") 2>&1 | grep -E "^#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Test unit written|Done [0-9]+ runs"
done
