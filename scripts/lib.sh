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
