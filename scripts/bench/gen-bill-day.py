#!/usr/bin/env python3
"""scripts/bench/gen-bill-day.py — one day of trades for the reconciliation benchmark.

Makes --trades paid trades of one past day (--date, shop time --utc-offset) and a full refund of
the first --refunds of them, on both sides of the reconciliation (README "Reconciliation"):
- Alipay's: merged into the sandbox's trades file (--state, `LUFFY_SANDBOX_STATE_FILE`; the
  sandbox must be stopped while it is rewritten), as the sandbox itself writes them
  (docs/SANDBOX.md): TRADE_SUCCESS, or TRADE_CLOSED with one refund for the refunded ones;
  trades of an earlier run of the bench (same order-number prefix) are replaced;
- the shop's: --orders, one line per order (the last --planted unrefunded ones 0.01 dearer than
  the bill says: amount_mismatch items) for the database (`order_number, trade_no, amount,
  pay_time, order_status, refunded_amount`, tab-separated), and --refunds-out, one line per
  refund (`out_request_no, order_number, trade_no, amount, time`).
`--remove` only takes the prefix's trades out of the trades file again.
Order numbers are the app's shape: yyyyMMdd of the day + the bench user (8 digits) + a sequence.
"""
import argparse
import datetime
import json
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--user", type=int, required=True)
    ap.add_argument("--trades", type=int, default=100000)
    ap.add_argument("--refunds", type=int, default=5000)
    ap.add_argument("--planted", type=int, default=0,
                    help="the last N unrefunded orders cost 0.01 more in the database than Alipay took")
    ap.add_argument("--utc-offset", type=int, default=8 * 3600, help="the shop's offset from UTC, seconds")
    ap.add_argument("--orders")
    ap.add_argument("--refunds-out")
    ap.add_argument("--remove", action="store_true")
    args = ap.parse_args()

    day = datetime.date.fromisoformat(args.date)
    prefix = day.strftime("%Y%m%d") + "%08d" % args.user
    state = {"format": 1, "trades": []}
    if os.path.exists(args.state):
        with open(args.state, encoding="utf-8") as f:
            state = json.load(f)
    trades = [t for t in state["trades"] if not t["out_trade_no"].startswith(prefix)]
    if not args.remove:
        assert args.orders and args.refunds_out, "--orders and --refunds-out are needed"
        assert 0 <= args.refunds <= args.trades <= 99999999 and 0 <= args.planted <= args.trades - args.refunds
        rng = random.Random(args.date)
        midnight = int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp())
        midnight -= args.utc_offset
        # Payments spread over the day (00:00:05 … 23:58), refunds an hour after their payment.
        step = (86400 - 200) / max(args.trades, 1)
        with open(args.orders, "w") as orders, open(args.refunds_out, "w") as refunds:
            for i in range(args.trades):
                number = prefix + "%08d" % i
                trade_no = day.strftime("%Y%m%d") + "2200" + "%010d" % (args.user * 100000 + i)
                amount = "%d.%02d" % (1 + i % 1999, i % 100)
                paid = midnight + 5 + int(i * step)
                refunded = i < args.refunds
                refund_at = paid + 60 if paid + 60 < midnight + 86400 else paid
                stamp = lambda t: datetime.datetime.fromtimestamp(t + args.utc_offset, datetime.timezone.utc).strftime(
                    "%Y-%m-%d %H:%M:%S")
                trades.append({
                    "out_trade_no": number, "total_amount": amount, "subject": "购买课程", "time_expire": None,
                    "return_url": None, "notify_url": None,
                    "trade_status": "TRADE_CLOSED" if refunded else "TRADE_SUCCESS", "trade_no": trade_no,
                    "buyer_id": "2088%012d" % rng.randrange(10**12), "created_at": paid - 30, "paid_at": paid,
                    "closed_at": refund_at if refunded else None,
                    "notification": {"enabled": False, "attempts": 0, "delivered": False, "last_answer": None},
                    "refunds": [{
                        "out_request_no": "R%s-1" % number, "refund_amount": amount, "refund_reason": "对账压测",
                        "refunded_at": refund_at, "refund_fee": amount,
                        "notification": {"enabled": False, "attempts": 0, "delivered": False, "last_answer": None},
                    }] if refunded else [],
                })
                booked = amount
                if i >= args.trades - args.planted:
                    cents = int(amount.replace(".", "")) + 1
                    booked = "%d.%02d" % (cents // 100, cents % 100)
                orders.write("\t".join([number, trade_no, booked, stamp(paid), "4" if refunded else "1",
                                        amount if refunded else "0.00"]) + "\n")
                if refunded:
                    refunds.write("\t".join(["R%s-1" % number, number, trade_no, amount, stamp(refund_at)]) + "\n")
    state["trades"] = trades
    tmp = args.state + ".bench-tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False, separators=(",", ":"))
    os.replace(tmp, args.state)


if __name__ == "__main__":
    main()
