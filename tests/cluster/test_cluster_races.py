"""The race suites of tests/integration (test_races.py, test_payment_races.py) with the requests split
across the two app instances, and so across two Galera nodes (instance 1 prefers node 1, instance
2 node 2): row locks do not reach across nodes, certification decides (README, "Settlement, exactly
once"; docs on LUFFY_DB_NODES). Every race ends with the state checked through a causal read and
`luffy-pay audit` clean.
"""

import math
import subprocess
import threading
import time
from collections import Counter
from datetime import datetime

from alipay import (assert_notify_answer, get_pay_link, notification, notifications, order_state, post_notify,
                    refunds, shop)
from conftest import (APP_ENV, APP_LOGS, INSTANCES, URLS, InstanceSession, assert_audit_clean, assert_error,
                      assert_json_response, db_rows, file_size, grant_credit, instance_client, instance_of,
                      log_fields, node_connect, parse_settings, read_from, settle_nodes, wait_until)
from ordering import (CREDIT_RATIO, ORDER_TIMEOUT, at_once, cancel_order, coupon_log_row, dev_offer, loads, new_key,
                      post_order, scalar, shop_dates, sweep_cmd, throwaway, user_credit)
from test_payment_races import notifications_returns_queries_at_once, paid_without_notification
from test_races import concurrent_orders, make_expired_orders, statuses

__all__ = ["shop", "throwaway"]  # the fixtures, imported for pytest


def split_orders(user_id, bodies, keys=None):
    """POST /orders once per body, all at once, each on its own connection, alternately through
    instance 1 and instance 2."""
    settle_nodes()
    return concurrent_orders(user_id, bodies, keys, client_for=lambda k: instance_client(instance_of(k)))


def by_instance(responses):
    """{instance: Counter of (status, code)} (response k went to instance_of(k))."""
    out = {i: Counter() for i in INSTANCES}
    for k, r in enumerate(responses):
        out[instance_of(k)][(r.status_code, r.json().get("code"))] += 1
    return out


def test_one_coupon_twenty_orders_on_two_nodes(db, throwaway):
    # Twenty courses, one per order: the coupon is all the orders share (with one course for all,
    # a loser could also be refused for the course, in the winner's unpaid order, depending on
    # which of its checks its node learnt of the winner before).
    uid = throwaway.user()
    log = throwaway.coupon_log(uid, 1)
    courses = [throwaway.course("998.00") for _ in range(20)]
    responses = split_orders(uid, [{"course_ids": [c], "user_coupon_id": log} for c in courses])
    assert statuses(responses) == Counter({(201, None): 1, (400, "coupon_used"): 19}), by_instance(responses)
    for r in responses:
        if r.status_code != 201:
            assert_error(r, 400, "coupon_used")
    winner = next(r for r in responses if r.status_code == 201)
    order = winner.json()
    assert db_rows(db, "SELECT id FROM ly_order WHERE user_id = %s", (uid,)) == ((order["id"],),)
    assert scalar(db, "SELECT COUNT(*) FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id "
                      "WHERE o.user_id = %s", (uid,)) == 1
    assert coupon_log_row(db, log)["order_id"] == order["id"]
    assert scalar(db, "SELECT COUNT(*) FROM ly_coupon_log WHERE order_id = %s", (order["id"],)) == 1
    assert loads(winner.text)["discount_price"] == 30
    assert_audit_clean()
    print(f"coupon race won through instance {instance_of(responses.index(winner))}")


def credited_user(throwaway, credit):
    """A throwaway user with `credit`, granted in the ledger (the audit's credit_balance)."""
    uid = throwaway.user(credit=credit)
    grant_credit(throwaway.conn, uid, credit)
    return uid


def test_credit_never_overspent_on_two_nodes(db, throwaway):
    uid = credited_user(throwaway, 500)
    courses = [throwaway.course("998.00", credit=100) for _ in range(20)]
    responses = split_orders(uid, [{"course_ids": [c], "credit": 100} for c in courses])
    assert statuses(responses) == Counter({(201, None): 5, (400, "credit_insufficient"): 15}), by_instance(responses)
    assert user_credit(db, uid) == 0
    orders = db_rows(db, "SELECT credit, real_price, order_status FROM ly_order WHERE user_id = %s", (uid,))
    assert len(orders) == 5, orders
    assert all(credit == 100 and status == 0 and real == dev_offer(1).real - 100 // CREDIT_RATIO
               for credit, real, status in orders), orders
    # cancelled through both instances: the balance gets back exactly what was taken
    created = [r.json()["id"] for r in responses if r.status_code == 201]
    clients = {i: instance_client(i) for i in INSTANCES}
    try:
        for k, order_id in enumerate(created):
            r = cancel_order(clients[instance_of(k)], uid, order_id)
            assert assert_json_response(r, 200)["order_status"] == 2
    finally:
        for c in clients.values():
            c.close()
    assert user_credit(db, uid) == 500
    assert_audit_clean()
    print(f"credit race: {by_instance(responses)}")


def test_one_idempotency_key_on_two_nodes(db, throwaway):
    uid = credited_user(throwaway, 200)
    key = new_key("cluster")
    body = {"course_ids": [1, 3], "credit": 150, "expected_real_price": 1382.00}
    responses = split_orders(uid, [body] * 10, keys=[key] * 10)
    assert [r.status_code for r in responses] == [201] * 10, \
        [(instance_of(k), r.status_code, r.text[:300]) for k, r in enumerate(responses) if r.status_code != 201]
    assert len({r.text for r in responses}) == 1, {r.text for r in responses}
    created = responses[0].json()
    assert created["order_number"][:8] in shop_dates()
    assert db_rows(db, "SELECT id FROM ly_order WHERE user_id = %s", (uid,)) == ((created["id"],),)
    assert scalar(db, "SELECT COUNT(*) FROM ly_idempotency_key WHERE user_id = %s", (uid,)) == 1
    assert user_credit(db, uid) == 50
    assert_audit_clean()


def test_one_course_in_two_orders_at_once_on_two_nodes(db, throwaway):
    """A buyer may hold a course in one unpaid order only (400 course_in_unpaid_order). Two
    POST /orders of one buyer for one course, at once through the two instances: the buyer's row
    lock alone orders them on one node only, so each request writes the buyer's guard row
    (sql/022) and the later commit fails certification and runs again, finding the first order."""
    uid = throwaway.user()
    rounds = 20
    seen = Counter()
    for _ in range(rounds):
        course = throwaway.course("10.00")
        responses = split_orders(uid, [{"course_ids": [course]}] * 2)
        seen.update((r.status_code, r.json().get("code")) for r in responses)
        settle_nodes()
        assert scalar(db, "SELECT COUNT(*) FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id "
                          "WHERE o.user_id = %s AND oc.course_id = %s", (uid, course)) == 1, by_instance(responses)
    assert seen == {(201, None): rounds, (400, "course_in_unpaid_order"): rounds}, seen
    assert_audit_clean()


def settled_in_logs(order_number):
    """The `payment confirmed … outcome=settled` lines of this order in both instances' logs."""
    count = 0
    for path in APP_LOGS.values():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if order_number in line and "payment confirmed" in line:
                fields = log_fields(line)
                if fields.get("order_number") == order_number and fields.get("outcome") == "settled":
                    count += 1
    return count


def test_fifty_notifications_returns_and_queries_on_two_nodes_settle_once(client, shop):
    for round_ in range(2):
        p = shop.purchase("credit")
        trade_no, location = paid_without_notification(client, p)
        shop.assert_unpaid(p)
        settle_nodes()
        notifications_returns_queries_at_once(p, trade_no, location,
                                              [InstanceSession(URLS[instance_of(k)]) for k in range(60)])
        state = shop.assert_settled(p, trade_no)   # one row per course, one credit row, students +1
        outcomes = Counter(n["outcome"] for n in state["notifications"])
        assert sum(outcomes.values()) == 50 and set(outcomes) <= {"settled", "already_paid"}, outcomes
        by_others = settled_in_logs(p.number)
        assert outcomes["settled"] + by_others == 1, \
            f"settled {outcomes['settled']} time(s) by notifications and {by_others} time(s) by returns/queries"
        grant_credit(shop.conn, p.user_id, 500)       # the balance Shop gave, in the ledger (for the audit)
    assert_audit_clean()


def sweep_on(instance):
    """`luffy-pay sweep` with instance `instance`'s settings file (its node first)."""
    cmd, env = sweep_cmd()
    env["LUFFY_CONFIG"] = APP_ENV[instance]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def sweeper_log_counts(offsets):
    """{instance: orders its own sweeper reported timed out} in its log since `offsets`."""
    counts = {}
    for i, path in APP_LOGS.items():
        counts[i] = sum(int(f.get("count", 0)) for f in map(log_fields, read_from(path, offsets[i]).splitlines())
                        if f.get("msg") == "orders timed out" and f.get("task") == "sweeper")
    return counts


def next_sweeper_passes(interval):
    """{instance: time.monotonic() of its sweeper's next pass}: `serve` sweeps every `interval`
    seconds from its start (OrderSweeper.run), and its log says when it started."""
    passes = {}
    for i, path in APP_LOGS.items():
        starts = [log_fields(line)["time"] for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                  if "msg=serving" in line]
        assert starts, f"no `msg=serving` line in {path}"
        started = datetime.fromisoformat(starts[-1].replace("Z", "+00:00")).timestamp()
        due = started + interval * math.ceil((time.time() + 2 - started) / interval)
        passes[i] = time.monotonic() + (due - time.time())
    return passes


def test_sweepers_on_both_instances_close_each_order_once(db, throwaway):
    """Expired orders (200 a batch, each batch its own user, one order in ten with a coupon) put
    down just before each instance's own sweeper passes (one on each node), and `luffy-pay sweep`
    processes with each instance's settings (its node first) started as that pass begins; then four
    of them at once over one more batch. Every order is timed out once: its credit given back once,
    its coupon freed, and the passes' counts add up to no more than there were orders."""
    interval = int(parse_settings(APP_ENV[1]).get("LUFFY_SWEEP_INTERVAL", "30"))
    assert 0 < interval <= 60, f"the instances' sweepers run every {interval} s: not within this test"
    credit, size = 7, 200
    others = scalar(db, "SELECT COUNT(*) FROM ly_order WHERE order_status = 0 "
                        "AND created_time < NOW(6) - INTERVAL %s SECOND", (ORDER_TIMEOUT,))
    offsets = {i: file_size(path) for i, path in APP_LOGS.items()}
    batches, logs, cli = [], [], []

    def batch():
        uid = throwaway.user(credit=0)    # the orders' credit already taken from the balance…
        conn = throwaway.conn             # one transaction: no sweeper sees an order without its coupon
        conn.autocommit(False)
        try:
            grant_credit(conn, uid, size * credit)  # …which the ledger granted (the audit)
            ids = make_expired_orders(conn, uid, size, credit)
            logs.extend(throwaway.coupon_log(uid, 1, order_id=oid) for oid in ids[::10])
            conn.commit()
        finally:
            conn.autocommit(True)
        batches.append(uid)
        settle_nodes()

    def sweep_at_once(instances):
        procs = at_once([lambda i=i: sweep_on(i) for i in instances])
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, f"luffy-pay sweep exited {p.returncode}: {err.strip()[-1000:]}"
            cli.append(int(out.split()[1]))

    for due in sorted(next_sweeper_passes(interval).values()):
        if time.monotonic() > due - 1.5:
            continue                       # the other instance's pass, a moment ago: its batch is taken
        time.sleep(max(0.0, due - 1.5 - time.monotonic()))
        batch()
        time.sleep(max(0.0, due - 0.05 - time.monotonic()))
        sweep_at_once((1, 2))
    batch()
    sweep_at_once((1, 2, 1, 2))

    total = size * len(batches)
    for uid in batches:
        assert db_rows(db, "SELECT order_status, COUNT(*) FROM ly_order WHERE user_id = %s GROUP BY order_status",
                       (uid,)) == ((3, size),), uid
        assert user_credit(db, uid) == size * credit, uid     # given back once per order, never twice
    for log in logs:
        assert coupon_log_row(db, log) == {"order_id": None, "use_status": 0, "use_time": None}
    # an instance's pass logs its count once it is over
    wait_until(lambda: sum(cli) + sum(sweeper_log_counts(offsets).values()) >= total, 10)
    own = sweeper_log_counts(offsets)
    assert total <= sum(cli) + sum(own.values()) <= total + others, (total, others, cli, own)
    assert_audit_clean()
    print(f"{total} orders timed out: luffy-pay sweep processes {cli}, instance sweepers {own}")


def test_cancel_racing_a_notification_on_the_other_node(shop):
    """An unpaid order (no pay link, so the cancel needs no gateway): its cancel through one
    instance and its payment's notification through the other at once, the start of one delayed
    a little more each round. Either the cancel wins (order cancelled, credit/coupon back once, the
    payment recorded for refund) or the notification does (settled once, the cancel refused)."""
    winners = Counter()
    delays = [(0, 0), (0.005, 0), (0, 0.005), (0.015, 0), (0, 0.015), (0.03, 0), (0, 0.03), (0.06, 0)]
    for round_, (cancel_delay, notify_delay) in enumerate(delays):
        cancelling, notifying = (1, 2) if round_ % 2 == 0 else (2, 1)
        p = shop.purchase("credit" if round_ % 2 == 0 else "coupon")
        params = notification(p.number, p.amount_text)
        trade_no = params["trade_no"]
        canceller = instance_client(cancelling)
        notifier = InstanceSession(URLS[notifying])
        settle_nodes()
        try:
            cancelled, notified = at_once([
                lambda: (time.sleep(cancel_delay), cancel_order(canceller, p.user_id, p.id))[1],
                lambda: (time.sleep(notify_delay), post_notify(params, session=notifier))[1],
            ])
        finally:
            canceller.close()
            notifier.close()
        assert_notify_answer(notified, "success")
        conn = node_connect(1)
        try:
            stored = notifications(conn, p.number)
            owed = refunds(conn, p.number)
        finally:
            conn.close()
        assert [(n["trade_no"], n["order_id"]) for n in stored] == [(trade_no, p.id)], stored
        if cancelled.status_code == 200:
            assert cancelled.json() == {"errmsg": "当前订单已取消!", "order_status": 2}
            shop.assert_closed(p, 2)
            assert stored[0]["outcome"] == "refund_needed:order_cancelled", stored
            assert [(r["trade_no"], r["amount"], r["reason"]) for r in owed] == \
                [(trade_no, p.amount, "order_cancelled")], owed
            winners["cancel"] += 1
        else:
            assert_error(cancelled, 400, "order_not_cancellable")
            shop.assert_settled(p, trade_no)
            assert stored[0]["outcome"] == "settled", stored
            winners["notify"] += 1
        assert order_state(shop.conn, p.id)["order_status"] in (1, 2)
        if p.credit:
            grant_credit(shop.conn, p.user_id, 500)   # the balance Shop gave, in the ledger (for the audit)
    assert sum(winners.values()) == len(delays)
    assert_audit_clean()
    print(f"cancel vs notification on two nodes: {dict(winners)}")


def test_a_buyers_next_request_through_the_other_instance_sees_its_last_answer(throwaway):
    """A buyer's requests go through the balanced port, so one after the other they may reach
    different instances (and nodes): the front end's flow of an order answered 201 by one instance,
    its pay link asked at once through the other, the order cancelled through the first, the course
    ordered again through the other. Each request must see what the one before it answered: the pay
    link and the cancel find the order (not 404 order_not_found), the new order finds the course
    free again (not 400 course_in_unpaid_order)."""
    uid = throwaway.user()
    rounds = 160
    courses = [throwaway.course("10.00") for _ in range(rounds)]
    # Other buyers order and cancel through both instances meanwhile: a node applies the other's
    # writes behind its own, as in a busy shop, and the window in which it lags is real.
    busy = [(throwaway.user(), throwaway.course("10.00"), i) for i in INSTANCES for _ in range(3)]
    stop = threading.Event()

    def keep_busy(user_id, course, instance):
        client = instance_client(instance)
        try:
            while not stop.is_set():
                made = post_order(client, user_id, {"course_ids": [course]})
                if made.status_code == 201:
                    cancel_order(client, user_id, made.json()["id"])
        finally:
            client.close()

    settle_nodes()
    workers = [threading.Thread(target=keep_busy, args=b, daemon=True) for b in busy]
    for w in workers:
        w.start()
    clients = {i: instance_client(i) for i in INSTANCES}
    seen = Counter()

    def note(step, r):
        seen[step, r.status_code, r.json().get("code")] += 1
        return r.status_code

    try:
        for k, course in enumerate(courses):
            first, other = clients[instance_of(k)], clients[instance_of(k + 1)]
            created = post_order(first, uid, {"course_ids": [course]})
            assert created.status_code == 201, created.text
            order = created.json()
            note("pay link", get_pay_link(other, uid, order["order_number"]))
            if note("cancel", cancel_order(first, uid, order["id"])) != 200:      # so that the round goes on
                assert wait_until(lambda: cancel_order(first, uid, order["id"]).status_code == 200, 5)
            note("order again", post_order(other, uid, {"course_ids": [course]}))
    finally:
        stop.set()
        for w in workers:
            w.join(30)
        for c in clients.values():
            c.close()
    assert seen == {("pay link", 200, None): rounds, ("cancel", 200, None): rounds,
                    ("order again", 201, None): rounds}, seen
    assert_audit_clean()
