"""Races (coupons, credit, settlement, the sweeper; README, "POST /orders", "Settlement, exactly
once", "Order timeout"): real concurrent HTTP requests through nginx, and real
`luffy-pay sweep` processes started at once; the database state is checked afterwards.
Every race runs as a throwaway user and is bounded in count and time.
"""

import re
import subprocess
import time
from collections import Counter

import pytest

from conftest import Client, assert_error, assert_json_response, db_rows
from ordering import (CREDIT_RATIO, ORDER_TIMEOUT, at_once, cancel_order, coupon_log_row, dev_offer, loads, new_key,
                      order_row, post_order, scalar, shop_dates, sweep_cmd, throwaway, user_credit)

__all__ = ["throwaway"]  # the fixture, imported for pytest


def concurrent_orders(user_id, bodies, keys=None, client_for=lambda k: Client()):
    """POST /orders once per body, all at once, each on its own connection: the k-th body's is
    client_for(k), through the stack's nginx unless told otherwise."""
    clients = [client_for(k) for k in range(len(bodies))]
    try:
        calls = [lambda c=c, b=b, k=k: post_order(c, user_id, b, key=k, timeout=30)
                 for c, b, k in zip(clients, bodies, keys or [None] * len(bodies))]
        return at_once(calls)
    finally:
        for c in clients:
            c.close()


def statuses(responses):
    return Counter((r.status_code, r.json().get("code")) for r in responses)


def test_one_coupon_twenty_orders(db, throwaway):
    uid = throwaway.user()
    log = throwaway.coupon_log(uid, 1)
    responses = concurrent_orders(uid, [{"course_ids": [1], "user_coupon_id": log}] * 20)
    assert statuses(responses) == Counter({(201, None): 1, (400, "coupon_used"): 19}), statuses(responses)
    winner = next(r for r in responses if r.status_code == 201).json()
    for r in responses:
        if r.status_code != 201:
            assert_error(r, 400, "coupon_used")
    # one order, bound to the coupon; nothing of the losers left behind
    assert db_rows(db, "SELECT id FROM ly_order WHERE user_id = %s", (uid,)) == ((winner["id"],),)
    assert scalar(db, "SELECT COUNT(*) FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id "
                      "WHERE o.user_id = %s", (uid,)) == 1
    assert coupon_log_row(db, log)["order_id"] == winner["id"]
    assert scalar(db, "SELECT COUNT(*) FROM ly_coupon_log WHERE order_id = %s", (winner["id"],)) == 1
    assert loads(next(r for r in responses if r.status_code == 201).text)["discount_price"] == 30


def test_credit_is_never_spent_twice(db, throwaway):
    uid = throwaway.user(credit=500)
    # 20 orders of 100 credit against a balance of 500, each of its own course priced like course 1
    # (up to 100 credit): a course may be in one unpaid order of a user only
    courses = [throwaway.course("998.00", credit=100) for _ in range(20)]
    responses = concurrent_orders(uid, [{"course_ids": [c], "credit": 100} for c in courses])
    assert statuses(responses) == Counter({(201, None): 5, (400, "credit_insufficient"): 15}), statuses(responses)
    assert user_credit(db, uid) == 0
    orders = db_rows(db, "SELECT credit, real_price, order_status FROM ly_order WHERE user_id = %s", (uid,))
    assert len(orders) == 5
    assert all(credit == 100 and status == 0 and real == dev_offer(1).real - 100 // CREDIT_RATIO
               for credit, real, status in orders), orders
    assert sum(credit for credit, _, _ in orders) == 500
    # and the balance gives back exactly what was taken when they are cancelled
    client = Client()
    try:
        for r in responses:
            if r.status_code == 201:
                assert assert_json_response(cancel_order(client, uid, r.json()["id"]), 200)["order_status"] == 2
    finally:
        client.close()
    assert user_credit(db, uid) == 500


def test_one_idempotency_key_ten_requests(db, throwaway):
    uid = throwaway.user(credit=200)
    key = new_key("race")
    body = {"course_ids": [1, 3], "credit": 150, "expected_real_price": 1382.00}
    responses = concurrent_orders(uid, [body] * 10, keys=[key] * 10)
    assert [r.status_code for r in responses] == [201] * 10, [(r.status_code, r.text[:200]) for r in responses]
    texts = {r.text for r in responses}
    assert len(texts) == 1, texts
    created = responses[0].json()
    assert created["order_number"][:8] in shop_dates()
    assert db_rows(db, "SELECT id FROM ly_order WHERE user_id = %s", (uid,)) == ((created["id"],),)
    assert scalar(db, "SELECT COUNT(*) FROM ly_idempotency_key WHERE user_id = %s", (uid,)) == 1
    assert user_credit(db, uid) == 50


def make_expired_orders(db, uid, count, credit):
    """`count` unpaid orders of course 3 (each with `credit`), created long before the timeout."""
    ids = []
    with db.cursor() as cur:
        for i in range(count):
            cur.execute(
                "INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, "
                "real_price, order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no) "
                "VALUES ('购买课程', 0, 0, 1, NOW(6) - INTERVAL %s SECOND, NOW(6), 399.00, %s, "
                "CONCAT(DATE_FORMAT(NOW(), '%%Y%%m%%d'), LPAD(%s, 8, '0'), LPAD(%s, 8, '0')), 0, 0, NULL, NULL, %s, "
                "%s, NULL)",
                (ORDER_TIMEOUT + 60 + i, f"{399 - credit / CREDIT_RATIO:.2f}", uid, 70000000 + i, credit, uid))
            ids.append(cur.lastrowid)
            cur.execute(
                "INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, "
                "real_price, discount_name, course_id, order_id) VALUES ('Vue3从入门到精通', 0, 0, 1, NOW(6), NOW(6), "
                "399.00, 399.00, '', 3, %s)", (ids[-1],))
    return ids


def test_three_sweepers_over_two_hundred_orders(db, throwaway):
    uid = throwaway.user(credit=0)   # every order's credit already taken from the balance
    credit = 7
    ids = make_expired_orders(db, uid, 200, credit)
    # 20 of them also hold a coupon
    logs = {throwaway.coupon_log(uid, 1, order_id=oid): oid for oid in ids[::10]}
    # expired unpaid orders of others that a pass may also take (normally none)
    others = scalar(db, "SELECT COUNT(*) FROM ly_order WHERE order_status = 0 AND user_id <> %s "
                        "AND created_time < NOW(6) - INTERVAL %s SECOND", (uid, ORDER_TIMEOUT))
    cmd, env = sweep_cmd()
    procs = at_once([lambda: subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True) for _ in range(3)])
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out)
    rows = db_rows(db, "SELECT order_status, COUNT(*) FROM ly_order WHERE user_id = %s GROUP BY order_status", (uid,))
    assert rows == ((3, 200),), rows
    assert user_credit(db, uid) == 200 * credit
    for log in logs:
        assert coupon_log_row(db, log) == {"order_id": None, "use_status": 0, "use_time": None}
    counts = [int(re.fullmatch(r"sweep: (\d+) order\(s\) timed out", o.strip()).group(1)) for o in outs]
    # no row was taken by two passes (SKIP LOCKED): the counts add up to no more than there were
    # (the app's own sweeper may have taken some of them meanwhile)
    assert sum(counts) <= 200 + others, counts
    print("sweepers:", counts)


def test_cancel_racing_the_sweeper(db, throwaway):
    uid = throwaway.user(credit=500)
    cmd, env = sweep_cmd()
    winners = Counter()
    # the sweep process needs ~10-20 ms to reach the database: the cancel starts later and later
    delays = [0, 0.004, 0.008, 0.012, 0.016, 0.024, 0.032, 0.05]
    for round_, delay in enumerate(delays):
        client = Client()
        try:
            r = post_order(client, uid, {"course_ids": [1], "credit": 80})
            order = assert_json_response(r, 201)
            assert user_credit(db, uid) == 420
            with db.cursor() as cur:
                cur.execute("UPDATE ly_order SET created_time = NOW(6) - INTERVAL %s SECOND WHERE id = %s",
                            (ORDER_TIMEOUT + 60, order["id"]))

            def sweep():
                return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)

            def cancel():
                time.sleep(delay)
                return cancel_order(client, uid, order["id"])

            cancel_result, sweep_result = at_once([cancel, sweep])
        finally:
            client.close()
        assert sweep_result.returncode == 0, sweep_result.stderr
        status = order_row(db, order["id"])["order_status"]
        if cancel_result.status_code == 200:
            assert cancel_result.json() == {"errmsg": "当前订单已取消!", "order_status": 2}
            assert status == 2, (round_, status)
        else:
            assert_error(cancel_result, 400, "order_not_cancellable")
            assert status == 3, (round_, status)
        winners[status] += 1
        # exactly once: the balance is whole again, not 580
        assert user_credit(db, uid) == 500, (round_, status)
    assert sum(winners.values()) == len(delays)
    print(f"cancel vs sweeper: {dict(winners)} (2 = cancel won, 3 = sweeper won)")


@pytest.mark.parametrize("round_", range(2))
def test_cancel_racing_itself(db, throwaway, round_):
    """Ten cancels of one order at once: one 200, nine order_not_cancellable, credit back once."""
    uid = throwaway.user(credit=100)
    client = Client()
    try:
        order = assert_json_response(post_order(client, uid, {"course_ids": [3], "credit": 50}), 201)
    finally:
        client.close()
    clients = [Client() for _ in range(10)]
    try:
        results = at_once([lambda c=c: cancel_order(c, uid, order["id"]) for c in clients])
    finally:
        for c in clients:
            c.close()
    assert statuses(results) == Counter({(200, None): 1, (400, "order_not_cancellable"): 9}), statuses(results)
    assert order_row(db, order["id"])["order_status"] == 2
    assert user_credit(db, uid) == 100
