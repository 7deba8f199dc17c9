#!/usr/bin/env bash
# scripts/deps.sh — install the Debian packages the project needs, only those missing.
# Calls apt-get (update once, then install) only when dpkg-query reports something missing.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
    pkg-config libmariadb-dev libssl-dev               # build: Connector/C, OpenSSL 3
    libzip-dev                                         # build: libzip (Alipay's bill zips)
    mariadb-server nginx                               # the local stacks
    wrk curl openssl procps                            # bench, checks, secrets, pgrep
    shellcheck                                         # make lint
    chromium                                           # headless browser of the return-page test
    fonts-noto-cjk                                     # Chinese text in that browser's screenshots
    jq                                                 # the README's API examples read answers with it
    galera-4 rsync iproute2                            # the cluster stacks: Galera, rsync SST (ss)
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

# The integration tests need `python3 -m venv` with pip; Debian's python3 needs python3-venv
# for that, other pythons (pyenv) bring it along.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && ! installed python3-venv; then
    missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
    apt_install "missing packages" "${missing[@]}"
fi

command -v swift >/dev/null 2>&1 || die "swift not found (expected in /opt/swift/usr/bin)"
