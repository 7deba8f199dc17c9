#!/usr/bin/env bash
# scripts/cluster-test.sh [PYTEST_ARGS…] — what `make cluster-test` (and CI, after `make test`) runs:
#   1. a fresh private `cluster-test` stack (var/cluster-test; scripts/stack.sh builds the release
#      binaries first): three Galera nodes (client ports 23311–23313), two app instances, the
#      sandbox (28090) and nginx (28080 balanced, 28081 instance 1, 28082 instance 2); every port
#      + LUFFY_TEST_PORT_OFFSET
#   2. the pytest suite in tests/cluster, in the project venv .venv
# The stack is always stopped at the end, also when something fails; var/cluster-test stays for
# its logs and is removed at the start of the next run. Exits non-zero on any failure.
#
# The tests get the stack through the environment (deploy/CLUSTER.md):
#   LUFFY_CLUSTER_BASE_URL      http://127.0.0.1:28080 (nginx, both instances)
#   LUFFY_CLUSTER_URL1, …_URL2  http://127.0.0.1:28081, :28082 (instance 1, 2 alone)
#   LUFFY_CLUSTER_STACK_SCRIPT  scripts/stack.sh (absolute); call it with LUFFY_CLUSTER_STACK and
#   LUFFY_CLUSTER_STACK         cluster-test  — e.g. [script, stack, "node-kill", "2"]; the actions:
#                               node-stop|node-kill|node-start|node-status N, app-stop|app-kill|
#                               app-start|app-pid N, sandbox-stop|sandbox-start, sql N 'STATEMENT',
#                               token USER, info
#   LUFFY_CLUSTER_STACK_DIR     var/cluster-test (absolute): run/ sockets, log/app1.log, log/node1.log, …
#   LUFFY_CLUSTER_APP1_ENV, …_APP2_ENV  the instances' settings files (their LUFFY_CONFIG)
#   LUFFY_CONFIG                the first instance's settings (JWT secret, DB credentials, nodes)
#   LUFFY_TEST_APP_BIN          .build/release/luffy-pay (absolute), e.g. for `token`, `sweep`, `audit`
#   LUFFY_TEST_SANDBOX_URL      http://127.0.0.1:28090 (the Alipay sandbox)
#   and for the helpers of tests/integration: LUFFY_TEST_BASE_URL (the balanced URL),
#   LUFFY_TEST_STACK_DIR, LUFFY_TEST_STACK_SCRIPT, LUFFY_TEST_STACK (the same values)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

STACK_SH=$ROOT/scripts/stack.sh
STACK=cluster-test
VENV=$ROOT/.venv

test_run_begin "$STACK" "make cluster-test" app1.log app2.log node1.log node2.log node3.log nginx-error.log

test_run_fresh_stack
eval "$("$STACK_SH" "$STACK" info)"

if [ ! -d tests/cluster ]; then
    warn "no tests/cluster yet: cluster tests skipped"
    exit 0
fi
ensure_venv
if [ -f tests/cluster/requirements.txt ]; then pip_install_pinned "$ROOT/tests/cluster/requirements.txt"; fi

export LUFFY_CLUSTER_BASE_URL=$BASE_URL
export LUFFY_CLUSTER_URL1=$URL1
export LUFFY_CLUSTER_URL2=$URL2
export LUFFY_CLUSTER_STACK_SCRIPT=$STACK_SH
export LUFFY_CLUSTER_STACK=$STACK
export LUFFY_CLUSTER_STACK_DIR=$STACK_DIR
export LUFFY_CLUSTER_APP1_ENV=$APP1_ENV
export LUFFY_CLUSTER_APP2_ENV=$APP2_ENV
export LUFFY_CONFIG=$APP1_ENV
export LUFFY_TEST_APP_BIN=$APP_BIN
export LUFFY_TEST_SANDBOX_URL=http://127.0.0.1:$SANDBOX_PORT
export LUFFY_TEST_BASE_URL=$BASE_URL
export LUFFY_TEST_STACK_DIR=$STACK_DIR
export LUFFY_TEST_STACK_SCRIPT=$STACK_SH
export LUFFY_TEST_STACK=$STACK

step "pytest tests/cluster against $BASE_URL ($URL1, $URL2)"
rc=0
"$VENV/bin/python" -m pytest tests/cluster -ra "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    warn "pytest collected no tests"
    rc=0
fi
exit "$rc"
