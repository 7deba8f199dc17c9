#!/usr/bin/env bash
# scripts/test.sh [PYTEST_ARGS…] — what `make test` (and CI) runs:
#   1. scripts/lint.sh: swift format lint and shellcheck (`make lint`)
#   2. swift build + swift test (unit tests)
#   3. the fuzz smoke: scripts/fuzz.sh, every target for LUFFY_FUZZ_SMOKE_SECONDS (15) s, 2 at a time
#   3b. scripts/deploy-check.sh: deploy/README.md's static release build (var/deploy-build, kept
#      between runs) against the README's package and library lists
#   4. a fresh private `test` stack (var/test, nginx 18080, MariaDB 13307; see stack.sh)
#   5. the in-process tests (LuffyPayTests' InProcessTests) against the stack's MariaDB
#   6. the pytest suite in tests/integration, in the project venv .venv
# The test stack is always stopped at the end, also when something fails; var/test stays for
# its logs and is removed at the start of the next run. Exits non-zero on any failure.
#
# The tests get the stack through the environment:
#   LUFFY_TEST_BASE_URL      http://127.0.0.1:18080 (nginx of the test stack)
#   LUFFY_CONFIG             var/test/luffy-pay.env (DB credentials, JWT secret, …; absolute)
#   LUFFY_TEST_STACK_DIR     var/test (absolute): run/ sockets, log/app.log, …
#   LUFFY_TEST_STACK_SCRIPT  scripts/stack.sh (absolute); call it with LUFFY_TEST_STACK and
#   LUFFY_TEST_STACK         test  — e.g. [script, stack, "db-stop"], also db-start, app-stop,
#                            app-start, app-pid
#   LUFFY_TEST_APP_BIN       .build/release/luffy-pay (absolute), e.g. for `token` or `sweep`
#   LUFFY_TEST_SANDBOX_URL   http://127.0.0.1:18090 (the Alipay sandbox, when it exists)
#   LUFFY_TEST_DEPLOY_BIN    var/deploy-build/release/luffy-pay (absolute): the static build of 3b
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

STACK_SH=$ROOT/scripts/stack.sh
VENV=$ROOT/.venv

test_run_begin test "make test" app.log nginx-error.log mariadb.log

"$ROOT/scripts/deps.sh"
"$ROOT/scripts/lint.sh"

step "swift build"
swift build
# The in-process tests need the test stack's MariaDB: they run once it is up (below).
step "swift test --skip InProcess"
swift test --skip InProcess
FUZZ_JOBS=2 "$ROOT/scripts/fuzz.sh" "${LUFFY_FUZZ_SMOKE_SECONDS:-15}"
"$ROOT/scripts/deploy-check.sh"

test_run_fresh_stack
eval "$("$STACK_SH" test info)"

if [ ! -d tests/integration ]; then
    warn "no tests/integration yet: integration tests skipped"
    exit 0
fi
ensure_venv

export LUFFY_TEST_BASE_URL=$BASE_URL
export LUFFY_CONFIG=$ENV_FILE
export LUFFY_TEST_STACK_DIR=$STACK_DIR
export LUFFY_TEST_STACK_SCRIPT=$STACK_SH
export LUFFY_TEST_STACK=$STACK
export LUFFY_TEST_APP_BIN=$APP_BIN
export LUFFY_TEST_SANDBOX_URL=http://127.0.0.1:$SANDBOX_PORT
export LUFFY_TEST_DEPLOY_BIN=$ROOT/var/deploy-build/release/luffy-pay

step "swift test --filter InProcess (the application called directly, on the stack's MariaDB)"
swift test --filter InProcess

step "pytest tests/integration against $BASE_URL"
rc=0
"$VENV/bin/python" -m pytest tests/integration -ra "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    warn "pytest collected no tests"
    rc=0
fi
exit "$rc"
