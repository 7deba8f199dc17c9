"""Settlement happens exactly once whatever races between notify, return, query, cancel and the
sweeper (README, "Settlement, exactly once").

A trade is paid at the real alipay-sandbox without its notification (`notify=0`), then many
identical notifications (signed here like the sandbox's, over Alipay's verification string), sync
returns (the sandbox's own signed return) and active queries hit the app through nginx at the same
moment, each on its own connection. Afterwards the database holds exactly one settlement: one
ly_user_course row per course, one ly_credit row, students +1 once, status 1, and exactly one
"settled" outcome among the recorded notifications and the app's "payment confirmed" log lines.
Cancels and `luffy-pay sweep` processes join some of the races: a paid trade is never cancelled or
timed out, an unpaid one is closed once with its credit given back once. Returns, queries and
cancels that need the gateway are sent again while they are refused with 503 `gateway_busy` (the
gateway bulkhead, README "Faults": more of them at once than its permits; nothing was done), as a
client does.
"""

import re
import subprocess
import time
import urllib.parse
from collections import Counter

import pytest
import requests

from alipay import (PAID_ANSWER, Buyer, age_order, assert_notify_answer, get_result, notification, order_state,
                    pay_link, pay_through_cashier, post_notify, result_query, sandbox_trade, shop)
from conftest import APP_LOG, BASE_URL, auth, log_fields
from ordering import ORDER_TIMEOUT, at_once, loads, sweep_cmd

__all__ = ["shop"]  # the fixture, imported for pytest


def paid_without_notification(client, p):
    """Pay link, cashier, pay with `notify=0`: (sandbox trade_no, return location)."""
    location = pay_through_cashier(client, p.user_id, p.number, notify=False)
    trade = sandbox_trade(p.number)
    assert trade["trade_status"] == "TRADE_SUCCESS" and not trade["notification"]["enabled"], trade
    return trade["trade_no"], location


def settled_in_log(order_number):
    """The app's `payment confirmed … outcome=settled` lines of this order (return, query, cancel)."""
    count = 0
    for line in APP_LOG.read_text(encoding="utf-8", errors="replace").splitlines():
        if order_number in line and "payment confirmed" in line:
            fields = log_fields(line)
            if fields.get("order_number") == order_number and fields.get("outcome") == "settled":
                count += 1
    return count


def sessions(n):
    return [requests.Session() for _ in range(n)]


def past_busy(send, tries=50):
    """`send()` again, 0.1 s later, while it is refused with 503 gateway_busy (bounded)."""
    for _ in range(tries):
        r = send()
        if not (r.status_code == 503 and r.json().get("code") == "gateway_busy"):
            return r
        time.sleep(0.1)
    return r


def notifications_returns_queries_at_once(p, trade_no, location, pool):
    """Purchase p's 50 identical notifications, 5 returns and 5 active queries all at once, one
    session of pool (60) each, closed afterwards: every answer is 200 and says paid."""
    form = urllib.parse.urlencode(notification(p.number, p.amount_text, trade_no))   # identical bodies
    query = result_query(location)
    calls = [lambda s=s: ("notify", post_notify(form, session=s)) for s in pool[:50]]
    calls += [lambda s=s: ("return", past_busy(lambda: get_result(query, session=s))) for s in pool[50:55]]
    calls += [lambda s=s: ("query", past_busy(lambda: s.get(f"{BASE_URL}/payments/alipay/query/{p.number}",
                                                            headers=auth(p.user_id), timeout=30)))
              for s in pool[55:]]
    try:
        results = at_once(calls)
    finally:
        for s in pool:
            s.close()

    answers = Counter((kind, r.status_code) for kind, r in results)
    assert answers == {("notify", 200): 50, ("return", 200): 5, ("query", 200): 5}, \
        [(kind, r.status_code, r.text[:120]) for kind, r in results if r.status_code != 200]
    for kind, r in results:
        if kind == "notify":
            assert_notify_answer(r, "success")
        elif kind == "return":
            body = loads(r.text)
            assert (body["order_number"], body["order_status"], body["real_price"]) == (p.number, 1, p.amount), body
        else:
            assert r.json() == PAID_ANSWER, r.text
    return results


@pytest.mark.parametrize("round_", range(3))
def test_fifty_notifications_five_returns_five_queries_settle_once(client, shop, round_):
    p = shop.purchase("credit")
    trade_no, location = paid_without_notification(client, p)
    shop.assert_unpaid(p)
    notifications_returns_queries_at_once(p, trade_no, location, sessions(60))

    state = shop.assert_settled(p, trade_no)     # one row per course, one credit row, students +1
    outcomes = Counter(n["outcome"] for n in state["notifications"])
    assert sum(outcomes.values()) == 50 and set(outcomes) <= {"settled", "already_paid"}, outcomes
    assert all(n["trade_no"] == trade_no for n in state["notifications"])
    by_others = settled_in_log(p.number)
    assert outcomes["settled"] + by_others == 1, \
        f"settled {outcomes['settled']} time(s) by notifications and {by_others} time(s) by returns/queries"
    print(f"round {round_}: settled by {'a notification' if outcomes['settled'] else 'a return or query'}")


def test_cancels_racing_notifications_of_a_paid_trade(client, shop):
    """The buyer paid (no notification yet) and presses cancel while Alipay's notifications and the
    return page arrive: the order ends paid, once; no cancel wins."""
    p = shop.purchase("coupon")
    trade_no, location = paid_without_notification(client, p)
    form = urllib.parse.urlencode(notification(p.number, p.amount_text, trade_no))
    query = result_query(location)
    pool = sessions(29)
    calls = [lambda s=s: ("notify", post_notify(form, session=s)) for s in pool[:20]]
    calls += [lambda s=s: ("cancel", past_busy(lambda: s.put(f"{BASE_URL}/orders/{p.id}", headers=auth(p.user_id),
                                                             timeout=30)))
              for s in pool[20:26]]
    calls += [lambda s=s: ("return", past_busy(lambda: get_result(query, session=s))) for s in pool[26:]]
    try:
        results = at_once(calls)
    finally:
        for s in pool:
            s.close()
    for kind, r in results:
        if kind == "notify":
            assert_notify_answer(r, "success")
        elif kind == "return":
            assert r.status_code == 200 and r.json()["order_status"] == 1, r.text
        else:
            assert r.status_code == 400 and r.json()["code"] in ("order_paid", "order_not_cancellable"), r.text
    state = shop.assert_settled(p, trade_no)
    assert state["refunds"] == []
    outcomes = Counter(n["outcome"] for n in state["notifications"])
    assert outcomes["settled"] + settled_in_log(p.number) == 1, outcomes
    assert re.fullmatch(r"\d{22}", trade_no)


def _sweep(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return ("sweep", out)


def test_sweepers_racing_notifications_of_a_paid_trade(client, db, shop):
    """An expired order whose trade was paid (no notification yet): three `luffy-pay sweep`
    processes and twenty notifications at once. The sweepers close nothing (the trade is paid) and
    the order is settled exactly once, never timed out."""
    p = shop.purchase("credit")
    trade_no, _ = paid_without_notification(client, p)
    age_order(db, p.id, ORDER_TIMEOUT + 60)
    form = urllib.parse.urlencode(notification(p.number, p.amount_text, trade_no))
    cmd, env = sweep_cmd()
    pool = sessions(20)
    calls = [lambda s=s: ("notify", post_notify(form, session=s)) for s in pool]
    calls += [lambda: _sweep(cmd, env) for _ in range(3)]
    try:
        results = at_once(calls)
    finally:
        for s in pool:
            s.close()
    for kind, r in results:
        if kind == "notify":
            assert_notify_answer(r, "success")
    state = shop.assert_settled(p, trade_no)
    outcomes = Counter(n["outcome"] for n in state["notifications"])
    assert outcomes["settled"] + settled_in_log(p.number) == 1, outcomes


def test_cancels_racing_sweepers_over_an_unpaid_linked_trade(client, db, shop):
    """An expired order with an open, unpaid trade: three cancels and two sweepers at once. The
    trade ends closed, the order closed once (2 or 3), the credit given back exactly once."""
    p = shop.purchase("credit")
    buyer = Buyer()
    try:
        buyer.open(pay_link(client, p.user_id, p.number))
    finally:
        buyer.close()
    age_order(db, p.id, ORDER_TIMEOUT + 60)
    cmd, env = sweep_cmd()
    pool = sessions(3)
    calls = [lambda s=s: ("cancel", past_busy(lambda: s.put(f"{BASE_URL}/orders/{p.id}", headers=auth(p.user_id),
                                                            timeout=30)))
             for s in pool]
    calls += [lambda: _sweep(cmd, env) for _ in range(2)]
    try:
        results = at_once(calls)
    finally:
        for s in pool:
            s.close()
    status = order_state(db, p.id)["order_status"]
    assert status in (2, 3), status
    cancels = Counter(r.status_code for kind, r in results if kind == "cancel")
    for kind, r in results:
        if kind == "cancel" and r.status_code != 200:
            assert (r.status_code, r.json()["code"]) == (400, "order_not_cancellable"), r.text
    assert cancels[200] == (1 if status == 2 else 0), (cancels, status)
    shop.assert_closed(p, status)                    # credit back once, nothing settled
    assert sandbox_trade(p.number)["trade_status"] == "TRADE_CLOSED"
    print(f"closed as {status} ({'cancel' if status == 2 else 'sweeper'} won), cancels: {dict(cancels)}")
