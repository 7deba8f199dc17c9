"""The daily reconciliation against Alipay's bill (docs/RECONCILIATION.md) through the real sandbox:
orders bought at the sandbox's cashier and settled by its notifications, refunds made by the staff
API and sent by `luffy-pay refunds run`, then `luffy-pay reconcile --date D` as a process (the CLI
the operator runs; the test stack's `serve` runs the service, checked on yesterday's date).

Test time travel: each test works on a past day of its own (2021–2025; the sandbox's own tests take
2001–2020). The sandbox moves its side (`POST /sandbox/trades/<n>/move`: the payment and its refunds
by the same whole number of days) and `to_day` below moves the service's own rows of those orders —
`ly_order.pay_time`, the refunds' times and their `succeeded` events — by the same number of days,
by SQL: a stand-in for days passing, used only to isolate the tests from each other.
"""

import hashlib
import http.server
import json
import os
import random
import subprocess
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from alipay import GATEWAY_URL, SANDBOX_URL, pay_through_cashier, sandbox_open_trade, sandbox_trade, shop, \
    wait_for  # noqa: F401  (shop: the fixture)
from conftest import ENV, assert_audit_clean, assert_error, assert_json_response, auth, db_rows
from ordering import SHOP_TZ
from test_metrics import scrape, value

KINDS = ["paid_at_alipay_only", "paid_here_only", "amount_mismatch", "second_trade_for_order",
         "refund_at_alipay_only", "refund_here_only", "refund_amount_mismatch"]
STATES = ["open", "resolved", "auto_resolved", "carried"]
ITEM_KEYS = {"id", "date", "kind", "state", "key", "order_number", "trade_no", "out_request_no", "alipay_amount",
             "local_amount", "evidence", "action", "resolved_by", "note", "created_time", "resolved_time"}
BILL_DEFAULTS = {"today": None, "url_ttl_s": 30, "corrupt": None, "changes": []}


# ---------------------------------------------------------------- the sandbox's bills
def money(value):
    """An amount of the API (a JSON number with two decimals) as an exact Decimal."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def side(summary_side):
    """One side of the day's summary with its amounts as Decimals."""
    return {k: money(v) if k.endswith("_amount") else v for k, v in summary_side.items()}


def bill_settings(**values):
    """`POST /sandbox/bill-settings` (replaces them all; nothing: the defaults)."""
    r = requests.post(SANDBOX_URL + "/sandbox/bill-settings", json=values, timeout=10)
    assert r.status_code == 200, f"bill settings {values}: {r.status_code} {r.text[:300]}"
    return r.json()


@pytest.fixture(autouse=True)
def default_bills():
    """Every test starts and ends with the sandbox's default bill settings."""
    assert bill_settings() == BILL_DEFAULTS
    try:
        yield
    finally:
        bill_settings()
        requests.post(SANDBOX_URL + "/sandbox/brownout", data={"delay_ms": "0"}, timeout=10)


def a_day(db):
    """A past day no run has touched, of this test alone."""
    while True:
        day = (date(2021, 1, 1) + timedelta(days=random.randrange(5 * 365))).isoformat()
        if not db_rows(db, "SELECT 1 FROM ly_reconcile_run WHERE bill_date = %s", (day,)):
            return day


def next_day(day):
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def shop_today():
    return datetime.now(SHOP_TZ).date()


def to_day(db, p, day):
    """Time travel (module docstring): the sandbox's trade of order `p` and the service's rows of it
    (pay_time, its refunds and their events) move so that the payment falls on `day`."""
    r = requests.post(f"{SANDBOX_URL}/sandbox/trades/{p.number}/move", json={"day": day}, timeout=10)
    assert r.status_code == 200, r.text
    (pay_time,), = db_rows(db, "SELECT pay_time FROM ly_order WHERE id = %s", (p.id,))
    if pay_time is None:
        return
    days = (pay_time.date() - date.fromisoformat(day)).days
    with db.cursor() as cur:
        cur.execute("UPDATE ly_order SET pay_time = pay_time - INTERVAL %s DAY WHERE id = %s", (days, p.id))
        cur.execute("UPDATE ly_refund_event e JOIN ly_refund r ON r.id = e.refund_id "
                    "SET e.created_time = e.created_time - INTERVAL %s DAY WHERE r.order_id = %s", (days, p.id))
        cur.execute("UPDATE ly_refund SET created_time = created_time - INTERVAL %s DAY, "
                    "updated_time = updated_time - INTERVAL %s DAY WHERE order_id = %s", (days, days, p.id))


# ---------------------------------------------------------------- orders, refunds, staff
def paid(client, db, shop, prices=("120.00", "80.50"), notify=True):
    """A throwaway order paid at the sandbox's cashier; settled by the notification unless not
    `notify` (then nobody tells the shop: no notification, no return visit)."""
    p = shop.purchase("plain", prices=prices, credits=(0,) * len(prices))
    pay_through_cashier(client, p.user_id, p.number, notify=notify)
    if notify:
        wait_for(lambda: db_rows(db, "SELECT order_status FROM ly_order WHERE id = %s", (p.id,))[0][0] == 1, 15,
                 what="the notification to settle the order")
    p.trade_no = sandbox_trade(p.number)["trade_no"]
    return p


def staff_user(shop):
    uid = shop.t.user()
    db_rows(shop.conn, "UPDATE ly_users SET is_staff = 1 WHERE id = %s", (uid,))
    return uid


def post_json(client, user_id, path, body=None, raw=None, headers=None):
    h = {**(auth(user_id) if user_id else {}), "Content-Type": "application/json", **(headers or {})}
    data = raw if raw is not None else json.dumps(body if body is not None else {}, ensure_ascii=False).encode()
    return client.request("POST", path, headers=h, data=data, timeout=30)


def refunds_run():
    out = subprocess.run([ENV["app_bin"], "refunds", "run"], env=dict(os.environ, LUFFY_CONFIG=ENV["config"]),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]


def refunded(client, db, staff, p, course_ids=None):
    """A staff refund of these courses of `p` (all: None), sent and succeeded; its number."""
    body = {"course_ids": course_ids} if course_ids else {}
    r = assert_json_response(post_json(client, staff, f"/admin/orders/{p.id}/refund", body), 201)

    def succeeded():
        refunds_run()
        return db_rows(db, "SELECT state FROM ly_refund WHERE id = %s", (r["id"],))[0][0] == "succeeded"
    wait_for(succeeded, 30, interval=1.0, what=f"refund {r['refund_number']} to succeed")
    return r["refund_number"]


# ---------------------------------------------------------------- the reconciler as a process
def reconcile(*args, timeout=120, env=None):
    return subprocess.run([ENV["app_bin"], "reconcile", *args],
                          env=dict(os.environ, LUFFY_CONFIG=ENV["config"], **(env or {})),
                          capture_output=True, text=True, timeout=timeout)


def last_line(stderr):
    """The CLI's own message: its last line (the log lines of the run come before it on stderr)."""
    return stderr.strip().splitlines()[-1]


def reconciled(day):
    out = reconcile("--date", day)
    assert out.returncode == 0, (out.returncode, out.stdout, out.stderr[-2000:])
    line = out.stdout.strip().splitlines()[-1]
    assert line.startswith(f"reconcile {day}: done "), line
    return dict(kv.split("=", 1) for kv in line.split(": done ", 1)[1].split())


def items(db, day):
    """(kind, key, state) of the day's items, sorted."""
    return sorted(db_rows(db, "SELECT kind, item_key, state FROM ly_reconcile_item WHERE bill_date = %s", (day,)))


def item_rows(db, day):
    return db_rows(db, "SELECT * FROM ly_reconcile_item WHERE bill_date = %s ORDER BY id", (day,))


def run_row(db, day):
    rows = db_rows(db, "SELECT state, attempts, last_error, alipay_trades, alipay_trade_amount, alipay_refunds, "
                       "alipay_refund_amount, local_trades, local_trade_amount, local_refunds, local_refund_amount "
                       "FROM ly_reconcile_run WHERE bill_date = %s", (day,))
    if not rows:
        return None
    return dict(zip(("state", "attempts", "last_error", "alipay_trades", "alipay_trade_amount", "alipay_refunds",
                     "alipay_refund_amount", "local_trades", "local_trade_amount", "local_refunds",
                     "local_refund_amount"), rows[0]))


def stored(db, day):
    """What a run stores for a day besides its run row: (bills, bill rows, items)."""
    return tuple(db_rows(db, f"SELECT COUNT(*) FROM {table} WHERE bill_date = %s", (day,))[0][0]
                 for table in ("ly_reconcile_bill", "ly_bill_row", "ly_reconcile_item"))


# ---------------------------------------------------------------- a day that agrees
def test_a_day_of_payments_a_partial_and_a_full_refund_reconciles_to_nothing(client, db, shop):
    day = a_day(db)
    staff = staff_user(shop)
    a = paid(client, db, shop, prices=("120.00", "80.50"))
    b = paid(client, db, shop, prices=("49.90",))
    c = paid(client, db, shop, prices=("10.00",))
    partial = refunded(client, db, staff, a, course_ids=[a.course_ids[0]])
    full = refunded(client, db, staff, b)
    for p in (a, b, c):
        to_day(db, p, day)
    summary = reconciled(day)
    assert (summary["alipay_trades"], summary["alipay_refunds"], summary["items"], summary["open"]) == ("3", "2", "0", "0")
    assert items(db, day) == []
    run = run_row(db, day)
    assert run["state"] == "done" and run["last_error"] is None and run["attempts"] == 1, run
    trades, refunds = str(a.amount + b.amount + c.amount), "169.90"
    assert (run["alipay_trades"], str(run["alipay_trade_amount"]), run["alipay_refunds"],
            str(run["alipay_refund_amount"])) == (3, trades, 2, refunds), run
    assert (run["local_trades"], str(run["local_trade_amount"]), run["local_refunds"],
            str(run["local_refund_amount"])) == (3, trades, 2, refunds), run
    # the bill is kept as downloaded, and its rows
    (name, size, sha, content), = db_rows(db, "SELECT file_name, bytes, sha256, content FROM ly_reconcile_bill "
                                              "WHERE bill_date = %s", (day,))
    assert name.endswith(f"_{day.replace('-', '')}.csv.zip") and size == len(content) and content[:4] == b"PK\x03\x04"
    assert hashlib.sha256(content).hexdigest() == sha
    rows = db_rows(db, "SELECT kind, trade_no, out_trade_no, out_request_no, amount FROM ly_bill_row "
                       "WHERE bill_date = %s ORDER BY line", (day,))
    assert sorted((k, t, o, r, str(x)) for k, t, o, r, x in rows) == sorted([
        ("trade", a.trade_no, a.number, "", str(a.amount)), ("trade", b.trade_no, b.number, "", str(b.amount)),
        ("trade", c.trade_no, c.number, "", str(c.amount)),
        ("refund", a.trade_no, a.number, partial, "-120.00"), ("refund", b.trade_no, b.number, full, "-49.90")])
    assert_audit_clean()


# ---------------------------------------------------------------- every kind
def test_each_planted_difference_is_found_once_with_its_evidence(client, db, shop):
    day = a_day(db)
    staff = staff_user(shop)
    dropped, wrong, twice, foreign, late = (paid(client, db, shop, prices=(price,))
                                            for price in ("11.00", "12.00", "13.00", "14.00", "15.00"))
    lost_refund, wrong_refund = (paid(client, db, shop, prices=(price,)) for price in ("16.00", "17.00"))
    dropped_no = refunded(client, db, staff, lost_refund)
    wrong_no = refunded(client, db, staff, wrong_refund)
    stranger = sandbox_open_trade("3.30")          # a payment the shop never made an order for
    for p in (dropped, wrong, twice, foreign, late, lost_refund, wrong_refund):
        to_day(db, p, day)
    assert requests.post(f"{SANDBOX_URL}/sandbox/trades/{stranger}/move", json={"day": day}, timeout=10).ok
    bill_settings(changes=[
        {"kind": "drop_trade", "out_trade_no": dropped.number},
        {"kind": "trade_amount", "out_trade_no": wrong.number, "amount": "1.00"},
        {"kind": "second_trade", "out_trade_no": twice.number, "amount": "9.90"},
        {"kind": "foreign_refund", "out_trade_no": foreign.number, "amount": "1.00", "out_request_no": "EXT20260001"},
        {"kind": "next_day", "out_trade_no": late.number},
        {"kind": "drop_refund", "out_request_no": dropped_no},
        {"kind": "refund_amount", "out_request_no": wrong_no, "amount": "2.00"},
    ])
    reconciled(day)
    second_trade_no = db_rows(db, "SELECT trade_no FROM ly_bill_row WHERE bill_date = %s AND out_trade_no = %s "
                                  "AND trade_no <> %s", (day, twice.number, twice.trade_no))[0][0]
    stranger_trade = sandbox_trade(stranger)["trade_no"]
    assert items(db, day) == sorted([
        ("paid_here_only", dropped.trade_no, "carried"),
        ("paid_here_only", late.trade_no, "carried"),
        ("amount_mismatch", wrong.trade_no, "open"),
        ("second_trade_for_order", second_trade_no, "open"),
        ("refund_at_alipay_only", "EXT20260001", "open"),
        ("refund_here_only", dropped_no, "carried"),
        ("refund_amount_mismatch", wrong_no, "open"),
        ("paid_at_alipay_only", stranger_trade, "open"),     # no order of that number: nothing to heal
    ])

    # the evidence: the bill's row(s) as read, and the service's own rows
    found = {(i["kind"], i["key"]): i for i in api_items(client, staff, date=day)}
    mismatch = found[("amount_mismatch", wrong.trade_no)]
    assert (money(mismatch["alipay_amount"]), money(mismatch["local_amount"]), mismatch["order_number"]) == \
        (Decimal("1.00"), Decimal("12.00"), wrong.number), mismatch
    (row,) = mismatch["evidence"]["bill"]
    assert (row["支付宝交易号"], row["商户订单号"], row["业务类型"], row["订单金额（元）"]) == \
        (wrong.trade_no, wrong.number, "交易", "1.00"), row
    assert mismatch["evidence"]["local"]["order"]["trade_no"] == wrong.trade_no
    second = found[("second_trade_for_order", second_trade_no)]
    assert second["evidence"]["bill"][0]["订单金额（元）"] == "9.90" and second["order_number"] == twice.number
    assert second["evidence"]["local"]["order"]["trade_no"] == twice.trade_no
    outside = found[("refund_at_alipay_only", "EXT20260001")]
    assert outside["evidence"]["bill"][0]["退款批次号/请求号"] == "EXT20260001" and money(outside["alipay_amount"]) == Decimal("1.00")
    assert outside["evidence"]["local"] == {"refund": None}
    wrong_r = found[("refund_amount_mismatch", wrong_no)]
    assert (money(wrong_r["alipay_amount"]), money(wrong_r["local_amount"])) == \
        (Decimal("2.00"), Decimal("17.00")), wrong_r
    assert wrong_r["evidence"]["bill"][0]["订单金额（元）"] == "-2.00"
    assert wrong_r["evidence"]["local"]["refund"]["refund_number"] == wrong_no
    here = found[("paid_here_only", dropped.trade_no)]
    assert here["evidence"] == {"bill": [], "local": here["evidence"]["local"]} and money(here["local_amount"]) == Decimal("11.00")
    assert here["evidence"]["local"]["order"]["order_number"] == dropped.number
    assert found[("refund_here_only", dropped_no)]["evidence"]["local"]["refund"]["amount"] == "16.00"

    # the next day's bill: the payment near midnight is there (auto_resolved), the dropped ones are not (open)
    summary = reconciled(next_day(day))
    assert (summary["carried_resolved"], summary["carried_opened"]) == ("1", "2"), summary
    states = {(k, key): s for k, key, s in items(db, day)}
    assert states[("paid_here_only", late.trade_no)] == "auto_resolved"
    assert states[("paid_here_only", dropped.trade_no)] == "open"
    assert states[("refund_here_only", dropped_no)] == "open"
    assert items(db, next_day(day)) == []
    assert found[("paid_here_only", late.trade_no)]["state"] == "carried"
    late_item = db_rows(db, "SELECT action, resolved_time FROM ly_reconcile_item WHERE bill_date = %s AND "
                            "item_key = %s", (day, late.trade_no))[0]
    assert late_item[0] == "found in the next day's bill" and late_item[1] is not None


# ---------------------------------------------------------------- a lost notification heals
def test_a_notification_that_never_arrived_is_healed(client, db, shop):
    day = a_day(db)
    p = paid(client, db, shop, prices=("66.60",), notify=False)
    assert db_rows(db, "SELECT order_status, trade_no FROM ly_order WHERE id = %s", (p.id,))[0] == (0, None)
    to_day(db, p, day)
    summary = reconciled(day)
    assert (summary["healed"], summary["open"]) == ("1", "0"), summary
    (kind, key, state), = items(db, day)
    assert (kind, key, state) == ("paid_at_alipay_only", p.trade_no, "auto_resolved")
    (action,), = db_rows(db, "SELECT action FROM ly_reconcile_item WHERE bill_date = %s", (day,))
    assert "alipay.trade.query" in action and p.number in action and "settled" in action, action
    # settled as any other payment: status 1, the trade, the courses granted, nothing owed back
    shop.assert_settled(p, p.trade_no)
    assert_audit_clean()
    # once healed, a re-run finds the order paid by that trade: nothing new
    reconciled(day)
    assert items(db, day) == [("paid_at_alipay_only", p.trade_no, "auto_resolved")]


def test_a_payment_for_a_closed_order_is_recorded_for_refund(client, db, shop):
    day = a_day(db)
    p = paid(client, db, shop, prices=("21.00",), notify=False)
    with db.cursor() as cur:   # the buyer paid, then the order was closed without asking Alipay (lost race)
        cur.execute("UPDATE ly_order SET order_status = 3 WHERE id = %s", (p.id,))
    to_day(db, p, day)
    reconciled(day)
    assert items(db, day) == [("paid_at_alipay_only", p.trade_no, "auto_resolved")]
    (action,), = db_rows(db, "SELECT action FROM ly_reconcile_item WHERE bill_date = %s", (day,))
    assert "refund" in action and "order_timed_out" in action, action
    assert db_rows(db, "SELECT source, state, amount, payment_source FROM ly_refund WHERE order_id = %s", (p.id,)) == \
        (("late_payment", "approved", p.amount, "reconcile"),)
    # the next run knows the trade through its refund: no item
    reconciled(day)
    assert len(items(db, day)) == 1


# ---------------------------------------------------------------- re-running
def test_rerunning_a_date_changes_nothing(client, db, shop):
    day = a_day(db)
    staff = staff_user(shop)
    a, b = paid(client, db, shop, prices=("31.00",)), paid(client, db, shop, prices=("32.00",))
    for p in (a, b):
        to_day(db, p, day)
    bill_settings(changes=[{"kind": "trade_amount", "out_trade_no": a.number, "amount": "1.00"},
                           {"kind": "foreign_refund", "out_trade_no": b.number, "amount": "2.00",
                            "out_request_no": "EXT-RERUN-1"}])
    reconciled(day)
    resolved = api_items(client, staff, date=day, kind="amount_mismatch")[0]
    assert_json_response(post_json(client, staff, f"/admin/reconciliation/items/{resolved['id']}/resolve",
                                   {"note": "查过了"}), 200)
    before = (item_rows(db, day), run_row(db, day), db_rows(db, "SELECT * FROM ly_bill_row WHERE bill_date = %s "
                                                                 "ORDER BY id", (day,)),
              db_rows(db, "SELECT * FROM ly_reconcile_bill WHERE bill_date = %s", (day,)))
    summary = reconciled(day)
    assert (summary["items"], summary["added"]) == ("2", "0"), summary
    after = (item_rows(db, day), run_row(db, day), db_rows(db, "SELECT * FROM ly_bill_row WHERE bill_date = %s "
                                                                "ORDER BY id", (day,)),
             db_rows(db, "SELECT * FROM ly_reconcile_bill WHERE bill_date = %s", (day,)))
    # the items (the resolved one untouched), the rows and the bill as they were; the run counts its attempt
    assert after[0] == before[0] and after[2] == before[2] and after[3] == before[3]
    assert {**after[1], "attempts": 0} == {**before[1], "attempts": 0} and after[1]["attempts"] == 2


# ---------------------------------------------------------------- not ready, and the service's retries
def test_today_is_not_ready(db):
    today = shop_today().isoformat()
    db_rows(db, "DELETE FROM ly_reconcile_run WHERE bill_date = %s", (today,))
    out = reconcile("--date", today)
    assert out.returncode == 3, (out.returncode, out.stdout, out.stderr)
    assert last_line(out.stderr) == f"luffy-pay: reconcile {today}: bill_not_ready: Alipay has no bill for this date " \
                                    f"yet (isp.bill_not_exist): try again later", out.stderr
    run = run_row(db, today)
    assert (run["state"], run["last_error"], run["attempts"]) == ("not_ready", "bill_not_ready", 1), run
    assert stored(db, today) == (0, 0, 0)
    db_rows(db, "DELETE FROM ly_reconcile_run WHERE bill_date = %s", (today,))
    # a future day likewise; a malformed one is refused before anything is asked
    assert reconcile("--date", (shop_today() + timedelta(days=3)).isoformat()).returncode == 3
    db_rows(db, "DELETE FROM ly_reconcile_run WHERE bill_date > %s", (today,))
    for bad in ("2026-02-30", "yesterday", "2026/11/01", ""):
        out = reconcile("--date", bad)
        assert out.returncode == 1 and "--date needs a day as YYYY-MM-DD" in out.stderr, (bad, out.stderr)
    assert reconcile("--when").returncode == 1


def test_the_service_retries_until_the_bill_is_ready(db):
    """The stack's `serve` runs the service (LUFFY_RECONCILE_AT 00:00, LUFFY_RECONCILE_RETRY 1 s:
    scripts/stack.sh) on yesterday's date until it is done."""
    yesterday = (shop_today() - timedelta(days=1)).isoformat()
    before = scrape()
    not_ready_before = value(before, "luffy_reconciliation_runs", "luffy_reconciliation_runs_total",
                             result="bill_not_ready")
    bill_settings(today=yesterday)       # the sandbox's today: yesterday's bill is not made yet
    with db.cursor() as cur:
        for table in ("ly_reconcile_item", "ly_bill_row", "ly_reconcile_bill", "ly_reconcile_run"):
            cur.execute(f"DELETE FROM {table} WHERE bill_date = %s", (yesterday,))
    # `attempts` counts an attempt when it starts (state `running`); its outcome is written when
    # it ends, and the next one starts LUFFY_RECONCILE_RETRY (1 s) later
    def asked_twice():
        run = run_row(db, yesterday) or {}
        return run if run.get("attempts", 0) >= 2 and run.get("state") != "running" else None
    run = wait_for(asked_twice, 20, interval=0.1, what="the service to finish asking twice")
    assert (run["state"], run["last_error"]) == ("not_ready", "bill_not_ready"), run
    assert stored(db, yesterday) == (0, 0, 0)
    # the counter follows the run's row by a moment (Reconciler.record writes the row first)
    wait_for(lambda: value(scrape(), "luffy_reconciliation_runs", "luffy_reconciliation_runs_total",
                           result="bill_not_ready") >= not_ready_before + 2, 5, interval=0.1,
             what="two bill_not_ready runs counted")
    bill_settings()
    wait_for(lambda: run_row(db, yesterday)["state"] == "done", 20, interval=0.2, what="the service to complete")
    run = run_row(db, yesterday)
    assert run["last_error"] is None and run["attempts"] >= 3, run
    families = scrape()
    assert value(families, "luffy_reconciliation_last_date", "luffy_reconciliation_last_date") == \
        int(yesterday.replace("-", ""))
    assert value(families, "luffy_reconciliation_runs", "luffy_reconciliation_runs_total", result="done") >= 1
    # the CLI's default date is the same yesterday (shop time)
    out = reconcile()
    assert out.returncode == 0 and out.stdout.startswith(f"reconcile {yesterday}: done "), (out.stdout, out.stderr)


# ---------------------------------------------------------------- bad bills store nothing
class SlowGateway:
    """A relay in front of the sandbox's /gateway.do that hands each answer back `delay` seconds
    late, unchanged (signed by the sandbox): a slow network between the shop and Alipay, so that a
    download URL the sandbox made (valid `url_ttl_s`) has expired when the shop gets it."""

    def __init__(self, delay):
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                r = requests.post(GATEWAY_URL, data=body, timeout=30,
                                  headers={"Content-Type": self.headers.get("Content-Type", "")})
                relay.relayed += 1
                time.sleep(delay)
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def log_message(self, *args):
                pass

        self.relayed = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gateway.do"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("settings, error, words", [
    ({"corrupt": "zip"}, "bill_corrupt", "bill_corrupt: "),
    ({"corrupt": "footer"}, "bill_totals_mismatch", "bill_totals_mismatch: "),
    ({"url_ttl_s": 1}, "bill_download_failed", "bill_download_failed: "),
])
def test_a_bad_bill_is_a_clear_error_and_stores_nothing(client, db, shop, settings, error, words):
    day = a_day(db)
    p = paid(client, db, shop, prices=("41.00",))
    to_day(db, p, day)
    bill_settings(**settings)
    if error == "bill_download_failed":
        # an expired URL: the answer naming it arrives after its second of validity (and then some)
        slow = SlowGateway(delay=2.5)
        try:
            out = reconcile("--date", day, env={"LUFFY_ALIPAY_GATEWAY": slow.url})
        finally:
            slow.close()
        assert slow.relayed == 1
        assert "HTTP 404" in last_line(out.stderr), out.stderr
    else:
        out = reconcile("--date", day)
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
    assert last_line(out.stderr).startswith(f"luffy-pay: reconcile {day}: {words}"), out.stderr
    run = run_row(db, day)
    assert (run["state"], run["last_error"], run["alipay_trades"]) == ("failed", error, 0), run
    assert stored(db, day) == (0, 0, 0)
    bill_settings()
    assert reconciled(day)["items"] == "0" and stored(db, day)[:2] == (1, 1)


# ---------------------------------------------------------------- two at once
def test_two_reconcilers_at_once_make_one_run(client, db, shop):
    day = a_day(db)
    p = paid(client, db, shop, prices=("51.00",))
    to_day(db, p, day)
    # a slow Alipay holds the first one's URL query, so the two overlap whatever the start-up times
    assert requests.post(SANDBOX_URL + "/sandbox/brownout", data={"delay_ms": "1500"}, timeout=10).ok
    env = dict(os.environ, LUFFY_CONFIG=ENV["config"])
    procs = [subprocess.Popen([ENV["app_bin"], "reconcile", "--date", day], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [(proc.wait(timeout=60), *proc.communicate()) for proc in procs]
    assert sorted(rc for rc, _, _ in outs) == [0, 1], outs
    (_, _, refused), = [o for o in outs if o[0] == 1]
    assert last_line(refused) == f"luffy-pay: reconcile {day}: run_in_progress: another reconciler is running this date"
    run = run_row(db, day)
    assert (run["state"], run["attempts"], run["alipay_trades"]) == ("done", 1, 1), run
    assert stored(db, day) == (1, 1, 0)


# ---------------------------------------------------------------- the staff API and the CLI's list
def api_items(client, staff, **query):
    query.setdefault("size", "20")
    r = client.get("/admin/reconciliation/items", params=query, headers=auth(staff))
    body = assert_json_response(r, 200)
    for item in body["results"]:
        assert set(item) == ITEM_KEYS, item
    return body["results"]


def test_the_staff_api(client, db, shop):
    day = a_day(db)
    staff = staff_user(shop)
    buyer = shop.t.user()
    a, b = paid(client, db, shop, prices=("61.00",)), paid(client, db, shop, prices=("62.00",))
    for p in (a, b):
        to_day(db, p, day)
    bill_settings(changes=[{"kind": "trade_amount", "out_trade_no": a.number, "amount": "1.00"},
                           {"kind": "drop_trade", "out_trade_no": b.number}])
    reconciled(day)

    summary = assert_json_response(client.get(f"/admin/reconciliation?date={day}", headers=auth(staff)), 200)
    assert summary["date"] == day and summary["run"]["state"] == "done" and summary["run"]["attempts"] == 1
    assert summary["run"]["last_error"] is None and summary["run"]["finished_time"].startswith(str(shop_today()))
    assert side(summary["alipay"]) == {"trades": 1, "trade_amount": Decimal("1.00"), "refunds": 0,
                                       "refund_amount": Decimal("0.00")}
    assert side(summary["local"]) == {"trades": 2, "trade_amount": Decimal("123.00"), "refunds": 0,
                                      "refund_amount": Decimal("0.00")}
    assert summary["items"] == {"open": 1, "by_kind": {
        "paid_here_only": {"open": 0, "resolved": 0, "auto_resolved": 0, "carried": 1},
        "amount_mismatch": {"open": 1, "resolved": 0, "auto_resolved": 0, "carried": 0}}}

    # the list and its filters
    listed = api_items(client, staff, date=day)
    assert sorted((i["kind"], i["state"]) for i in listed) == [("amount_mismatch", "open"), ("paid_here_only", "carried")]
    assert [i["kind"] for i in api_items(client, staff, date=day, state="open")] == ["amount_mismatch"]
    assert [i["kind"] for i in api_items(client, staff, date=day, kind="paid_here_only")] == ["paid_here_only"]
    assert api_items(client, staff, date=day, state="resolved") == []
    assert all(i["state"] == "open" for i in api_items(client, staff, state="open"))
    for query, code in [("state=closed", "invalid_state"), ("kind=lost", "invalid_kind"), ("date=2026-02-30", "invalid_date"),
                        ("date=yesterday", "invalid_date"), ("page=0", "invalid_page"), ("size=1000", "invalid_size"),
                        ("page=abc", "invalid_page"), ("state=OPEN", "invalid_state"), ("state=%00", "invalid_state")]:
        assert_error(client.get(f"/admin/reconciliation/items?{query}", headers=auth(staff)), 400, code)
    assert_error(client.get(f"/admin/reconciliation/items?date={day}&page=9", headers=auth(staff)), 400,
                 "page_out_of_range")

    # the summary's refusals
    for bad in ("", "2026-13-01", "2026-1-1", "20261101", "1999-12-31", "2026-11-01%20", "x" * 5000, "%E4%BD%A0"):
        assert_error(client.get(f"/admin/reconciliation?date={bad}", headers=auth(staff)), 400, "invalid_date")
    assert_error(client.get("/admin/reconciliation", headers=auth(staff)), 400, "invalid_date")
    assert_error(client.get("/admin/reconciliation?date=2020-02-29", headers=auth(staff)), 404, "reconciliation_not_found")

    # resolve: hostile notes and ids first, nothing changes
    item = api_items(client, staff, date=day, state="open")[0]
    path = f"/admin/reconciliation/items/{item['id']}/resolve"
    for body in ({}, {"note": None}, {"note": 1}, {"note": ""}, {"note": "   "}, {"note": "x" * 501}, {"note": ["a"]},
                 {"note": {"a": 1}}, {"note": True}):
        assert_error(post_json(client, staff, path, body), 400, "invalid_note")
    assert_error(post_json(client, staff, path, raw=b"[1]"), 400, "invalid_body")
    assert_error(post_json(client, staff, path, raw=b"{\"note\":"), 400, "invalid_body")
    assert_error(post_json(client, staff, path, raw=("{\"note\":\"" + "长" * 400_000 + "\"}").encode()), 413)
    huge = client.request("POST", path, headers={**auth(staff), "Content-Type": "text/plain"}, data=b"note", timeout=30)
    assert_error(huge, 415)
    for bad_id in ("0", "-1", "abc", "99999999999999999999", "1.5", str(2 ** 62)):
        assert_error(post_json(client, staff, f"/admin/reconciliation/items/{bad_id}/resolve", {"note": "x"}), 404,
                     "item_not_found")
    assert db_rows(db, "SELECT state, note FROM ly_reconcile_item WHERE id = %s", (item["id"],)) == (("open", None),)

    # who may: 401 unsigned, 403 a buyer
    assert_error(client.request("POST", path, headers={"Content-Type": "application/json"}, data=b'{"note":"x"}'),
                 401, "unauthorized")
    assert_error(client.get(f"/admin/reconciliation?date={day}"), 401, "unauthorized")
    assert_error(post_json(client, buyer, path, {"note": "x"}), 403, "forbidden")
    assert_error(client.get(f"/admin/reconciliation/items?date={day}", headers=auth(buyer)), 403, "forbidden")
    assert_error(client.get(f"/admin/reconciliation?date={day}", headers=auth(buyer)), 403, "forbidden")

    # resolved once, with who and the note (500 characters is the most); then 409
    note = "核对" + "x" * 498
    done = assert_json_response(post_json(client, staff, path, {"note": "  " + note + " "}), 200)
    assert (done["state"], done["resolved_by"], done["note"], done["id"]) == ("resolved", f"staff:{staff}", note, item["id"])
    assert done["resolved_time"] is not None and done["kind"] == "amount_mismatch"
    conflict = assert_error(post_json(client, staff, path, {"note": "again"}), 409, "item_not_open")
    assert conflict["state"] == "resolved"
    carried = api_items(client, staff, date=day, kind="paid_here_only")[0]
    assert assert_error(post_json(client, staff, f"/admin/reconciliation/items/{carried['id']}/resolve",
                                  {"note": "x"}), 409, "item_not_open")["state"] == "carried"
    after = assert_json_response(client.get(f"/admin/reconciliation?date={day}", headers=auth(staff)), 200)
    assert after["items"]["open"] == 0 and after["items"]["by_kind"]["amount_mismatch"]["resolved"] == 1

    # the CLI's list
    out = reconcile("items", "--date", day)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "items: 2 of 2 shown", lines
    assert any(f"amount_mismatch resolved key={a.trade_no}" in line and f"resolved_by=staff:{staff}" in line
               for line in lines), lines
    out = reconcile("items", "--open", "--date", day)
    assert out.returncode == 0 and out.stdout.strip().splitlines() == ["items: 0 of 0 shown"], out.stdout
    assert reconcile("items", "--bogus").returncode == 1
