#!/usr/bin/env bash
# scripts/keys.sh DIR — RSA-2048 key pairs for the local Alipay sandbox, made with the openssl CLI.
#
# Creates in DIR, when neither file of a pair exists:
#   app_private_key.pem      the app's private key (PKCS#8): luffy-pay signs requests with it
#   app_public_key.pem       its public key: alipay-sandbox verifies the app's requests with it
#   alipay_private_key.pem   the "Alipay" private key (PKCS#8): alipay-sandbox signs with it
#   alipay_public_key.pem    its public key: luffy-pay verifies returns, notifications, responses
# A public key is derived again from its private key when it is missing or older than it; a
# public key without its private key (Alipay's real public key, say) is left alone.
# DIR is made 0700, private keys 0600, public keys 0644. keys/README.md: installing real keys.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 && -n "$1" ]] || { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
DIR=$1
command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"

mkdir -p "$DIR"
chmod 700 "$DIR"

# pair NAME: NAME_private_key.pem and NAME_public_key.pem
pair() {
    local private=$DIR/$1_private_key.pem public=$DIR/$1_public_key.pem tmp
    if [ ! -s "$private" ] && [ ! -s "$public" ]; then
        step "generating ${private#"$ROOT"/} (RSA 2048)"
        tmp=$(mktemp "$DIR/.$1_private.XXXXXX")
        # umask: the key is never readable by others, not even while being written
        if ! (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
                -out "$tmp" 2>/dev/null); then
            rm -f "$tmp"
            die "openssl genpkey failed for $private"
        fi
        chmod 600 "$tmp"
        mv "$tmp" "$private"
    fi
    [ -s "$private" ] || return 0
    if [ ! -s "$public" ] || [ "$private" -nt "$public" ]; then
        tmp=$(mktemp "$DIR/.$1_public.XXXXXX")
        if ! openssl pkey -in "$private" -pubout -out "$tmp" 2>/dev/null; then
            rm -f "$tmp"
            die "cannot derive the public key from $private (not an unencrypted RSA private key?)"
        fi
        chmod 644 "$tmp"
        mv "$tmp" "$public"
    fi
}

pair app
pair alipay
