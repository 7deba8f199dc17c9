"""The refund worker (README, "Refund worker"; docs/REFUNDS.md) through the real sandbox over HTTP:
orders bought and paid at the sandbox's cashier, refunds created approved with RefundStore's rules
(the order row lock, the shares of `Pricing.paidShares`, the number `R<order number>-<seq>`), then
`luffy-pay refunds run` — the CLI's pass of the worker, as processes, so that a worker can be
killed with SIGKILL and two can run at once. The test stack's `serve` runs no worker
(LUFFY_REFUND_INTERVAL=0, scripts/stack.sh): a refund stays where a test left it.

What is checked is what the money and the books show: the sandbox's record of the trade (its refunds
and refunded amount), the refund row and its events with the raw signed answers, and the order's
side (status 4, refunded_amount, ly_user_course, students, credit rows, coupon).
"""

import os
import signal
import subprocess
from decimal import Decimal

import pytest

from alipay import Buyer, gateway_api, order_state, pay_link, refunds, sandbox_refund_settings, sandbox_trade, \
    shop, wait_for  # noqa: F401  (shop: the fixture)
from conftest import ENV, assert_audit_clean, db_rows, grant_credit

DEFAULTS = {"fault": "none", "notify": False, "min_gap_s": 3, "delay_ms": 0}
# LUFFY_ALIPAY_TIMEOUT (5 s, the stack's default) + 5 s: how long a claim holds a refund.
LEASE_SECONDS = 10


@pytest.fixture
def sandbox():
    """The sandbox's refund settings, back to the defaults after the test."""
    assert sandbox_refund_settings() == DEFAULTS, "the sandbox's refund settings are not the defaults"
    try:
        yield sandbox_refund_settings
    finally:
        sandbox_refund_settings(fault="none", notify="0", min_gap_s="3", delay_ms="0")


# ---------------------------------------------------------------- the worker as a process
def worker_command():
    env = dict(os.environ, LUFFY_CONFIG=ENV["config"])
    return [ENV["app_bin"], "refunds", "run"], env


def run_worker(timeout=60):
    """One pass (`luffy-pay refunds run`); its summary line as a dict of counts."""
    args, env = worker_command()
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"refunds run: {out.returncode} {out.stderr[-2000:]}"
    line = out.stdout.strip().splitlines()[-1]
    assert line.startswith("refunds run: "), out.stdout
    return {k: int(v) for k, v in (kv.split("=") for kv in line[len("refunds run: "):].split())}


def run_until(conn, refund_id, states, timeout=40.0):
    """Passes once a second until the refund is in one of `states`."""
    def done():
        run_worker()
        return refund(conn, refund_id)["state"] in states
    wait_for(done, timeout, interval=1.0, what=f"refund {refund_id} to reach {states}")
    return refund(conn, refund_id)


# ---------------------------------------------------------------- orders and refunds
def paid_purchase(client, db, shop, kind="plain", **kw):
    """A throwaway order paid at the sandbox's cashier and settled by its notification."""
    p = shop.purchase(kind, **kw)
    link = pay_link(client, p.user_id, p.number)
    buyer = Buyer()
    try:
        buyer.open(link)
        buyer.pay(p.number)
    finally:
        buyer.close()
    wait_for(lambda: order_state(db, p.id)["order_status"] == 1, 15, what="the notification to settle the order")
    p.trade_no = sandbox_trade(p.number)["trade_no"]
    return p


def fen(amount):
    return int((Decimal(amount) * 100).to_integral_value())


def paid_shares(paid, prices):
    """`Pricing.paidShares` (README, "Settlement, exactly once"): the discount cut from each price in
    proportion, whole fen by the largest remainder."""
    total = sum(prices)
    discount = total - paid
    parts = [divmod(discount * p, total) for p in prices]
    cuts = [q for q, _ in parts]
    order = sorted(range(len(prices)), key=lambda i: (-parts[i][1], i))
    for i in order[:discount - sum(cuts)]:
        cuts[i] += 1
    return [p - c for p, c in zip(prices, cuts)]


def create_refund(conn, order_id, course_ids=None, source="staff", staff=1):
    """An approved refund of these courses (all: None), as RefundStore.create writes a staff refund."""
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION")
        cur.execute("SELECT order_number, trade_no, real_price FROM ly_order WHERE id = %s FOR UPDATE", (order_id,))
        number, trade_no, paid = cur.fetchone()
        cur.execute("SELECT id, course_id, real_price FROM ly_order_course WHERE order_id = %s ORDER BY id", (order_id,))
        lines = cur.fetchall()
        shares = paid_shares(fen(paid), [fen(line[2]) for line in lines])
        chosen = [(line, share) for line, share in zip(lines, shares) if course_ids is None or line[1] in course_ids]
        amount = sum(share for _, share in chosen)
        cur.execute("SELECT COALESCE(MAX(order_seq), 0) + 1 FROM ly_refund WHERE order_id = %s", (order_id,))
        seq = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO ly_refund (out_request_no, order_id, order_number, order_seq, trade_no, amount, reason, source, "
            "state, requested_by, approved_by, payment_source, attempts, next_attempt_time, created_time, updated_time) "
            "VALUES (%s, %s, %s, %s, %s, %s, '测试退款', %s, 'approved', %s, %s, NULL, 0, NOW(6), NOW(6), NOW(6))",
            (f"R{number}-{seq}", order_id, number, seq, trade_no, Decimal(amount) / 100, source, staff, staff))
        refund_id = cur.lastrowid
        for (oc_id, course_id, _), share in chosen:
            cur.execute("INSERT INTO ly_refund_course (refund_id, order_course_id, course_id, amount, live_key) "
                        "VALUES (%s, %s, %s, %s, %s)", (refund_id, oc_id, course_id, Decimal(share) / 100, oc_id))
        cur.execute("INSERT INTO ly_refund_event (refund_id, from_state, to_state, actor, created_time) "
                    "VALUES (%s, NULL, 'approved', %s, NOW(6))", (refund_id, f"staff:{staff}"))
        cur.execute("COMMIT")
    return refund_id


REFUND_COLUMNS = ("id", "out_request_no", "trade_no", "amount", "state", "sub_code", "fund_change", "attempts",
                  "in_flight_trade_no", "due_in", "order_id")


def refund(conn, refund_id):
    rows = db_rows(conn, "SELECT id, out_request_no, trade_no, amount, state, sub_code, fund_change, attempts, "
                         "in_flight_trade_no, TIMESTAMPDIFF(MICROSECOND, NOW(6), next_attempt_time) / 1e6, order_id "
                         "FROM ly_refund WHERE id = %s", (refund_id,))
    assert rows, f"refund {refund_id} is gone"
    return dict(zip(REFUND_COLUMNS, rows[0]))


def events(conn, refund_id):
    """(from, to, actor, the answer's sub_code or fund_change as the raw answer says, note)."""
    return [(f, t, a, g, n) for f, t, a, g, n in db_rows(
        conn, "SELECT from_state, to_state, actor, gateway_answer, note FROM ly_refund_event WHERE refund_id = %s "
              "ORDER BY id", (refund_id,))]


def transitions(conn, refund_id):
    return [(f, t) for f, t, *_ in events(conn, refund_id)]


def signed_answer(raw, method_key, *fragments):
    """A raw gateway answer as Alipay signs it, holding these fragments."""
    assert raw and raw.startswith('{"%s":{' % method_key) and '"sign":"' in raw, raw
    for fragment in fragments:
        assert fragment in raw, (fragment, raw)


REFUND_KEY = "alipay_trade_refund_response"
QUERY_KEY = "alipay_trade_fastpay_refund_query_response"


def sandbox_refunds(order_number):
    trade = sandbox_trade(order_number)
    return trade["trade_status"], trade["refunded_amount"], \
        [(r["out_request_no"], r["refund_amount"]) for r in trade["refunds"]]


def user_courses(conn, user_id):
    return db_rows(conn, "SELECT course_id, is_deleted FROM ly_user_course WHERE user_id = %s ORDER BY course_id",
                   (user_id,))


def students(conn, course_ids):
    return [n for _, n in db_rows(conn, "SELECT id, students FROM ly_course WHERE id IN (%s) ORDER BY id"
                                  % ",".join(str(int(i)) for i in sorted(course_ids)))]


def refund_credit_rows(conn, user_id):
    return db_rows(conn, "SELECT operation, number, remark FROM ly_credit WHERE user_id = %s AND operation = 0 "
                         "ORDER BY id", (user_id,))


def balance(conn, user_id):
    return db_rows(conn, "SELECT credit FROM ly_users WHERE id = %s", (user_id,))[0][0]


def order_refunded(conn, order_id):
    return db_rows(conn, "SELECT order_status, refunded_amount FROM ly_order WHERE id = %s", (order_id,))[0]


# ---------------------------------------------------------------- end to end
def test_full_refund_end_to_end(client, db, shop, sandbox):
    p = paid_purchase(client, db, shop, "coupon")
    assert students(db, p.course_ids) == [1, 1] and user_courses(db, p.user_id) == tuple((c, 0) for c in sorted(p.course_ids))
    rid = create_refund(db, p.id)
    r = refund(db, rid)
    assert (r["amount"], r["out_request_no"]) == (p.amount, f"R{p.number}-1"), r
    assert run_worker()["succeeded"] >= 1
    r = refund(db, rid)
    assert (r["state"], r["fund_change"], r["attempts"], r["in_flight_trade_no"], r["due_in"]) == \
        ("succeeded", "Y", 1, None, None), r
    evs = events(db, rid)
    assert [(f, t, a) for f, t, a, _, _ in evs] == [
        (None, "approved", "staff:1"), ("approved", "processing", "worker"), ("processing", "succeeded", "worker")], evs
    signed_answer(evs[2][3], REFUND_KEY, '"fund_change":"Y"', f'"out_trade_no":"{p.number}"')
    # the money at the sandbox: one refund under our number, the trade closed
    assert sandbox_refunds(p.number) == ("TRADE_CLOSED", p.amount_text, [(r["out_request_no"], p.amount_text)])
    # the order's side, once
    assert order_refunded(db, p.id) == (4, p.amount)
    assert user_courses(db, p.user_id) == tuple((c, 1) for c in sorted(p.course_ids))
    assert students(db, p.course_ids) == [0, 0]
    coupon = db_rows(db, "SELECT order_id, use_status, use_time FROM ly_coupon_log WHERE id = %s", (p.coupon_log,))
    assert coupon == ((None, 0, None),), coupon     # back in the wallet, within its dates
    assert refund_credit_rows(db, p.user_id) == ()  # no credit was spent
    # a second pass leaves it alone
    run_worker()
    assert events(db, rid) == evs and refund(db, rid) == r
    assert sandbox_refunds(p.number)[2] == [(r["out_request_no"], p.amount_text)]
    assert_audit_clean()


def test_partial_refunds_return_credit_in_proportion(client, db, shop, sandbox):
    p = paid_purchase(client, db, shop, "credit", prices=("120.00", "80.50"), credits=(60, 40), credit=50)
    assert p.amount == Decimal("195.50") and p.credit == 50
    first, second = p.course_ids
    before = balance(db, p.user_id)
    r1 = create_refund(db, p.id, [first])
    run_worker()
    assert refund(db, r1)["state"] == "succeeded"
    share1 = refund(db, r1)["amount"]
    assert share1 == Decimal("117.01")              # 120.00 less its 2.99 of the 5.00 credit discount
    assert order_refunded(db, p.id) == (1, share1)
    assert user_courses(db, p.user_id) == ((first, 1), (second, 0))
    assert students(db, p.course_ids) == [0, 1]
    back1 = 50 * fen(share1) // fen(p.amount)       # 29
    number1 = refund(db, r1)["out_request_no"]
    assert refund_credit_rows(db, p.user_id) == ((0, back1, f"退款返还积分,订单号: {p.number},退款号: {number1}"),)
    assert balance(db, p.user_id) == before + back1
    status, refunded, at_sandbox = sandbox_refunds(p.number)
    assert (status, refunded, at_sandbox) == ("TRADE_SUCCESS", "117.01", [(number1, "117.01")])
    grant_credit(db, p.user_id, 500)                # the throwaway's starting balance, in the ledger
    assert_audit_clean()

    # the rest: 3 s after the first at the earliest (Alipay's rule), then everything is back
    r2 = create_refund(db, p.id, [second])
    r = run_until(db, r2, {"succeeded"})
    assert r["attempts"] == 1 and r["amount"] == p.amount - share1, r
    assert order_refunded(db, p.id) == (4, p.amount)
    assert user_courses(db, p.user_id) == ((first, 1), (second, 1))
    assert students(db, p.course_ids) == [0, 0]
    rows = refund_credit_rows(db, p.user_id)
    assert [n for _, n, _ in rows] == [back1, 50 - back1] and r["out_request_no"] in rows[1][2], rows
    assert balance(db, p.user_id) == before + 50
    assert sandbox_refunds(p.number) == ("TRADE_CLOSED", "195.50", [(number1, "117.01"), (r["out_request_no"], "78.49")])
    assert_audit_clean()


# ---------------------------------------------------------------- unknown outcomes
def test_system_error_then_success(client, db, shop, sandbox):
    p = paid_purchase(client, db, shop)
    sandbox(fault="system_error_once")
    rid = create_refund(db, p.id)
    run_worker()
    r = refund(db, rid)
    # unknown: asked about no sooner than 10 s later; the trade's one refund at the gateway
    assert (r["state"], r["sub_code"], r["in_flight_trade_no"]) == ("unknown", "ACQ.SYSTEM_ERROR", p.trade_no), r
    assert 5 < r["due_in"] <= 10, r
    assert sandbox_refunds(p.number) == ("TRADE_SUCCESS", "0.00", [])
    run_worker()                                        # not due yet: not asked about
    assert transitions(db, rid)[-1] == ("processing", "unknown") and refund(db, rid)["state"] == "unknown"
    # the query finds nothing under the number: the same number and amount again, 3 s later
    r = run_until(db, rid, {"retry_later", "succeeded"})
    assert r["state"] == "retry_later", r
    r = run_until(db, rid, {"succeeded"})
    assert (r["attempts"], r["fund_change"]) == (2, "Y"), r
    evs = events(db, rid)
    assert [(f, t) for f, t, *_ in evs] == [
        (None, "approved"), ("approved", "processing"), ("processing", "unknown"), ("unknown", "retry_later"),
        ("retry_later", "processing"), ("processing", "succeeded")], evs
    signed_answer(evs[2][3], REFUND_KEY, '"sub_code":"ACQ.SYSTEM_ERROR"')
    signed_answer(evs[3][3], QUERY_KEY, '"code":"10000"')
    assert "refund_status" not in evs[3][3]
    assert sandbox_refunds(p.number) == ("TRADE_CLOSED", p.amount_text, [(r["out_request_no"], p.amount_text)])
    assert order_refunded(db, p.id) == (4, p.amount)


def test_answer_lost_is_resolved_by_the_query(client, db, shop, sandbox):
    p = paid_purchase(client, db, shop)
    sandbox(fault="answer_lost_once")
    rid = create_refund(db, p.id)
    run_worker()
    r = refund(db, rid)
    assert (r["state"], r["sub_code"], r["fund_change"]) == ("unknown", None, None), r
    evs = events(db, rid)
    assert evs[-1][:4] == ("processing", "unknown", "worker", None) and evs[-1][4].startswith("no answer"), evs
    # the money moved although we never heard so
    assert sandbox_refunds(p.number)[1] == p.amount_text
    assert order_refunded(db, p.id) == (1, Decimal("0.00"))
    r = run_until(db, rid, {"succeeded"})
    assert r["attempts"] == 1, r                          # never sent again
    evs = events(db, rid)
    assert [(f, t) for f, t, *_ in evs][-1] == ("unknown", "succeeded")
    signed_answer(evs[-1][3], QUERY_KEY, '"refund_status":"REFUND_SUCCESS"', f'"out_request_no":"{r["out_request_no"]}"')
    assert sandbox_refunds(p.number)[2] == [(r["out_request_no"], p.amount_text)]
    assert order_refunded(db, p.id) == (4, p.amount)
    assert students(db, p.course_ids) == [0, 0]


def test_worker_killed_between_sending_and_recording(client, db, shop, sandbox):
    p = paid_purchase(client, db, shop)
    sandbox(delay_ms="3000")                  # the refund applied, its answer held 3 s (< the app's 5 s time-out)
    rid = create_refund(db, p.id)
    args, env = worker_command()
    worker = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: sandbox_refunds(p.number)[1] == p.amount_text, 10, what="the sandbox to apply the refund")
        assert worker.poll() is None, "the worker did not wait for the held answer"
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(10)
    sandbox(delay_ms="0")
    r = refund(db, rid)
    assert (r["state"], r["attempts"], r["in_flight_trade_no"]) == ("processing", 1, p.trade_no), r
    # still within its lease: nobody touches it
    run_worker()
    assert refund(db, rid)["state"] == "processing" and len(events(db, rid)) == 2
    r = run_until(db, rid, {"succeeded"}, timeout=LEASE_SECONDS + 20)
    assert r["attempts"] == 1, r                           # resolved by the query, never re-sent
    assert transitions(db, rid) == [(None, "approved"), ("approved", "processing"), ("processing", "unknown"),
                                    ("unknown", "succeeded")]
    assert sandbox_refunds(p.number) == ("TRADE_CLOSED", p.amount_text, [(r["out_request_no"], p.amount_text)])
    assert order_refunded(db, p.id) == (4, p.amount)


# ---------------------------------------------------------------- refusals
def test_over_refund_refused_at_the_gateway_fails(client, db, shop, sandbox):
    p = paid_purchase(client, db, shop)
    # someone refunded part of the trade outside the shop: ours no longer fits
    outside = gateway_api("alipay.trade.refund", {"out_trade_no": p.number, "refund_amount": "1.00",
                                                  "out_request_no": "outside-1", "refund_reason": "外部退款"})
    assert outside["fund_change"] == "Y", outside
    sandbox(min_gap_s="0")
    rid = create_refund(db, p.id)
    run_worker()
    r = refund(db, rid)
    assert (r["state"], r["sub_code"], r["in_flight_trade_no"], r["due_in"]) == \
        ("failed", "ACQ.REASON_TRADE_REFUND_FEE_ERR", None, None), r
    assert db_rows(db, "SELECT COUNT(*) FROM ly_refund_course WHERE refund_id = %s AND live_key IS NOT NULL",
                   (rid,))[0][0] == 0                          # its courses are free again
    assert order_refunded(db, p.id) == (1, Decimal("0.00"))
    assert user_courses(db, p.user_id) == tuple((c, 0) for c in sorted(p.course_ids))
    assert students(db, p.course_ids) == [1, 1]
    run_worker()                                                # a person decides (staff retry)
    assert refund(db, rid)["state"] == "failed" and len(events(db, rid)) == 3
    assert sandbox_refunds(p.number) == ("TRADE_SUCCESS", "1.00", [("outside-1", "1.00")])


def test_balance_not_enough_is_retried_later_with_the_same_number(client, db, shop, sandbox):
    p = paid_purchase(client, db, shop)
    sandbox(fault="balance_not_enough")
    rid = create_refund(db, p.id)
    run_worker()
    r = refund(db, rid)
    assert (r["state"], r["sub_code"], r["in_flight_trade_no"]) == ("retry_later", "ACQ.SELLER_BALANCE_NOT_ENOUGH", None)
    assert 580 < r["due_in"] <= 600, r                          # RefundSchedule.balanceRetryDelay
    run_worker()
    assert refund(db, rid)["attempts"] == 1 and len(events(db, rid)) == 3
    sandbox(fault="none")                                       # the balance topped up …
    with db.cursor() as cur:                                    # … and the 10 minutes over
        cur.execute("UPDATE ly_refund SET next_attempt_time = NOW(6) WHERE id = %s", (rid,))
    run_worker()
    r = refund(db, rid)
    assert (r["state"], r["attempts"]) == ("succeeded", 2), r
    assert transitions(db, rid) == [(None, "approved"), ("approved", "processing"), ("processing", "retry_later"),
                                    ("retry_later", "processing"), ("processing", "succeeded")]
    assert sandbox_refunds(p.number) == ("TRADE_CLOSED", p.amount_text, [(r["out_request_no"], p.amount_text)])


# ---------------------------------------------------------------- many workers
def test_two_workers_send_each_refund_once(client, db, shop, sandbox):
    orders = [paid_purchase(client, db, shop) for _ in range(4)]
    sandbox(delay_ms="300")                   # slow answers: the two passes overlap
    ids = [create_refund(db, p.id, [c]) for p in orders for c in p.course_ids]
    args, env = worker_command()

    def all_done():
        workers = [subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                   for _ in range(2)]
        for w in workers:
            _, err = w.communicate(timeout=60)
            assert w.returncode == 0, err
        return all(refund(db, i)["state"] == "succeeded" for i in ids)
    wait_for(all_done, 40, interval=0.5, what="every refund to succeed")
    for i in ids:
        assert refund(db, i)["attempts"] == 1
        assert transitions(db, i) == [(None, "approved"), ("approved", "processing"), ("processing", "succeeded")]
    for p in orders:
        numbers = sorted(refund(db, i)["out_request_no"] for i in ids if refund(db, i)["order_id"] == p.id)
        status, refunded, at_sandbox = sandbox_refunds(p.number)
        assert (status, refunded) == ("TRADE_CLOSED", p.amount_text)
        assert sorted(n for n, _ in at_sandbox) == numbers      # each number once
        assert order_refunded(db, p.id) == (4, p.amount)
    assert_audit_clean()


# ---------------------------------------------------------------- payments the shop could not apply
def test_late_payment_after_cancel_is_refunded(client, db, shop, sandbox):
    p = shop.purchase("credit")
    link = pay_link(client, p.user_id, p.number)
    assert shop.cancel(p).status_code == 200
    closed = shop.assert_closed(p, 2)
    buyer = Buyer()
    try:
        buyer.open(link)                       # a link never opened before the cancel can still be paid
        buyer.pay(p.number)
    finally:
        buyer.close()
    wait_for(lambda: refunds(db, p.number), 15, what="the late payment's refund")
    (late,) = refunds(db, p.number)
    assert (late["reason"], late["state"], late["amount"]) == ("order_cancelled", "approved", p.amount), late
    rid = db_rows(db, "SELECT id FROM ly_refund WHERE order_number = %s", (p.number,))[0][0]
    run_worker()
    r = refund(db, rid)
    assert (r["state"], r["trade_no"]) == ("succeeded", sandbox_trade(p.number)["trade_no"]), r
    assert sandbox_refunds(p.number) == ("TRADE_CLOSED", p.amount_text, [(r["out_request_no"], p.amount_text)])
    # the order it never paid is as the cancel left it: nothing granted, revoked or given back twice
    after = shop.assert_closed(p, 2)
    assert after["balance"] == closed["balance"] and after["credit_rows"] == ()
    assert order_refunded(db, p.id) == (2, Decimal("0.00"))
    grant_credit(db, p.user_id, 500)                # the throwaway's starting balance, in the ledger
    assert_audit_clean()
