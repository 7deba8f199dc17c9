"""README, "HTTP API" (the `/payments/alipay/…` sections, cancel's gateway step), "Settlement,
exactly once", "Order timeout" and docs/SANDBOX.md: paying through nginx and the real
alipay-sandbox, database state checked with pymysql.

* The whole purchase (an order with a coupon, one with credit): the pay link taken apart and its
  signature checked, the cashier, the payment, then settlement learned of (a) from the sandbox's
  notification, (b) from the sync return alone (`notify=0`: the app asks the gateway), (c) from the
  active query alone. Each: status 1, pay_time, trade_no, one ly_user_course row per course,
  coupon used, one ly_credit row, students +1, /user/order, the result body.
* Pay-link refusals; notification refusals (`fail`, nothing written); notifications for closed
  orders (refund rows, once); other trade statuses (recorded only); retries and second payments.
* Cancel and the sweeper with a pay link: the trade is closed at the gateway first, and a trade
  that was paid settles the order instead.

Notifications and returns that are not the sandbox's are signed here with the sandbox's
"Alipay" key (Alipay's verification string). Every order belongs to a throwaway user (alipay.Shop).
"""

import json
import re
import urllib.parse
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from alipay import (APP_ID, GATEWAY_URL, NOTIFY_URL, PAID_ANSWER, RETURN_URL, SELLER_ID, Buyer, age_order,
                    alipay_sign, assert_notify_answer, fake_trade_no, forger_key, gateway_trade_status, get_pay_link,
                    get_result, link_parameters, link_signature_valid, notification, notifications, order_state,
                    pay_link, post_notify, refunds, result_query, sandbox_trade, shop, sync_return, wait_for)
from conftest import assert_error, assert_json_response, auth, db_connect, db_rows
from media import cover_url
from ordering import ORDER_TIMEOUT, SHOP_TZ, loads, raw_money, run_sweep

__all__ = ["shop"]  # the fixture, imported for pytest

LINK_KEYS = {"app_id", "method", "format", "charset", "sign_type", "timestamp", "version", "return_url",
             "notify_url", "biz_content", "sign"}
BIZ_KEYS = {"out_trade_no", "total_amount", "subject", "product_code", "time_expire"}
RESULT_KEYS = {"order_number", "order_status", "pay_time", "real_price", "course_list"}
UNKNOWN_NUMBER = "20990101" + "0" * 16
CANCELLED = {"errmsg": "当前订单已取消!", "order_status": 2}


def fmt(t):
    return t.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- shared checks
def check_link(db, p, link):
    """The pay link, signed over Alipay's signing string:
    gateway?app_id,method,format,charset,sign_type=RSA2,timestamp,version,return_url,
    notify_url,biz_content{out_trade_no,total_amount "x.yy",subject,product_code,time_expire},sign."""
    base, params = link_parameters(link)
    assert base == GATEWAY_URL, link
    assert set(params) == LINK_KEYS, sorted(params)
    assert params["app_id"] == APP_ID
    assert params["method"] == "alipay.trade.page.pay"
    assert (params["format"], params["charset"], params["sign_type"], params["version"]) == \
        ("JSON", "utf-8", "RSA2", "1.0"), params
    assert params["return_url"] == RETURN_URL and params["notify_url"] == NOTIFY_URL, params
    stamp = datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert abs((datetime.now(SHOP_TZ).replace(tzinfo=None) - stamp).total_seconds()) < 120, params["timestamp"]
    assert link_signature_valid(params), "the pay link's RSA2 signature does not verify with the app's public key"
    tampered = dict(params, biz_content=params["biz_content"].replace(p.amount_text, "0.01"))
    assert not link_signature_valid(tampered), "the signature does not cover biz_content"

    biz_text = params["biz_content"]
    biz = json.loads(biz_text)
    assert set(biz) == BIZ_KEYS, biz
    assert biz["out_trade_no"] == p.number
    assert isinstance(biz["total_amount"], str) and re.fullmatch(r"\d+\.\d{2}", biz["total_amount"]), biz
    assert biz["total_amount"] == p.amount_text, (biz, p.amount)
    assert f'"total_amount":"{p.amount_text}"' in biz_text.replace(" ", ""), biz_text
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY" and biz["subject"], biz
    created = order_state(db, p.id)["created_time"]
    assert biz["time_expire"] == fmt(created + timedelta(seconds=ORDER_TIMEOUT)), (biz, created)
    return params, biz


def open_and_check_trade(buyer, p, link):
    """The cashier shows the trade; the sandbox holds it as WAIT_BUYER_PAY with the order's terms."""
    page = buyer.open(link)
    assert p.number in page.text and p.amount_text in page.text
    trade = sandbox_trade(p.number)
    assert trade is not None, f"the sandbox does not know {p.number} after the cashier was shown"
    assert (trade["trade_status"], trade["total_amount"], trade["trade_no"]) == \
        ("WAIT_BUYER_PAY", p.amount_text, None), trade
    assert trade["return_url"] == RETURN_URL and trade["notify_url"] == NOTIFY_URL, trade
    return trade


def paid_trade(p):
    trade = sandbox_trade(p.number)
    assert trade and trade["trade_status"] == "TRADE_SUCCESS" and re.fullmatch(r"\d{22}", trade["trade_no"]), trade
    return trade


def check_return_location(p, location, trade_no):
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert params["out_trade_no"] == p.number and params["total_amount"] == p.amount_text, params
    assert params["trade_no"] == trade_no and params["app_id"] == APP_ID and params["sign_type"] == "RSA2", params
    assert params["seller_id"] == SELLER_ID and params["method"] == "alipay.trade.page.pay.return", params
    return params


def check_result_body(db, r, p):
    """`GET /payments/alipay/result`:
    200 {"order_number","order_status":1,"pay_time","real_price",
         "course_list":[{id,name,course_cover,expire_text}]} (every course here bought for ever)."""
    assert_json_response(r, 200)
    body = loads(r.text)
    assert set(body) == RESULT_KEYS, body
    o = order_state(db, p.id)
    assert body["order_number"] == p.number and body["order_status"] == 1, body
    assert body["pay_time"] == fmt(o["pay_time"]), (body, o)
    assert body["real_price"] == p.amount and raw_money(r.text, "real_price") == [p.amount_text], r.text
    courses = db_rows(db, "SELECT id, name, course_cover FROM ly_course WHERE id IN (%s) ORDER BY id"
                      % ",".join(str(i) for i in p.course_ids))
    listed = sorted(body["course_list"], key=lambda c: c["id"])
    assert [(c["id"], c["name"], c["course_cover"]) for c in listed] == \
        [(cid, name, cover_url(cover)) for cid, name, cover in courses], body
    assert all(set(c) == {"id", "name", "course_cover", "expire_text"} for c in listed), body
    assert all(c["expire_text"] == "永久有效" for c in listed), body
    return body


def check_order_list_paid(client, db, p):
    """/user/order shows the order paid, with the pay time the database holds."""
    body = assert_json_response(client.get("/user/order?page=1&size=5&status=-1", headers=auth(p.user_id)), 200)
    mine = [o for o in body["results"] if o["order_number"] == p.number]
    assert len(mine) == 1, body
    o = mine[0]
    assert (o["order_status"], o["get_order_status_display"]) == (1, "已支付"), o
    assert o["pay_time"] == fmt(order_state(db, p.id)["pay_time"]), o
    paid = assert_json_response(client.get("/user/order?page=1&size=5&status=1", headers=auth(p.user_id)), 200)
    assert [x["order_number"] for x in paid["results"]] == [p.number], paid


def link_and_open(client, db, shop, p):
    buyer = Buyer()
    link = pay_link(client, p.user_id, p.number)
    check_link(db, p, link)
    assert order_state(db, p.id)["pay_link_time"] is not None, "pay_link_time not recorded"
    open_and_check_trade(buyer, p, link)
    return buyer, link


def pay_without_notification(client, db, shop, p):
    """Link, cashier, pay with `notify=0`: (the sandbox's paid trade, the return location)."""
    buyer, _ = link_and_open(client, db, shop, p)
    try:
        location = buyer.pay(p.number, notify=False)
    finally:
        buyer.close()
    return paid_trade(p), location


# ---------------------------------------------------------------- the whole purchase
@pytest.mark.parametrize("kind", ["coupon", "credit"])
def test_purchase_settled_by_the_notification(client, db, shop, kind):
    p = shop.purchase(kind)
    assert p.amount == {"coupon": Decimal("170.50"), "credit": Decimal("195.50")}[kind], p.order
    buyer, _ = link_and_open(client, db, shop, p)
    try:
        shop.assert_unpaid(p)
        location = buyer.pay(p.number)               # notify=1: the sandbox notifies the app
    finally:
        buyer.close()
    trade = paid_trade(p)
    check_return_location(p, location, trade["trade_no"])
    wait_for(lambda: order_state(db, p.id)["order_status"] == 1, 15, what="the notification to settle the order")
    wait_for(lambda: sandbox_trade(p.number)["notification"]["delivered"], 15, what="the sandbox to see `success`")
    settled = shop.assert_settled(p, trade["trade_no"])
    rows = settled["notifications"]
    assert len(rows) == 1, rows
    assert (rows[0]["trade_no"], rows[0]["trade_status"], rows[0]["total_amount"], rows[0]["outcome"],
            rows[0]["order_id"]) == (trade["trade_no"], "TRADE_SUCCESS", p.amount, "settled", p.id), rows
    assert rows[0]["notify_id"], rows
    check_order_list_paid(client, db, p)

    # the buyer's browser comes back: the result page's API answers the paid order, changes nothing
    r = get_result(result_query(location))
    check_result_body(db, r, p)
    assert shop.state(p) == settled


@pytest.mark.parametrize("kind", ["coupon", "credit"])
def test_purchase_settled_by_the_sync_return(client, db, shop, kind):
    p = shop.purchase(kind)
    trade, location = pay_without_notification(client, db, shop, p)
    assert trade["notification"] == {"enabled": False, "attempts": 0, "delivered": False, "last_answer": None}, trade
    check_return_location(p, location, trade["trade_no"])
    shop.assert_unpaid(p)                            # nothing told the app yet

    r = get_result(result_query(location))           # the return → alipay.trade.query → settle
    check_result_body(db, r, p)
    settled = shop.assert_settled(p, trade["trade_no"])
    assert settled["notifications"] == [], settled["notifications"]
    check_order_list_paid(client, db, p)
    # the page retried: same answer, nothing settled twice
    check_result_body(db, get_result(result_query(location)), p)
    assert shop.state(p) == settled


@pytest.mark.parametrize("kind", ["coupon", "credit"])
def test_purchase_settled_by_the_active_query(client, db, shop, kind):
    p = shop.purchase(kind)
    buyer, _ = link_and_open(client, db, shop, p)
    query = f"/payments/alipay/query/{p.number}"
    try:
        assert_error(client.get(query, headers=auth(p.user_id)), 400, "order_unpaid")
        buyer.pay(p.number, notify=False)
    finally:
        buyer.close()
    trade = paid_trade(p)
    shop.assert_unpaid(p)
    other = shop.t.user()
    assert_error(client.get(query, headers=auth(other)), 404, "order_not_found")
    assert_error(client.get(query), 401, "unauthorized")
    shop.assert_unpaid(p)                            # nobody else's query settles it

    assert assert_json_response(client.get(query, headers=auth(p.user_id)), 200) == PAID_ANSWER
    settled = shop.assert_settled(p, trade["trade_no"])
    assert settled["notifications"] == []
    check_order_list_paid(client, db, p)
    assert assert_json_response(client.get(query + "/", headers=auth(p.user_id)), 200) == PAID_ANSWER
    assert shop.state(p) == settled


# ---------------------------------------------------------------- pay-link refusals
def test_pay_link_refusals(client, db, shop):
    p = shop.purchase("credit")
    # unknown order; someone else's order; no token
    assert_error(get_pay_link(client, p.user_id, UNKNOWN_NUMBER), 404, "order_not_found")
    assert_error(get_pay_link(client, shop.t.user(), p.number), 404, "order_not_found")
    assert_error(client.get(f"/payments/alipay/{p.number}"), 401, "unauthorized")
    assert order_state(db, p.id)["pay_link_time"] is None

    # paid (a verified notification settled it)
    assert_notify_answer(post_notify(notification(p.number, p.amount_text)), "success")
    assert order_state(db, p.id)["order_status"] == 1
    assert_error(get_pay_link(client, p.user_id, p.number), 400, "order_paid")

    # cancelled
    c = shop.purchase("coupon")
    assert assert_json_response(shop.cancel(c), 200) == CANCELLED
    assert_error(get_pay_link(client, c.user_id, c.number), 400, "order_cancelled")

    # timed out by the sweeper
    t = shop.purchase("credit")
    age_order(db, t.id, ORDER_TIMEOUT + 60)
    run_sweep()
    shop.assert_closed(t, 3)
    assert_error(get_pay_link(client, t.user_id, t.number), 400, "order_expired")

    # past its timeout, not swept yet: the row is held here (sweepers skip locked rows; the pay-link
    # read does not lock), so the sweeper inside `serve` cannot take it meanwhile
    e = shop.purchase("plain")
    age_order(db, e.id, ORDER_TIMEOUT + 5)
    holder = db_connect()
    try:
        holder.begin()
        with holder.cursor() as cur:
            cur.execute("SELECT order_status FROM ly_order WHERE id = %s FOR UPDATE", (e.id,))
            assert cur.fetchone()[0] == 0, "swept before the row could be held"
        assert_error(get_pay_link(client, e.user_id, e.number), 400, "order_expired")
        holder.rollback()
    finally:
        holder.close()
    assert order_state(db, e.id)["order_status"] in (0, 3)

    for order in (p, c, t, e):
        assert order_state(db, order.id)["pay_link_time"] is None, order.number


# ---------------------------------------------------------------- notification refusals
def _with(params, **changes):
    out = dict(params)
    out.update(changes)
    return out


def _refusal(case, p, valid, other_number):
    """The notification of `case` for purchase p (valid: a correctly signed genuine one)."""
    if case == "forged_signature":      # signed by a key that is not Alipay's
        return _with(valid, sign=alipay_sign(valid, forger_key()))
    if case == "garbage_signature":
        return _with(valid, sign="c2lnbmF0dXJl")
    if case == "no_signature":
        return {k: v for k, v in valid.items() if k != "sign"}
    if case == "tampered_total_amount":  # the genuine signature kept
        return _with(valid, total_amount="0.01", receipt_amount="0.01", buyer_pay_amount="0.01")
    if case == "signed_wrong_amount":   # correctly signed, but not the order's amount
        return notification(p.number, "0.01")
    if case == "other_app_id":
        return notification(p.number, p.amount_text, app_id="2021000000000999", auth_app_id="2021000000000999")
    if case == "other_seller_id":
        return notification(p.number, p.amount_text, seller_id="2088999999999999")
    if case == "unknown_order":
        return notification(other_number, p.amount_text)
    if case == "sign_type_rsa":         # signature valid (sign_type is not signed) but RSA1 claimed
        return _with(valid, sign_type="RSA")
    if case == "no_sign_type":
        return {k: v for k, v in valid.items() if k != "sign_type"}
    if case == "duplicated_field":      # the genuine form plus a second total_amount
        return urllib.parse.urlencode(valid) + "&total_amount=0.01"
    if case == "empty_body":
        return ""
    raise ValueError(case)


REFUSALS = ["forged_signature", "garbage_signature", "no_signature", "tampered_total_amount", "signed_wrong_amount",
            "other_app_id", "other_seller_id", "unknown_order", "sign_type_rsa", "no_sign_type", "duplicated_field",
            "empty_body"]


@pytest.mark.parametrize("case", REFUSALS)
def test_notification_refused(db, shop, case):
    p = shop.purchase("credit")
    valid = notification(p.number, p.amount_text)
    unknown = "20990101" + str(p.user_id).zfill(8) + "99999999"
    before = shop.state(p)
    assert_notify_answer(post_notify(_refusal(case, p, valid, unknown)), "fail")
    assert shop.state(p) == before
    assert notifications(db, unknown) == [] and refunds(db, unknown) == []
    # the genuine notification was good all along
    assert_notify_answer(post_notify(valid), "success")
    shop.assert_settled(p, valid["trade_no"])


def test_replayed_notification_with_a_changed_field_is_refused(db, shop):
    p = shop.purchase("credit")
    q = shop.purchase("credit")             # same amount: a notice of p must never pay q
    assert q.amount == p.amount
    valid = notification(p.number, p.amount_text)
    assert_notify_answer(post_notify(valid), "success")
    shop.assert_settled(p, valid["trade_no"])
    before_p, before_q = shop.state(p), shop.state(q)
    for field, value in [("trade_no", fake_trade_no()), ("out_trade_no", q.number), ("trade_status", "TRADE_FINISHED"),
                         ("buyer_id", "2088000000009999"), ("gmt_payment", "2020-01-01 00:00:00"),
                         ("notify_id", "f" * 32)]:
        assert_notify_answer(post_notify(_with(valid, **{field: value})), "fail")
        assert (shop.state(p), shop.state(q)) == (before_p, before_q), field
    # a field Alipay never sent, added afterwards, is covered too
    assert_notify_answer(post_notify(_with(valid, refund_fee="1.00")), "fail")
    # the unchanged one again: handled before, answered success, nothing new settled
    assert_notify_answer(post_notify(valid), "success")
    after = shop.state(p)
    assert {k: v for k, v in after.items() if "notifications" not in k} == \
        {k: v for k, v in before_p.items() if "notifications" not in k}
    assert [n["outcome"] for n in after["notifications"]] == ["settled", "already_paid"]
    shop.assert_unpaid(q)


# ---------------------------------------------------------------- verified notifications
@pytest.mark.parametrize("status", ["TRADE_SUCCESS", "TRADE_FINISHED"])
def test_signed_notification_settles_once(db, shop, status):
    p = shop.purchase("coupon")
    n = notification(p.number, p.amount_text, status=status)
    assert_notify_answer(post_notify(n), "success")
    settled = shop.assert_settled(p, n["trade_no"])
    assert [(x["trade_status"], x["outcome"]) for x in settled["notifications"]] == [(status, "settled")]
    # Alipay's retry (same notify_id, fresh notify_time and signature): success, nothing again
    retry = notification(p.number, p.amount_text, n["trade_no"], status=status, notify_id=n["notify_id"],
                         buyer_id=n["buyer_id"])
    assert_notify_answer(post_notify(retry), "success")
    again = shop.state(p)
    assert [x["outcome"] for x in again["notifications"]] == ["settled", "already_paid"]
    assert {k: v for k, v in again.items() if "notifications" not in k} == \
        {k: v for k, v in settled.items() if "notifications" not in k}
    # another trade paying the same order: acknowledged, recorded for refund (once), never applied
    second = notification(p.number, p.amount_text)
    for _ in range(2):
        assert_notify_answer(post_notify(second), "success")
    s = shop.state(p)
    assert s["order"]["trade_no"] == n["trade_no"] and len(s["user_courses"]) == len(p.course_ids), s
    assert [(r["trade_no"], r["reason"], r["learned_by"], r["amount"], r["state"]) for r in s["refunds"]] \
        == [(second["trade_no"], "duplicate_payment", "notify", p.amount, "approved")], s["refunds"]
    assert [students for _, students in s["students"]] == [1] * len(p.course_ids), s["students"]


@pytest.mark.parametrize("status", ["WAIT_BUYER_PAY", "TRADE_CLOSED"])
def test_other_trade_statuses_are_recorded_only(db, shop, status):
    p = shop.purchase("coupon")
    before = shop.state(p)
    n = notification(p.number, p.amount_text, status=status)
    assert_notify_answer(post_notify(n), "success")
    after = shop.assert_unpaid(p)
    assert [(x["trade_no"], x["trade_status"], x["outcome"], x["order_id"], x["total_amount"])
            for x in after["notifications"]] == [(n["trade_no"], status, "recorded", p.id, p.amount)]
    assert after["refunds"] == []
    assert {k: v for k, v in after.items() if "notifications" not in k} == \
        {k: v for k, v in before.items() if "notifications" not in k}


@pytest.mark.parametrize("closed_by", ["cancel", "sweeper"])
def test_payment_of_a_closed_order_is_recorded_for_refund(client, db, shop, closed_by):
    p = shop.purchase("credit")
    if closed_by == "cancel":                # no pay link: no gateway step
        assert assert_json_response(shop.cancel(p), 200) == CANCELLED
        status, reason = 2, "order_cancelled"
    else:
        age_order(db, p.id, ORDER_TIMEOUT + 60)
        run_sweep()
        status, reason = 3, "order_timed_out"
    closed = shop.assert_closed(p, status)
    n = notification(p.number, p.amount_text)
    for attempt in range(2):                 # Alipay's retry: still one refund row
        assert_notify_answer(post_notify(n), "success")
        s = shop.assert_closed(p, status)
        assert [(r["order_id"], r["trade_no"], r["amount"], r["reason"], r["learned_by"], r["state"])
                for r in s["refunds"]] == [(p.id, n["trade_no"], p.amount, reason, "notify", "approved")], s["refunds"]
        assert [x["outcome"] for x in s["notifications"]] == [f"refund_needed:{reason}"] * (attempt + 1)
        assert s["order"]["trade_no"] is None and s["balance"] == closed["balance"]
    # the buyer's return for that trade: the order is closed (the sandbox never saw this trade)
    assert_error(get_result(sync_return(p.number, p.amount_text, n["trade_no"])), 400, "order_closed")
    assert len(refunds(db, p.number)) == 1


# ---------------------------------------------------------------- cancel with a pay link
def test_cancel_closes_the_unpaid_trade_first(client, db, shop):
    p = shop.purchase("coupon")
    buyer, link = link_and_open(client, db, shop, p)
    try:
        assert assert_json_response(shop.cancel(p), 200) == CANCELLED
        assert sandbox_trade(p.number)["trade_status"] == "TRADE_CLOSED"
        assert gateway_trade_status(p.number) == "TRADE_CLOSED"
        r = buyer.submit_pay(p.number)                      # the cashier refuses the closed trade
        assert r.status_code == 400 and r.headers.get("X-Sandbox-Error") == "ACQ.TRADE_HAS_CLOSE", \
            (r.status_code, r.headers, r.text[:300])
        r = buyer.session.get(link, timeout=30)             # and the old link too
        assert r.status_code == 400 and r.headers.get("X-Sandbox-Error") == "ACQ.TRADE_HAS_CLOSE", r.status_code
    finally:
        buyer.close()
    shop.assert_closed(p, 2)
    assert sandbox_trade(p.number)["trade_status"] == "TRADE_CLOSED"
    assert_error(get_pay_link(client, p.user_id, p.number), 400, "order_cancelled")
    assert_error(shop.cancel(p), 400, "order_not_cancellable")


def test_cancel_of_a_paid_trade_settles_instead(client, db, shop):
    p = shop.purchase("credit")
    trade, _ = pay_without_notification(client, db, shop, p)
    shop.assert_unpaid(p)
    assert_error(shop.cancel(p), 400, "order_paid")
    settled = shop.assert_settled(p, trade["trade_no"])
    assert settled["balance"] == p.balance_after           # the credit was spent, not given back
    assert sandbox_trade(p.number)["trade_status"] == "TRADE_SUCCESS"
    assert_error(shop.cancel(p), 400, "order_not_cancellable")
    assert shop.state(p) == settled


@pytest.mark.parametrize("learned_by", ["notify", "return", "query"])
def test_link_never_opened_then_cancelled_then_paid_is_refunded(client, db, shop, learned_by):
    """A pay link the buyer had not opened when the order was cancelled: the gateway has no trade
    to close (ACQ.TRADE_NOT_EXIST), so the cancel goes ahead; a payment made later through that
    old link must still be recorded for refund (once), never applied and never lost, whichever way
    the app learns of it."""
    p = shop.purchase("coupon")
    link = pay_link(client, p.user_id, p.number)
    assert sandbox_trade(p.number) is None
    assert assert_json_response(shop.cancel(p), 200) == CANCELLED
    shop.assert_closed(p, 2)
    buyer = Buyer()
    try:
        buyer.open(link)
        location = buyer.pay(p.number, notify=learned_by == "notify")
    finally:
        buyer.close()
    trade = paid_trade(p)
    if learned_by == "notify":
        wait_for(lambda: refunds(db, p.number), 15, what="the late payment's refund row")
        wait_for(lambda: sandbox_trade(p.number)["notification"]["delivered"], 15, what="the sandbox to see `success`")
    query = f"/payments/alipay/query/{p.number}"
    for _ in range(2):
        if learned_by == "query":
            assert_error(client.get(query, headers=auth(p.user_id)), 400, "order_closed")
        else:
            assert_error(get_result(result_query(location)), 400, "order_closed")
    s = shop.assert_closed(p, 2)
    assert [(r["trade_no"], r["reason"], r["learned_by"], r["amount"]) for r in s["refunds"]] == \
        [(trade["trade_no"], "order_cancelled", learned_by, p.amount)], s["refunds"]


# ---------------------------------------------------------------- sync-return refusals
def test_sync_return_refusals_change_nothing(db, shop):
    p = shop.purchase("credit")
    before = shop.state(p)
    genuine = urllib.parse.parse_qsl(sync_return(p.number, p.amount_text)[1:])
    params = dict(genuine)

    def signed(**changes):
        out = {k: v for k, v in params.items() if k != "sign"}
        out.update(changes)
        out["sign"] = alipay_sign(out)
        return "?" + urllib.parse.urlencode(out)

    cases = [
        (signed(app_id="2021000000000999", auth_app_id="2021000000000999"), 400, "invalid_signature"),
        ("?" + urllib.parse.urlencode(dict(params, sign=alipay_sign(params, forger_key()))), 400, "invalid_signature"),
        ("?" + urllib.parse.urlencode(dict(params, total_amount="0.01")), 400, "invalid_signature"),
        ("?" + urllib.parse.urlencode(dict(params, sign_type="RSA")), 400, "invalid_signature"),
        ("?" + urllib.parse.urlencode(params) + "&total_amount=0.01", 400, "invalid_signature"),
        (signed(total_amount="0.01"), 400, "amount_mismatch"),
        (signed(out_trade_no=UNKNOWN_NUMBER), 404, "order_not_found"),
        ("", 400, "invalid_signature"),
    ]
    for query, status, code in cases:
        assert_error(get_result(query), status, code)
        assert shop.state(p) == before, query
    # the genuine return of an order the sandbox never saw: pending, not paid
    assert_error(get_result("?" + urllib.parse.urlencode(params)), 409, "payment_pending")
    assert shop.state(p) == before


# ---------------------------------------------------------------- the sweeper with a pay link
def test_sweeper_closes_an_unpaid_linked_trade(client, db, shop):
    p = shop.purchase("credit")
    buyer, _ = link_and_open(client, db, shop, p)
    try:
        age_order(db, p.id, ORDER_TIMEOUT + 60)
        run_sweep()
        shop.assert_closed(p, 3)
        assert sandbox_trade(p.number)["trade_status"] == "TRADE_CLOSED"
        assert gateway_trade_status(p.number) == "TRADE_CLOSED"
        r = buyer.submit_pay(p.number)
        assert r.status_code == 400 and r.headers.get("X-Sandbox-Error") == "ACQ.TRADE_HAS_CLOSE", r.status_code
    finally:
        buyer.close()
    run_sweep()
    shop.assert_closed(p, 3)


def test_sweeper_settles_a_paid_linked_trade(client, db, shop):
    p = shop.purchase("coupon")
    trade, _ = pay_without_notification(client, db, shop, p)
    age_order(db, p.id, ORDER_TIMEOUT + 60)
    shop.assert_unpaid(p)
    run_sweep()
    settled = shop.assert_settled(p, trade["trade_no"])
    run_sweep()
    assert shop.state(p) == settled


def test_sweeper_after_the_cashier_expired(client, db, shop):
    """The buyer opened the cashier and never paid; the link's time_expire passed, so the gateway
    closed the trade by itself (close answers ACQ.TRADE_STATUS_ERROR, query TRADE_CLOSED): the
    sweeper times the order out."""
    p = shop.purchase("credit")
    age_order(db, p.id, ORDER_TIMEOUT - 3)          # the link's time_expire: ~3 s from now
    buyer = Buyer()
    try:
        link = pay_link(client, p.user_id, p.number)
        _, params = link_parameters(link)
        expire = datetime.strptime(json.loads(params["biz_content"])["time_expire"], "%Y-%m-%d %H:%M:%S")
        assert 0 < (expire - datetime.now(SHOP_TZ).replace(tzinfo=None)).total_seconds() <= 4, expire
        buyer.open(link)
        wait_for(lambda: sandbox_trade(p.number)["trade_status"] == "TRADE_CLOSED", 10,
                 what="the sandbox to close the trade at its time_expire")
        r = buyer.submit_pay(p.number)
        assert r.status_code == 400 and r.headers.get("X-Sandbox-Error") == "ACQ.TRADE_HAS_CLOSE", r.status_code
    finally:
        buyer.close()
    assert gateway_trade_status(p.number) == "TRADE_CLOSED"
    age_order(db, p.id, 60)
    run_sweep()
    shop.assert_closed(p, 3)
