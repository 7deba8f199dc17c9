# shellcheck shell=bash
# Shared helpers for the scripts in this folder (sourced, never run).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT

# Swift lives in /opt/swift on our machines; use it when `swift` is not on PATH.
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    PATH=/opt/swift/usr/bin:$PATH
    export PATH
fi

# Messages go to stderr so that stdout stays clean for values (tokens, pids).
say()  { printf '%s\n' "$*" >&2; }
step() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# installed PACKAGE — whether dpkg has the Debian package installed.
installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# apt_install WHAT PACKAGE… — apt-get update once, then install the packages (as root, or through
# sudo); WHAT names them in the step line.
apt_install() {
    local what=$1 sudo=()
    shift
    step "$what: installing $*"
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install $* by hand"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# pip_install_pinned REQUIREMENTS_FILE — install a pinned requirements file into the project venv
# .venv (which must exist), skipped when the file is unchanged since its last install there: the
# file's sha256 is kept in .venv, so a run that needs nothing new does not start pip at all.
pip_install_pinned() {
    local req=$1 rel stamp hash
    rel=${req#"$ROOT"/}
    stamp=$ROOT/.venv/.installed-${rel//\//_}.sha256
    hash=$(sha256sum "$req")
    hash=${hash%% *}
    [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ] || return 0
    step "pip install -r $rel (into .venv)"
    "$ROOT/.venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2 || return 1
    printf '%s\n' "$hash" >"$stamp"
}

# make_venv — the project venv .venv (the tests' and the bench's Python), created when missing.
make_venv() {
    [ ! -x "$ROOT/.venv/bin/python" ] || return 0
    step "creating the project venv .venv"
    local python=python3
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || python=/usr/bin/python3
    "$python" -m venv "$ROOT/.venv"
}

# ---------------------------------------------------------------- test runs (test.sh, cluster-test.sh)
# The project venv .venv with the integration tests' pinned requirements.
ensure_venv() {
    make_venv
    pip_install_pinned "$ROOT/tests/integration/requirements.txt"
}

# test_run_begin STACK LABEL LOG…: one LABEL (`make test`, `make cluster-test`) at a time per work
# tree — a second one waits instead of pulling var/STACK away from under the first (fd 8;
# stack.sh closes it for the processes it starts) — and, on every exit, the stack STACK stopped
# once test_run_fresh_stack started it, after the tail of each LOG of var/STACK/log when the run
# failed. On success nothing is printed after pytest's summary line (CI reads it).
test_run_begin() {
    TEST_RUN_STACK=$1 TEST_RUN_LABEL=$2 TEST_RUN_STARTED=0
    shift 2
    TEST_RUN_LOGS=("$@")
    trap test_run_finish EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$ROOT/var"
    exec 8>"$ROOT/var/$TEST_RUN_STACK-run.lock"
    if ! flock -n 8; then
        step "another $TEST_RUN_LABEL is running in this folder: waiting for it"
        flock -w 3600 8 || die "gave up waiting for the other $TEST_RUN_LABEL"
    fi
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
test_run_finish() {
    local rc=$? log dir=$ROOT/var/$TEST_RUN_STACK
    if [ "$TEST_RUN_STARTED" = 1 ]; then
        if [ "$rc" -ne 0 ]; then
            for log in "${TEST_RUN_LOGS[@]}"; do
                [ -s "$dir/log/$log" ] || continue
                say "---- tail of var/$TEST_RUN_STACK/log/$log ----"
                tail -n 40 "$dir/log/$log" >&2 || true
            done
        fi
        if ! "$ROOT/scripts/stack.sh" "$TEST_RUN_STACK" down >"$dir/stack-down.log" 2>&1; then
            cat "$dir/stack-down.log" >&2
            say "stopping the $TEST_RUN_STACK stack failed"
            rc=1
        fi
    fi
    [ "$rc" -eq 0 ] || say "$TEST_RUN_LABEL: FAILED (exit $rc)"
    exit "$rc"
}

# A fresh stack for the run: a leftover one (an interrupted run) is stopped before its folder goes
# away; var/STACK stays after the run for its logs.
test_run_fresh_stack() {
    "$ROOT/scripts/stack.sh" "$TEST_RUN_STACK" down >/dev/null 2>&1 || true
    rm -rf "${ROOT:?}/var/$TEST_RUN_STACK"
    TEST_RUN_STARTED=1
    "$ROOT/scripts/stack.sh" "$TEST_RUN_STACK" up
}
