#!/usr/bin/env python3
"""scripts/bench/gen-tokens.py — JWTs for a pool of bench users (the POST /orders benchmark).

Writes one token per line (--out) for the users FIRST, FIRST+1, …, FIRST+COUNT-1, minted as
`luffy-pay token` mints them (HS256, claims user_id, username, exp, email; a week's lifetime)
with LUFFY_JWT_SECRET read from the stack's settings file (--env-file). `luffy-pay token` mints
one per process: ~100,000 of them would take many minutes, these take a second. The username and
email must be those scripts/bench.sh gives the pool users (bench<id>, bench<id>@luffycity.test);
the app checks only the signature, the expiry and that the user exists, and bench.sh sends the
first and last token once before measuring.

Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import json
import sys
import time

LIFETIME = 7 * 24 * 3600   # TokenIssuer.lifetime


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def setting(env_file, key):
    value = None
    with open(env_file, encoding="utf-8") as f:
        for line in f:
            if line.startswith(key + "="):
                value = line[len(key) + 1:].rstrip("\n")   # the last one wins, as in the app
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env-file", required=True, help="the stack's settings (LUFFY_JWT_SECRET)")
    ap.add_argument("--first", type=int, required=True, help="first user id")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    secret = setting(args.env_file, "LUFFY_JWT_SECRET")
    if not secret:
        sys.exit("gen-tokens: no LUFFY_JWT_SECRET in %s" % args.env_file)
    key = secret.encode("utf-8")
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    exp = int(time.time()) + LIFETIME
    with open(args.out, "w", encoding="ascii") as out:
        for user_id in range(args.first, args.first + args.count):
            claims = {"user_id": user_id, "username": "bench%d" % user_id, "exp": exp,
                      "email": "bench%d@luffycity.test" % user_id}
            signing_input = header + b"." + b64url(json.dumps(claims, separators=(",", ":")).encode())
            mac = hmac.new(key, signing_input, hashlib.sha256).digest()
            out.write((signing_input + b"." + b64url(mac)).decode("ascii"))
            out.write("\n")


if __name__ == "__main__":
    main()
