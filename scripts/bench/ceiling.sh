#!/usr/bin/env bash
# scripts/bench/ceiling.sh [ENDPOINT…] — `make bench-ceiling`: what the database alone sustains for
# each endpoint's work (README, "The database's ceiling"), against the dev stack (started if
# needed): `luffy-pay-ceiling` runs the statements of one request from the shop's own code on
# CEILING_CONNECTIONS connections (default: the app's LUFFY_THREADS) for CEILING_SECONDS (10) each,
# after making its own data (users 3,000,000 and up, their orders), which it removes afterwards.
# Prints one line per endpoint (`ceiling endpoint=… per_second=… statements=… p50_ms=… p99_ms=…`),
# also written to var/dev/log/bench-ceiling.txt, which `make bench` reads for its ratios; then
# `luffy-pay audit`, which must hold.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$ROOT"

SECONDS_EACH=${CEILING_SECONDS:-10}
"$ROOT/scripts/stack.sh" dev up >/dev/null
eval "$("$ROOT/scripts/stack.sh" dev info)"
step "swift build -c release --product luffy-pay-ceiling"
swift build -c release --product luffy-pay-ceiling >/dev/null
args=(--seconds "$SECONDS_EACH")
[ -z "${CEILING_CONNECTIONS:-}" ] || args+=(--connections "$CEILING_CONNECTIONS")
OUT=$LOG_DIR/bench-ceiling.txt
busy=$(pgrep -x wrk || true; pgrep -f pytest || true)
[ -z "$busy" ] || warn "other wrk or pytest processes are running: the ceiling will be disturbed"
step "luffy-pay-ceiling ${*:-(every endpoint)} ${args[*]} (load average $(cut -d' ' -f1-3 /proc/loadavg))"
LUFFY_CONFIG=$ENV_FILE "$ROOT/.build/release/luffy-pay-ceiling" "$@" "${args[@]}" | tee "$OUT"
LUFFY_CONFIG=$ENV_FILE "$APP_BIN" audit | tail -n1
