#!/usr/bin/env bash
# scripts/fuzz-api.sh [EXAMPLES] — `make fuzz-api`: the schemathesis run of `make test`
# (tests/integration/test_openapi.py) with a larger budget, EXAMPLES cases per operation and phase
# (default 500), and a new seed each run (FUZZ_API_SEED=<n> repeats one), against the private
# test stack (var/test, LUFFY_TEST_PORT_OFFSET applies), which it starts and stops. README,
# "API contract". Its output and JUnit report stay in var/test/schemathesis/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

EXAMPLES=${1:-500}
[[ $EXAMPLES =~ ^[0-9]+$ && $EXAMPLES -gt 0 ]] || die "EXAMPLES must be a positive number"
STACK_SH=$ROOT/scripts/stack.sh

# shellcheck disable=SC2317  # invoked by the EXIT trap
finish() {
    local rc=$?
    "$STACK_SH" test down >/dev/null 2>&1 || { say "stopping the test stack failed"; rc=1; }
    exit "$rc"
}

# The same lock as scripts/test.sh: never pull the test stack away from under a `make test`.
mkdir -p "$ROOT/var"
exec 8>"$ROOT/var/test-run.lock"
flock -n 8 || die "a make test is running in this folder: run make fuzz-api after it"

"$ROOT/scripts/deps.sh"
[ -x "$ROOT/.venv/bin/python" ] || python3 -m venv "$ROOT/.venv"
pip_install_pinned "$ROOT/tests/integration/requirements.txt"

"$STACK_SH" test down >/dev/null 2>&1 || true
rm -rf "$ROOT/var/test"
trap finish EXIT
"$STACK_SH" test up
eval "$("$STACK_SH" test info)"

export LUFFY_TEST_BASE_URL=$BASE_URL LUFFY_CONFIG=$ENV_FILE LUFFY_TEST_STACK_DIR=$STACK_DIR
export LUFFY_TEST_STACK_SCRIPT=$STACK_SH LUFFY_TEST_STACK=$STACK LUFFY_TEST_APP_BIN=$APP_BIN
export LUFFY_API_FUZZ_EXAMPLES=$EXAMPLES LUFFY_API_FUZZ_SEED=${FUZZ_API_SEED:-}
step "schemathesis: $EXAMPLES examples per operation and phase against $BASE_URL"
"$ROOT/.venv/bin/python" -m pytest tests/integration/test_openapi.py -k schemathesis -ra
