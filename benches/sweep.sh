#!/usr/bin/env bash
# Sweep benchmark: 30 network checks against the loopback test lab (nginx, aiosmtpd, TCP
# listeners), run by the real binary as one `check` of a phase and each alone, in the same
# run; prints the sweep's wall time, the slowest single check's, and their ratio, for a
# healthy lab and for one with a host that drops SYNs.
#
#   benches/sweep.sh            release build (what operators run)
#   benches/sweep.sh --debug    debug build (faster to build)
#
# Needs what the tests need (nginx-light, openssl, python3-aiosmtpd): run scripts/test once.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ ":$PATH:" == *":/usr/sbin:"* ]] || PATH="$PATH:/usr/sbin:/sbin"
profile=(--release)
[[ "${1:-}" == "--debug" ]] && profile=()
exec cargo test "${profile[@]}" --test sweep_bench -- --ignored --nocapture --test-threads 1
