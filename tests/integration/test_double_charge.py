"""One course, paid for once (issue 7, item 1), at every level, through nginx and the real database:

* `POST /orders` refuses a course that sits in another live unpaid order of the same user (400
  `course_in_unpaid_order` with those order numbers), writing nothing;
* the pay link refuses an order holding a course the buyer owns by now (400
  `course_already_purchased`), writing nothing;
* settlement, whatever raced past those two, grants and counts a course once: the order that finds
  the course owned refunds that course's share of its payment (`ly_refund`, approved, reason
  `course_already_owned`, one per trade and course), and `students` grows by one;
* settlement checks the amount under the order's row lock: a payment that is not the order's
  real_price never settles it and is recorded for refund (`amount_mismatch`).

The second order holding a course is written straight into the database (POST /orders would
refuse it now), as an order created before this rule, or by a buyer racing it, would look.
"""

import threading
import urllib.parse
from collections import Counter
from decimal import Decimal

from alipay import assert_notify_answer, get_pay_link, notification, notifications, order_state, post_notify, shop
from conftest import Client, assert_error, assert_json_response, db_connect, db_rows
from ordering import ORDER_TIMEOUT, at_once, new_key, post_order, scalar, snapshot, wait_for_db

__all__ = ["shop"]  # the fixture, imported for pytest

CENT = Decimal("0.01")


# ---------------------------------------------------------------- an independent model of the shares
def paid_shares(paid, prices):
    """Each course's part of `paid`: its price less its share of the discount (total − paid), the
    discount split in proportion to the prices, whole fen by the largest remainder (ties: first)."""
    fen = [int(p / CENT) for p in prices]
    total, discount = sum(fen), sum(fen) - int(paid / CENT)
    if total == 0:
        return [Decimal("0.00")] * len(prices)
    base = [discount * p // total for p in fen]
    remainders = [discount * p % total for p in fen]
    for i in sorted(range(len(fen)), key=lambda i: (-remainders[i], i))[:discount - sum(base)]:
        base[i] += 1
    return [Decimal(p - b) * CENT for p, b in zip(fen, base)]


def test_share_model_on_known_figures():
    # 120.00 + 80.50 with 30.00 off: 30 × 120/200.5 = 17.955…, 30 × 80.5/200.5 = 12.044…; the fen
    # left over goes to the larger remainder (the first course)
    assert paid_shares(Decimal("170.50"), [Decimal("120.00"), Decimal("80.50")]) == \
        [Decimal("102.04"), Decimal("68.46")]
    assert paid_shares(Decimal("0.02"), [Decimal("0.01")] * 3) == [Decimal("0.00"), Decimal("0.01"), Decimal("0.01")]
    assert paid_shares(Decimal("99.00"), [Decimal("99.00")]) == [Decimal("99.00")]


# ---------------------------------------------------------------- helpers
def order_courses(conn, order_id):
    return db_rows(conn, "SELECT course_id, real_price FROM ly_order_course WHERE order_id = %s ORDER BY id",
                   (order_id,))


def extra_unpaid_order(conn, user_id, course_ids):
    """An unpaid order of these courses at their list price, written like the app writes one (its
    own number from the app's sequence), bypassing POST /orders. Returns (id, number, real_price)."""
    with conn.cursor() as cur:
        cur.execute("SELECT CONCAT(DATE_FORMAT(NOW(), '%%Y%%m%%d'), LPAD(%s, 8, '0'), "
                    "LPAD(NEXT VALUE FOR ly_order_number_seq, 8, '0'))", (user_id,))
        number = cur.fetchone()[0]
        ids = ",".join(str(int(c)) for c in course_ids)
        cur.execute(f"SELECT SUM(price) FROM ly_course WHERE id IN ({ids})")
        total = cur.fetchone()[0]
        cur.execute("INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, "
                    "real_price, order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, "
                    "trade_no) VALUES ('购买课程', 0, 0, 1, NOW(6), NOW(6), %s, %s, %s, 0, 0, NULL, NULL, 0, %s, NULL)",
                    (total, total, number, user_id))
        order_id = cur.lastrowid
        cur.execute("INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, "
                    "real_price, discount_name, course_id, order_id) "
                    f"SELECT name, 0, 0, 1, NOW(6), NOW(6), price, price, '', id, %s FROM ly_course WHERE id IN ({ids}) "
                    "ORDER BY id", (order_id,))
    return order_id, number, total


def course_refunds(conn, order_number):
    """(trade_no, course_id (0: the whole trade), amount, reason, where the payment was learned, state)."""
    return db_rows(conn, "SELECT r.trade_no, COALESCE(rc.course_id, 0), r.amount, r.reason, r.payment_source, r.state "
                         "FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id "
                         "WHERE r.order_number = %s ORDER BY COALESCE(rc.course_id, 0)", (order_number,))


def grants(conn, user_id):
    return db_rows(conn, "SELECT course_id, trade_no FROM ly_user_course WHERE user_id = %s AND is_deleted = 0 "
                         "ORDER BY course_id", (user_id,))


def students(conn, course_ids):
    return [n for (n,) in db_rows(conn, "SELECT students FROM ly_course WHERE id IN (%s) ORDER BY id"
                                  % ",".join(str(int(c)) for c in course_ids))]


def pay(number, amount, trade_no=None):
    n = notification(number, f"{Decimal(amount):.2f}", trade_no)
    assert_notify_answer(post_notify(n), "success")
    return n["trade_no"]


def coupon_order(shop):
    """A throwaway user's unpaid order of two throwaway courses (120.00 + 80.50) with 30.00 off."""
    p = shop.purchase("coupon")
    assert p.amount == Decimal("170.50"), p.order
    return p


# ---------------------------------------------------------------- POST /orders
def test_course_in_another_unpaid_order_is_refused(client, db, shop):
    p = coupon_order(shop)
    x, y = p.course_ids
    z = shop.t.course("66.00")
    before = snapshot(db, p.user_id)
    r = post_order(client, p.user_id, {"course_ids": [z, y]}, key=new_key("unpaid"))
    err = assert_error(r, 400, "course_in_unpaid_order")
    assert (err["order_numbers"], err["course_ids"]) == ([p.number], [y]), err
    assert snapshot(db, p.user_id) == before

    # a second unpaid order holding x as well: both numbers, in order
    other_id, other_number, _ = extra_unpaid_order(db, p.user_id, [x])
    before = snapshot(db, p.user_id)
    err = assert_error(post_order(client, p.user_id, {"course_ids": [x, z]}), 400, "course_in_unpaid_order")
    assert (err["order_numbers"], err["course_ids"]) == (sorted([p.number, other_number]), [x]), err
    assert snapshot(db, p.user_id) == before

    # courses in no unpaid order of the user are fine; so are the same courses for another user
    assert_json_response(post_order(client, p.user_id, {"course_ids": [z]}), 201)
    stranger = shop.t.user()
    assert_json_response(post_order(client, stranger, {"course_ids": [x, y]}), 201)

    # an order that is cancelled, or expired (even before the sweeper closed it), holds nothing back
    assert_json_response(shop.cancel(p), 200)
    with db.cursor() as cur:
        cur.execute("UPDATE ly_order SET created_time = NOW(6) - INTERVAL %s SECOND WHERE id = %s",
                    (ORDER_TIMEOUT + 1, other_id))
    again = assert_json_response(post_order(client, p.user_id, {"course_ids": [x, y]}, key=new_key("again")), 201)
    assert again["order_status"] == 0


def test_ten_orders_of_one_course_at_once(db, shop):
    """Ten POST /orders of one course by one user at the same moment: the user's row lock makes the
    check and the insert one step, so exactly one order holds the course."""
    uid = shop.t.user()
    course = shop.t.course("10.00")
    clients = [Client() for _ in range(10)]
    try:
        responses = at_once([lambda c=c: post_order(c, uid, {"course_ids": [course]}, timeout=30) for c in clients])
    finally:
        for c in clients:
            c.close()
    codes = Counter((r.status_code, r.json().get("code")) for r in responses)
    assert codes == {(201, None): 1, (400, "course_in_unpaid_order"): 9}, codes
    winner = next(r for r in responses if r.status_code == 201).json()
    for r in responses:
        if r.status_code == 400:
            assert (r.json()["order_numbers"], r.json()["course_ids"]) == ([winner["order_number"]], [course]), r.text
    assert db_rows(db, "SELECT id FROM ly_order WHERE user_id = %s", (uid,)) == ((winner["id"],),)


def test_idempotent_retry_replays_instead_of_refusing(client, db, shop):
    """The retry of a POST /orders that went through is its replay, not `course_in_unpaid_order`."""
    uid = shop.t.user()
    course = shop.t.course("10.00")
    key = new_key("retry")
    first = post_order(client, uid, {"course_ids": [course]}, key=key)
    assert_json_response(first, 201)
    again = post_order(client, uid, {"course_ids": [course]}, key=key)
    assert (again.status_code, again.text, again.headers.get("Idempotent-Replayed")) == (201, first.text, "true")
    assert scalar(db, "SELECT COUNT(*) FROM ly_order WHERE user_id = %s", (uid,)) == 1


# ---------------------------------------------------------------- the pay link, then settlement
def test_pay_link_refused_and_settlement_refunds_the_owned_course(client, db, shop):
    p = coupon_order(shop)
    x, y = p.course_ids
    a_id, a_number, a_amount = extra_unpaid_order(db, p.user_id, [x])
    shop.numbers.append(a_number)
    trade_a = pay(a_number, a_amount)
    assert order_state(db, a_id)["order_status"] == 1
    assert grants(db, p.user_id) == ((x, trade_a),)

    # the pay link of the order that still holds x: refused, nothing written
    before = shop.state(p)
    err = assert_error(get_pay_link(client, p.user_id, p.number), 400, "course_already_purchased")
    assert err["course_ids"] == [x], err
    assert shop.state(p) == before and before["order"]["pay_link_time"] is None

    # a payment arrives anyway (a link opened earlier): the order is paid, y granted, x refunded
    trade_b = pay(p.number, p.amount)
    s = shop.state(p)
    assert (s["order"]["order_status"], s["order"]["trade_no"]) == (1, trade_b), s["order"]
    assert grants(db, p.user_id) == ((x, trade_a), (y, trade_b))
    assert students(db, [x, y]) == [1, 1]
    assert s["coupon"][0][:2] == (p.id, 1), s["coupon"]
    share_x, share_y = paid_shares(p.amount, [r for _, r in order_courses(db, p.id)])
    assert (share_x, share_y) == (Decimal("102.04"), Decimal("68.46"))
    assert course_refunds(db, p.number) == ((trade_b, x, share_x, "course_already_owned", "notify", "approved"),)
    assert [n["outcome"] for n in notifications(db, p.number)] == ["settled"]

    # Alipay's retry of that notification: nothing again
    pay(p.number, p.amount, trade_b)
    assert course_refunds(db, p.number) == ((trade_b, x, share_x, "course_already_owned", "notify", "approved"),)
    assert grants(db, p.user_id) == ((x, trade_a), (y, trade_b)) and students(db, [x, y]) == [1, 1]
    assert [n["outcome"] for n in notifications(db, p.number)] == ["settled", "already_paid"]
    # the first order's refund rows: none
    assert course_refunds(db, a_number) == ()


def test_every_course_owned_refunds_the_whole_payment_by_course(db, shop):
    p = coupon_order(shop)
    x, y = p.course_ids
    a_id, a_number, a_amount = extra_unpaid_order(db, p.user_id, [x, y])
    shop.numbers.append(a_number)
    trade_a = pay(a_number, a_amount)
    trade_b = pay(p.number, p.amount)
    assert order_state(db, p.id)["order_status"] == 1
    assert grants(db, p.user_id) == ((x, trade_a), (y, trade_a))
    assert students(db, [x, y]) == [1, 1]
    refunds = course_refunds(db, p.number)
    assert [(t, c, reason) for t, c, _, reason, _, _ in refunds] == \
        [(trade_b, x, "course_already_owned"), (trade_b, y, "course_already_owned")], refunds
    assert sum(amount for _, _, amount, _, _, _ in refunds) == p.amount


def test_two_orders_of_one_course_paid_at_once(db, shop):
    """Both orders of the same two courses are paid at the same moment, ten notifications each:
    each course is granted once, counted once, and every share the other order paid for it is
    recorded for refund; each order's refunds and granted shares add up to what it paid."""
    for round_ in range(3):
        p = coupon_order(shop)
        courses = sorted(p.course_ids)
        a_id, a_number, a_amount = extra_unpaid_order(db, p.user_id, courses)
        shop.numbers.append(a_number)
        forms = {number: urllib.parse.urlencode(notification(number, f"{Decimal(amount):.2f}"))
                 for number, amount in ((p.number, p.amount), (a_number, a_amount))}
        calls = [lambda f=f: post_notify(f) for f in list(forms.values()) * 10]
        for r in at_once(calls):
            assert_notify_answer(r, "success")

        granted = dict(grants(db, p.user_id))
        assert sorted(granted) == courses, granted
        assert students(db, courses) == [1, 1], round_
        for order_id, number, amount in ((p.id, p.number, p.amount), (a_id, a_number, a_amount)):
            o = order_state(db, order_id)
            assert o["order_status"] == 1, o
            assert Counter(n["outcome"] for n in notifications(db, number)) == {"settled": 1, "already_paid": 9}
            lines = order_courses(db, order_id)
            shares = dict(zip([c for c, _ in lines], paid_shares(amount, [r for _, r in lines])))
            expected = tuple((o["trade_no"], c, shares[c], "course_already_owned", "notify", "approved")
                             for c in courses if granted[c] != o["trade_no"])
            assert course_refunds(db, number) == expected, (round_, number)
            kept = sum(shares[c] for c in courses if granted[c] == o["trade_no"])
            assert kept + sum(e[2] for e in expected) == amount
        print(f"round {round_}: trades granting the courses: {Counter(granted.values())}")


# ---------------------------------------------------------------- the amount, checked under the row lock
def test_amount_that_changed_under_the_lock_is_refunded_not_settled(db, shop):
    """The order's real_price changes while a notification for the old amount waits on the order's
    row lock (it passed the handler's own check before): it must not settle the order."""
    p = shop.purchase("credit")
    before = shop.state(p)
    n = notification(p.number, p.amount_text)
    holder = db_connect()
    answers = []
    try:
        holder.autocommit(False)
        with holder.cursor() as cur:
            cur.execute("SELECT id FROM ly_order WHERE id = %s FOR UPDATE", (p.id,))
            cur.execute("UPDATE ly_order SET real_price = real_price + 1.00 WHERE id = %s", (p.id,))
        sender = threading.Thread(target=lambda: answers.append(post_notify(n)), daemon=True)
        sender.start()
        # the notification's settlement is waiting for the row lock this connection holds
        waiting = wait_for_db(db, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Execute' "
                                  "AND INFO LIKE %s", ("%LEFT JOIN ly_order_course oc ON oc.order_id = o.id%WHERE o.id = ? FOR UPDATE%",), 1, timeout=15)
        assert waiting == 1, "the notification never reached the order's row lock"
        holder.commit()
        sender.join(30)
    finally:
        holder.close()
    assert len(answers) == 1
    assert_notify_answer(answers[0], "success")     # acknowledged: recorded, Alipay need not retry
    s = shop.state(p)
    assert (s["order"]["order_status"], s["order"]["trade_no"], s["order"]["pay_time"]) == (0, None, None), s["order"]
    assert s["user_courses"] == () and s["credit_rows"] == () and students(db, p.course_ids) == [0, 0]
    assert s["balance"] == before["balance"]
    assert course_refunds(db, p.number) == ((n["trade_no"], 0, p.amount, "amount_mismatch", "notify", "approved"),)
    assert [x["outcome"] for x in s["notifications"]] == ["refund_needed:amount_mismatch"]


def test_a_deleted_grant_is_not_owned_and_comes_back_when_bought(client, db, shop):
    """A soft-deleted ly_user_course row is no ownership (POST /orders sells the course again), so
    paying for it grants it again, counts the student, and refunds nothing."""
    p = shop.purchase("plain")
    x, y = p.course_ids
    with db.cursor() as cur:
        cur.execute("INSERT INTO ly_user_course (name, is_deleted, orders, is_show, created_time, updated_time, "
                    "study_time, chapter_id, course_id, lesson_id, user_id, trade_no, buy_type, pay_time, out_time) "
                    "VALUES ('旧的', 1, 0, 1, NOW(6), NOW(6), 0, NULL, %s, NULL, %s, 'old-trade', 1, NOW(6), NULL)",
                    (x, p.user_id))
    trade = pay(p.number, p.amount)
    assert order_state(db, p.id)["order_status"] == 1
    assert grants(db, p.user_id) == ((x, trade), (y, trade))
    assert students(db, [x, y]) == [1, 1]
    assert course_refunds(db, p.number) == ()
