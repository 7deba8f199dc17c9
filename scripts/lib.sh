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
