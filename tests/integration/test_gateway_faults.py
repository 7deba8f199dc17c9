"""The gateway cannot be reached (README, "HTTP API" and "Settlement, exactly once").

alipay-sandbox is stopped (`scripts/stack.sh test sandbox-stop`; nginx then answers 502 on its
port). Everything that must ask the gateway answers 502 `gateway_unavailable` and changes nothing:
the sync return of an unpaid order, the active query, cancelling an order with a pay link; the
sweeper leaves such an order for its next pass. Pay links, verified notifications, and the query and
return of an order already paid (no gateway call) keep working. Then the sandbox is started again: it forgot its
trades (its trades file is removed while it is stopped), so the buyer opens the pay link again and pays after the
restart, and everything completes. The sandbox is always started again in a finally.
"""

import time
from pathlib import Path

import pytest
import requests

from alipay import (PAID_ANSWER, SANDBOX_URL, Buyer, age_order, assert_notify_answer, get_result, notification,
                    order_state, pay_link, pay_through_cashier, post_notify, result_query, sandbox_trade, shop,
                    sync_return)
from conftest import SETTINGS, assert_error, assert_json_response, auth, stack
from ordering import ORDER_TIMEOUT, loads, run_sweep

__all__ = ["shop"]  # the fixture, imported for pytest


def sandbox_answers():
    try:
        return requests.get(SANDBOX_URL + "/", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def wait_sandbox(up, timeout=30):
    deadline = time.monotonic() + timeout
    while sandbox_answers() != up:
        assert time.monotonic() < deadline, f"the sandbox is still {'down' if up else 'up'} after {timeout}s"
        time.sleep(0.2)


def forget_trades():
    """While the sandbox is stopped: its trades file goes, so that it comes back knowing no trade
    (as a sandbox without LUFFY_SANDBOX_STATE_FILE; docs/SANDBOX.md)."""
    path = SETTINGS.get("LUFFY_SANDBOX_STATE_FILE")
    if path:
        Path(path).unlink(missing_ok=True)


@pytest.fixture
def sandbox_restart():
    """Lets the test stop the sandbox; whatever happens, it runs again afterwards."""
    assert sandbox_answers(), "the sandbox is not running before the test"
    try:
        yield
    finally:
        stack("sandbox-start")
        wait_sandbox(True)


def open_and_pay(client, p, notify=False):
    return pay_through_cashier(client, p.user_id, p.number, notify=notify)


def test_gateway_down_answers_502_and_changes_nothing_then_completes(client, db, shop, sandbox_restart):
    ret = shop.purchase("coupon")      # settled by its return, later
    qry = shop.purchase("credit")      # settled by the active query, later
    cnl = shop.purchase("credit")      # cancelled, later
    swp = shop.purchase("coupon")      # timed out by the sweeper, later
    ntf = shop.purchase("credit")      # settled by a notification while the gateway is down
    for p in (ret, qry, cnl, swp):
        buyer = Buyer()
        try:
            buyer.open(pay_link(client, p.user_id, p.number))       # the sandbox holds WAIT_BUYER_PAY
        finally:
            buyer.close()
    age_order(db, swp.id, ORDER_TIMEOUT + 60)
    before = {p.number: shop.state(p) for p in (ret, qry, cnl, swp)}
    pending_return = sync_return(ret.number, ret.amount_text)

    stack("sandbox-stop")
    wait_sandbox(False)
    assert requests.get(SANDBOX_URL + "/gateway.do", timeout=5).status_code == 502

    assert_error(get_result(pending_return), 502, "gateway_unavailable")
    assert_error(client.get(f"/payments/alipay/query/{qry.number}", headers=auth(qry.user_id), timeout=30),
                 502, "gateway_unavailable")
    assert_error(shop.cancel(cnl), 502, "gateway_unavailable")
    run_sweep()                                    # leaves swp for the next pass
    for p in (ret, qry, cnl, swp):
        assert shop.state(p) == before[p.number], p.number
        shop.assert_unpaid(p)
    # what needs no gateway still works: a pay link, a verified notification
    assert pay_link(client, ret.user_id, ret.number).startswith("http")
    n = notification(ntf.number, ntf.amount_text)
    assert_notify_answer(post_notify(n), "success")
    shop.assert_settled(ntf, n["trade_no"])
    # and a paid order needs no gateway either: its query and its return answer at once
    r = client.get(f"/payments/alipay/query/{ntf.number}", headers=auth(ntf.user_id), timeout=30)
    assert assert_json_response(r, 200) == PAID_ANSWER
    r = get_result(sync_return(ntf.number, ntf.amount_text, n["trade_no"]))
    assert r.status_code == 200 and loads(r.text)["order_status"] == 1, r.text

    forget_trades()
    stack("sandbox-start")
    wait_sandbox(True)
    for p in (ret, qry, cnl, swp):
        assert sandbox_trade(p.number) is None, "the restarted sandbox still knows a trade"
    # the gateway answers again: the return of an unpaid order is pending now, not an error
    assert_error(get_result(pending_return), 409, "payment_pending")

    # the buyer opens the pay link again and pays after the restart
    location = open_and_pay(client, ret)
    r = get_result(result_query(location))
    assert r.status_code == 200 and loads(r.text)["order_status"] == 1, r.text
    shop.assert_settled(ret, sandbox_trade(ret.number)["trade_no"])

    open_and_pay(client, qry)
    r = client.get(f"/payments/alipay/query/{qry.number}", headers=auth(qry.user_id), timeout=30)
    assert assert_json_response(r, 200) == PAID_ANSWER
    shop.assert_settled(qry, sandbox_trade(qry.number)["trade_no"])

    assert assert_json_response(shop.cancel(cnl), 200) == {"errmsg": "当前订单已取消!", "order_status": 2}
    shop.assert_closed(cnl, 2)

    run_sweep()
    shop.assert_closed(swp, 3)
    assert order_state(db, swp.id)["pay_link_time"] is not None


def test_gateway_down_during_a_paid_trade(client, db, shop, sandbox_restart):
    """Paid at the sandbox (no notification), then the gateway goes away: the return cannot be
    confirmed (502) and the order stays unpaid, the cancel is refused (502) rather than cancelling a
    paid order. After the restart the sandbox forgot that payment: the buyer pays again at the
    reopened link, and the order settles with the new trade."""
    p = shop.purchase("credit")
    location = open_and_pay(client, p)
    first_trade = sandbox_trade(p.number)["trade_no"]
    before = shop.assert_unpaid(p)

    stack("sandbox-stop")
    wait_sandbox(False)
    assert_error(get_result(result_query(location)), 502, "gateway_unavailable")
    assert_error(shop.cancel(p), 502, "gateway_unavailable")
    run_sweep()
    assert shop.state(p) == before

    forget_trades()
    stack("sandbox-start")
    wait_sandbox(True)
    location = open_and_pay(client, p)
    trade = sandbox_trade(p.number)
    assert trade["trade_no"] != first_trade
    r = get_result(result_query(location))
    assert r.status_code == 200 and loads(r.text)["order_status"] == 1, r.text
    shop.assert_settled(p, trade["trade_no"])
    assert_error(shop.cancel(p), 400, "order_not_cancellable")
