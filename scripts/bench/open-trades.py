#!/usr/bin/env python3
"""scripts/bench/open-trades.py — paid trades at the sandbox for the refund worker benchmark.

Reads lines `order_number<TAB>amount` (--orders) and, for each, opens a trade at the sandbox as a
buyer would (docs/SANDBOX.md): `alipay.trade.page.pay` signed with the app's private key (every
parameter but `sign`, sorted, `k=v` joined by `&`, RSA-SHA256 PKCS#1 v1.5, base64), the cashier
shown, then its pay button without a notification (`notify=0`: the shop learns nothing, the bench
writes the paid orders itself; no return_url, so the cashier answers its "付款成功" page). Writes `order_number<TAB>trade_no` per trade (--out), in the same
order. A few threads at once: the sandbox answers each in about a millisecond.
Needs the `cryptography` package (scripts/bench/requirements.txt).
"""
import argparse
import base64
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


OPENER = urllib.request.build_opener()


def signing_string(params):
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")


def open_trade(args, key, line):
    number, amount = line.split("\t")
    params = {"app_id": args.app_id, "method": "alipay.trade.page.pay", "format": "JSON", "charset": "utf-8",
              "sign_type": "RSA2", "timestamp": time.strftime("%Y-%m-%d %H:%M:%S"), "version": "1.0",
              "biz_content": json.dumps({"out_trade_no": number, "total_amount": amount, "subject": "退款压测",
                                         "product_code": "FAST_INSTANT_TRADE_PAY"}, separators=(",", ":"),
                                        ensure_ascii=False)}
    params["sign"] = base64.b64encode(
        key.sign(signing_string(params).encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    with OPENER.open(args.gateway + "?" + urllib.parse.urlencode(params), timeout=30) as r:
        if r.status != 200:
            raise SystemExit(f"{number}: the cashier answered {r.status}")
    # Without a return_url the cashier answers its "付款成功" page (200) rather than a 302.
    pay = urllib.parse.urlencode({"out_trade_no": number, "notify": "0"}).encode()
    try:
        with OPENER.open(args.sandbox + "/cashier/pay", data=pay, timeout=30) as r:
            r.read()
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{number}: the cashier's pay button answered {e.code}")
    with OPENER.open(f"{args.sandbox}/sandbox/trades/{urllib.parse.quote(number)}", timeout=30) as r:
        trade = json.load(r)
    if trade.get("trade_status") != "TRADE_SUCCESS" or not re.fullmatch(r"\d{22}", trade.get("trade_no", "")):
        raise SystemExit(f"{number}: not paid at the sandbox: {trade}")
    return f"{number}\t{trade['trade_no']}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", required=True, help="the app's private key (PEM)")
    p.add_argument("--app-id", required=True)
    p.add_argument("--gateway", required=True, help="the sandbox's gateway.do URL")
    p.add_argument("--orders", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=8)
    args = p.parse_args()
    args.sandbox = args.gateway.rsplit("/", 1)[0]
    with open(args.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    with open(args.orders, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    with ThreadPoolExecutor(args.threads) as pool:
        rows = list(pool.map(lambda line: open_trade(args, key, line), lines))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("".join(row + "\n" for row in rows))
    print(f"open-trades: {len(rows)} paid trades at {args.sandbox}", file=sys.stderr)


if __name__ == "__main__":
    main()
