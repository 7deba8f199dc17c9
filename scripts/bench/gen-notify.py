#!/usr/bin/env python3
"""scripts/bench/gen-notify.py — signed Alipay notifications for the notify benchmark.

Reads the bench orders as lines `order_number<TAB>real_price` (stdin or --orders) and writes one
URL-encoded form body per line (--out), in the same order: a TRADE_SUCCESS `trade_status_sync`
notification for that order with the fields alipay-sandbox sends (docs/SANDBOX.md), its own
trade_no and notify_id, total_amount = the order's real_price, signed by Alipay's
verification-string rules with the sandbox's ("Alipay's") private key: without sign/sign_type and
empty values, sorted by key, `k=v` with raw values joined by `&`, RSA-SHA256 PKCS#1 v1.5, base64.

Signing is spread over all cores (processes); ~40,000 bodies take a few seconds.
Needs the `cryptography` package (scripts/bench/requirements.txt).
"""
import argparse
import base64
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

_key = None
_common = None


def _init_worker(key_path, common):
    global _key, _common
    with open(key_path, "rb") as f:
        _key = serialization.load_pem_private_key(f.read(), password=None)
    _common = common


def signing_string(params):
    kept = sorted((k, v) for k, v in params if k not in ("sign", "sign_type") and v != "")
    return "&".join(f"{k}={v}" for k, v in kept)


def _body(item):
    index, number, amount = item
    c = _common
    params = [
        ("gmt_create", c["now"]),
        ("charset", "utf-8"),
        ("seller_id", c["seller_id"]),
        ("subject", "购买课程"),
        ("buyer_id", "2088%012d" % (100000 + index)),
        ("invoice_amount", amount),
        # unique per order and per run day; never Alipay's/the sandbox's shape ("2200…")
        ("notify_id", "%sbench%s%010d" % (c["day"], c["tag"], index)),
        ("fund_bill_list", '[{"amount":"%s","fundChannel":"ALIPAYACCOUNT"}]' % amount),
        ("notify_type", "trade_status_sync"),
        ("trade_status", "TRADE_SUCCESS"),
        ("receipt_amount", amount),
        ("buyer_pay_amount", amount),
        ("app_id", c["app_id"]),
        ("sign_type", "RSA2"),
        ("notify_time", c["now"]),
        ("point_amount", "0.00"),
        ("total_amount", amount),
        ("trade_no", "%s229%s%010d" % (c["day"], c["tag"], index)),
        ("auth_app_id", c["app_id"]),
        ("out_trade_no", number),
        ("gmt_payment", c["now"]),
        ("version", "1.0"),
    ]
    if c["seller_id"] == "":
        params = [(k, v) for k, v in params if k != "seller_id"]
    signature = _key.sign(signing_string(params).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    params.insert(14, ("sign", base64.b64encode(signature).decode("ascii")))
    return urlencode(params)   # form encoding: space as '+', UTF-8 percent-encoded


def _chunk(items):
    return [_body(item) for item in items]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--key", required=True, help="the sandbox's private key (LUFFY_SANDBOX_PRIVATE_KEY)")
    ap.add_argument("--app-id", required=True)
    ap.add_argument("--seller-id", default="")
    ap.add_argument("--orders", help="order_number<TAB>real_price lines (default: stdin)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default="0", choices=[str(d) for d in range(10)],
                    help="one digit in trade_no and notify_id: keeps the batches of one run apart")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    src = open(args.orders, encoding="utf-8") if args.orders else sys.stdin
    items = []
    for index, line in enumerate(src):
        number, amount = line.rstrip("\n").split("\t")
        items.append((index, number, amount))
    if not items:
        sys.exit("gen-notify: no orders given")

    now = time.strftime("%Y-%m-%d %H:%M:%S")
    common = {"app_id": args.app_id, "seller_id": args.seller_id, "now": now,
              "day": time.strftime("%Y%m%d"), "tag": args.tag}
    started = time.monotonic()
    size = max(1, min(2000, len(items) // (args.jobs * 4) or 1))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    tmp = args.out + ".tmp"
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init_worker,
                             initargs=(args.key, common)) as pool, open(tmp, "w", encoding="ascii") as out:
        for bodies in pool.map(_chunk, chunks):
            for body in bodies:
                out.write(body)
                out.write("\n")
    os.replace(tmp, args.out)
    print("gen-notify: %d signed notifications in %.1fs (%d processes)"
          % (len(items), time.monotonic() - started, args.jobs), file=sys.stderr)


if __name__ == "__main__":
    main()
