"""`luffy-pay audit` (README, "The invariant audit").

A stack after real purchases (plain, coupon, credit), cancels, a timeout and a payment that
reached a cancelled order audits clean (exit 0). Then, for each invariant, the database is
corrupted the way the invariant forbids — committed, since the audit reads from its own
connection, on this module's throwaway rows or on rows made here, and undone in a `finally` —
and the audit must exit 1 with a line naming that invariant and the rows involved, and be clean
again once the corruption is undone.
"""

import os
import subprocess
from contextlib import contextmanager

import pytest

from alipay import Shop, age_order, assert_notify_answer, fake_trade_no, notification, post_notify
from conftest import ENV, Client, assert_audit_clean, db_connect, db_rows, grant_credit, run_audit
from ordering import ORDER_TIMEOUT, run_sweep


class Books:
    """This module's purchases, made through the API and settled through signed notifications."""

    def __init__(self):
        self.client = Client()
        self.shop = Shop(self.client)
        self.conn = db_connect()

    def pay(self, p):
        params = notification(p.number, p.amount_text)
        assert_notify_answer(post_notify(params), "success")
        return params["trade_no"]

    def credit_purchase(self):
        p = self.shop.purchase("credit", credit=50, balance=500)
        grant_credit(self.conn, p.user_id, 500)
        return p

    def build(self):
        shop = self.shop
        self.plain = shop.purchase("plain")
        self.plain_trade = self.pay(self.plain)
        self.coupon = shop.purchase("coupon")
        self.pay(self.coupon)
        self.credit = self.credit_purchase()
        self.pay(self.credit)
        self.cancelled = shop.purchase("plain")
        assert shop.cancel(self.cancelled).status_code == 200
        self.cancelled_credit = self.credit_purchase()
        assert shop.cancel(self.cancelled_credit).status_code == 200
        self.unpaid = shop.purchase("plain")
        self.timed_out = shop.purchase("coupon")
        age_order(self.conn, self.timed_out.id, ORDER_TIMEOUT + 60)
        run_sweep()
        assert self.status(self.timed_out.id) == 3
        # paid after it was cancelled: acknowledged, recorded for refund, never applied
        self.late = shop.purchase("plain")
        assert shop.cancel(self.late).status_code == 200
        self.late_trade = self.pay(self.late)
        (self.late_refund,), = db_rows(self.conn, "SELECT id FROM ly_refund WHERE trade_no = %s",
                                       (self.late_trade,))
        (self.late_notification,), = db_rows(self.conn, "SELECT id FROM ly_alipay_notification WHERE trade_no = %s",
                                             (self.late_trade,))
        return self

    def status(self, order_id):
        return db_rows(self.conn, "SELECT order_status FROM ly_order WHERE id = %s", (order_id,))[0][0]

    def order_courses(self, order_id):
        return [r[0] for r in db_rows(self.conn, "SELECT id FROM ly_order_course WHERE order_id = %s ORDER BY id",
                                      (order_id,))]

    def close(self):
        try:
            self.shop.cleanup()
        finally:
            self.conn.close()
            self.client.close()


@pytest.fixture(scope="module")
def books():
    b = Books()
    try:
        yield b.build()
    finally:
        b.close()


def execute(conn, statements):
    ids = []
    with conn.cursor() as cur:
        for sql, args in statements:
            cur.execute(sql, args)
            ids.append(cur.lastrowid)
    return ids


@contextmanager
def corrupted(books, change, undo):
    """Commits `change` (a list of (sql, args)), yields the ids it inserted, then commits `undo`."""
    try:
        yield execute(books.conn, change)
    finally:
        execute(books.conn, undo)


def assert_violation(invariant, *fragments):
    """Exit 1 and a line `<invariant>: …` containing every fragment (the ids and values involved)."""
    status, lines, err = run_audit()
    assert status == 1, f"audit exited {status}: {lines} {err.strip()}"
    mine = [line for line in lines if line.startswith(invariant + ": ")]
    assert any(all(f in line for f in fragments) for line in mine), \
        f"no `{invariant}` line with {fragments}: {lines}"
    assert lines[-1].startswith("audit: ") and "violation" in lines[-1], lines
    return mine


def test_clean_books_audit_clean(books):
    assert books.status(books.plain.id) == 1 and books.status(books.cancelled.id) == 2
    assert books.status(books.late.id) == 2 and books.status(books.unpaid.id) == 0
    assert_audit_clean()


def test_order_total(books):
    course_row = books.order_courses(books.plain.id)[0]
    change = "UPDATE ly_order_course SET real_price = real_price + %s WHERE id = %s"
    with corrupted(books, [(change, (1, course_row))], [(change, (-1, course_row))]):
        assert_violation("order_total", f"order_id={books.plain.id} ", f"total_price={books.plain.amount_text} ")
    assert_audit_clean()


@pytest.mark.parametrize("real_price", ["-0.01", "total+0.01"])
def test_order_price_range(books, real_price):
    order = books.cancelled.id
    value = "total_price + 0.01" if real_price.startswith("total") else real_price
    with corrupted(books, [(f"UPDATE ly_order SET real_price = {value} WHERE id = %s", (order,))],
                   [("UPDATE ly_order SET real_price = total_price WHERE id = %s", (order,))]):
        assert_violation("order_price_range", f"order_id={order} ")
    assert_audit_clean()


@pytest.mark.parametrize("which", ["coupon", "credit"])
def test_order_discount(books, which):
    p = getattr(books, which)
    change = "UPDATE ly_order SET real_price = real_price + %s WHERE id = %s"
    with corrupted(books, [(change, ("-0.01", p.id))], [(change, ("0.01", p.id))]):
        source = f"coupon_log_id={p.coupon_log}" if which == "coupon" else f"credit={p.credit}"
        lines = assert_violation("order_discount", f"order_id={p.id} ", source)
        expected = "30.00" if which == "coupon" else "5.00"
        assert any(f"expected={expected} " in line for line in lines), lines
    assert_audit_clean()


def test_coupon_bound_to_two_live_orders(books):
    """The coupon of a paid order moved to another live order: the paid order keeps a discount no
    coupon stands behind any more."""
    log, paid, other = books.coupon.coupon_log, books.coupon.id, books.unpaid.id
    move = "UPDATE ly_coupon_log SET order_id = %s WHERE id = %s"
    with corrupted(books, [(move, (other, log))], [(move, (paid, log))]):
        assert_violation("coupon_binding", f"order_id={paid} ", "without its coupon")
    assert_audit_clean()


def test_two_coupons_bound_to_one_order(books):
    t = books.shop.t
    second = t.coupon_log(books.coupon.user_id, t.coupons[0], use_status=1, order_id=books.coupon.id)
    try:
        assert_violation("coupon_binding", f"order_id={books.coupon.id} ",
                         f"coupon_log_ids={min(books.coupon.coupon_log, second)},{max(books.coupon.coupon_log, second)}")
    finally:
        execute(books.conn, [("UPDATE ly_coupon_log SET order_id = NULL WHERE id = %s", (second,))])
    assert_audit_clean()


def test_coupon_of_a_paid_order_not_used(books):
    log = books.coupon.coupon_log
    mark = "UPDATE ly_coupon_log SET use_status = %s WHERE id = %s"
    with corrupted(books, [(mark, (0, log))], [(mark, (1, log))]):
        assert_violation("coupon_binding", f"order_id={books.coupon.id} ", f"coupon_log_ids={log} ", "use_status 0")
    assert_audit_clean()


def test_credit_non_negative(books):
    user = books.credit.user_id
    with corrupted(books, [("UPDATE ly_users SET credit = -5 WHERE id = %s", (user,))],
                   [("UPDATE ly_users SET credit = 450 WHERE id = %s", (user,))]):
        assert_violation("credit_non_negative", f"user_id={user} credit=-5")
    assert_audit_clean()


def test_credit_balance(books):
    user = books.cancelled_credit.user_id
    change = "UPDATE ly_users SET credit = credit + %s WHERE id = %s"
    with corrupted(books, [(change, (7, user))], [(change, (-7, user))]):
        assert_violation("credit_balance", f"user_id={user} credit=507 ledger=500 held_by_unpaid_orders=0 expected=500")
    assert_audit_clean()


def test_credit_spent_twice(books):
    p = books.credit
    spend = ("INSERT INTO ly_credit (name, is_deleted, orders, is_show, created_time, updated_time, operation, number, "
             "remark, user_id) VALUES ('购物消费', 0, 0, 1, NOW(6), NOW(6), 1, %s, %s, %s)")
    with corrupted(books, [(spend, (-p.credit, f"购买课程,订单号: {p.number}", p.user_id))], []) as (row,):
        try:
            assert_violation("credit_ledger", f"order_id={p.id} ", f",{row} ", f"numbers=-{p.credit},-{p.credit}")
        finally:
            execute(books.conn, [("DELETE FROM ly_credit WHERE id = %s", (row,))])
    assert_audit_clean()


def test_paid_order_grants(books):
    p = books.plain
    hide = "UPDATE ly_user_course SET is_deleted = %s WHERE user_id = %s AND course_id = %s"
    with corrupted(books, [(hide, (1, p.user_id, p.course_ids[0]))], [(hide, (0, p.user_id, p.course_ids[0]))]):
        assert_violation("paid_order_grants", f"order_id={p.id} user_id={p.user_id} missing_course_ids={p.course_ids[0]}")
    assert_audit_clean()


def test_grant_without_order(books):
    p = books.cancelled
    grant = ("INSERT INTO ly_user_course (name, is_deleted, orders, is_show, created_time, updated_time, study_time, "
             "chapter_id, course_id, lesson_id, user_id, trade_no, buy_type, pay_time, out_time) "
             "VALUES ('未支付的课程', 0, 0, 1, NOW(6), NOW(6), 0, NULL, %s, NULL, %s, NULL, 1, NOW(6), NULL)")
    with corrupted(books, [(grant, (p.course_ids[0], p.user_id))],
                   [("DELETE FROM ly_user_course WHERE user_id = %s AND course_id = %s",
                     (p.user_id, p.course_ids[0]))]) as (row,):
        assert_violation("grant_without_order", f"user_course_id={row} user_id={p.user_id} course_id={p.course_ids[0]}")
    assert_audit_clean()


def test_course_students(books):
    course = books.plain.course_ids[1]
    change = "UPDATE ly_course SET students = students + %s WHERE id = %s"
    with corrupted(books, [(change, (1, course))], [(change, (-1, course))]):
        assert_violation("course_students", f"course_id={course} students=2 expected=1 baseline_students=0 grants=1")
    assert_audit_clean()


def copy_as_paid_order(books, p, trade_no=None):
    """A second paid order of `p`'s user with the same courses (what paying two orders of one course did)."""
    order_id, = execute(books.conn, [(
        "INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price, "
        "order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no) "
        "SELECT name, 0, 0, 1, NOW(6), NOW(6), total_price, real_price, CONCAT(order_number, '2'), 1, pay_type, NULL, "
        "NOW(6), 0, user_id, %s FROM ly_order WHERE id = %s", (trade_no, p.id))])
    execute(books.conn, [(
        "INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, real_price, "
        "discount_name, course_id, order_id) SELECT name, 0, 0, 1, NOW(6), NOW(6), price, real_price, discount_name, "
        "course_id, %s FROM ly_order_course WHERE order_id = %s ORDER BY id", (order_id, p.id))])
    return order_id


def delete_order(books, order_id):
    execute(books.conn, [("DELETE FROM ly_order_course WHERE order_id = %s", (order_id,)),
                         ("DELETE FROM ly_order WHERE id = %s", (order_id,))])


def test_one_course_paid_by_two_orders(books):
    p = books.plain
    second = copy_as_paid_order(books, p)
    try:
        assert_violation("order_settled_once", f"order_ids={p.id},{second} user_id={p.user_id} course_id={p.course_ids[0]}")
    finally:
        delete_order(books, second)
    assert_audit_clean()


REFUND = ("INSERT INTO ly_refund (out_request_no, order_id, order_number, order_seq, trade_no, amount, reason, source, "
          "state, payment_source, attempts, created_time, updated_time) SELECT CONCAT('R', order_number, '-', %s), id, "
          "order_number, %s, %s, %s, %s, %s, 'approved', 'query', 0, NOW(6), NOW(6) FROM ly_order WHERE id = %s")
DELETE_REFUNDS = ("DELETE r, rc, e FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id "
                  "LEFT JOIN ly_refund_event e ON e.refund_id = r.id WHERE r.trade_no = %s")


def second_order_with_owned_refund(books, courses, check):
    """A second paid order of the plain order's courses, its trade refunded as course_already_owned
    for each of `courses` (a refund holding that order course); runs `check(second)`."""
    trade = fake_trade_no()
    second = copy_as_paid_order(books, books.plain, trade_no=trade)
    try:
        for seq, course in enumerate(courses, 1):
            (share,), = db_rows(books.conn, "SELECT real_price FROM ly_order_course WHERE order_id = %s AND course_id = %s",
                                (second, course))
            execute(books.conn, [
                (REFUND, (seq, seq, trade, share, "course_already_owned", "course_owned", second)),
                ("INSERT INTO ly_refund_course (refund_id, order_course_id, course_id, amount, live_key) "
                 "SELECT LAST_INSERT_ID(), id, course_id, real_price, id FROM ly_order_course "
                 "WHERE order_id = %s AND course_id = %s", (second, course))])
        try:
            check(second)
        finally:
            execute(books.conn, [(DELETE_REFUNDS, (trade,))])
    finally:
        delete_order(books, second)
    assert_audit_clean()


def test_second_order_refunded_as_already_owned_is_legitimate(books):
    """Settlement records the share of a course the buyer already owned for refund
    (reason course_already_owned) instead of granting it again: that is the books being right."""
    second_order_with_owned_refund(books, books.plain.course_ids, lambda second: assert_audit_clean())


def test_owned_refund_for_another_course_does_not_excuse(books):
    """A course_already_owned refund excuses only the course it names (sql/015): with the first
    course's share refunded, the second course paid by two orders is still a violation."""
    p = books.plain
    first, other = p.course_ids[0], p.course_ids[1]
    second_order_with_owned_refund(books, [first], lambda second: assert_violation(
        "order_settled_once", f"order_ids={p.id},{second} user_id={p.user_id} course_id={other}"))


def test_refunded_amount_without_its_refunds(books):
    p = books.plain
    change = "UPDATE ly_order SET refunded_amount = %s WHERE id = %s"
    with corrupted(books, [(change, ("1.00", p.id))], [(change, ("0.00", p.id))]):
        assert_violation("refund_amounts", f"order_id={p.id} ", "refunded_amount=1.00 succeeded=0")
    assert_audit_clean()


def test_refund_course_not_held_by_a_live_refund(books):
    """The late payment's refund is approved: an order course it covered would be held (live_key)."""
    course, = books.order_courses(books.late.id)[:1]
    row = ("INSERT INTO ly_refund_course (refund_id, order_course_id, course_id, amount, live_key) "
           "SELECT %s, id, course_id, real_price, NULL FROM ly_order_course WHERE id = %s")
    with corrupted(books, [(row, (books.late_refund, course))], []) as (row_id,):
        try:
            assert_violation("refund_course_held", f"refund_id={books.late_refund} state=approved order_course_id={course} ",
                             "live_key does not follow the state")
        finally:
            execute(books.conn, [("DELETE FROM ly_refund_course WHERE id = %s", (row_id,))])
    assert_audit_clean()


def test_payment_refund_row_not_migrated(books):
    """A "to refund" record in the old table (an older binary's) without its refund (sql/019)."""
    p = books.late
    old = ("INSERT INTO ly_payment_refund (order_id, order_number, trade_no, course_id, total_amount, reason, source, "
           "refund_status, created_time, updated_time) VALUES (%s, %s, %s, 0, %s, 'order_cancelled', 'notify', 0, "
           "NOW(6), NOW(6))")
    with corrupted(books, [(old, (p.id, p.number, fake_trade_no(), p.amount_text))], []) as (row,):
        try:
            assert_violation("payment_refund_migrated", f"payment_refund_id={row} order_id={p.id} ")
        finally:
            execute(books.conn, [("DELETE FROM ly_payment_refund WHERE id = %s", (row,))])
    assert_audit_clean()


def test_order_settled_by_two_notifications(books):
    copy = ("INSERT INTO ly_alipay_notification (notify_id, out_trade_no, trade_no, trade_status, total_amount, params, "
            "outcome, order_id, created_time) SELECT CONCAT(notify_id, 'x'), out_trade_no, trade_no, trade_status, "
            "total_amount, params, 'settled', order_id, NOW(6) FROM ly_alipay_notification WHERE trade_no = %s")
    with corrupted(books, [(copy, (books.plain_trade,))], []) as (row,):
        try:
            assert_violation("order_settled_once", f"order_ids={books.plain.id} ", "2 notifications settled it", f",{row}")
        finally:
            execute(books.conn, [("DELETE FROM ly_alipay_notification WHERE id = %s", (row,))])
    assert_audit_clean()


def test_paying_trade_also_refunded(books):
    p = books.plain
    refund = (REFUND, (1, 1, books.plain_trade, p.amount_text, "duplicate_payment", "duplicate_payment", p.id))
    with corrupted(books, [refund], []) as (row,):
        try:
            assert_violation("order_settled_once", f"order_ids={p.id} ", f"paid by trade {books.plain_trade} that refund {row}")
        finally:
            execute(books.conn, [(DELETE_REFUNDS, (books.plain_trade,))])
    assert_audit_clean()


def test_notification_neither_applied_nor_recorded(books):
    p, trade = books.plain, books.plain_trade
    change = "UPDATE ly_order SET trade_no = %s WHERE id = %s"
    with corrupted(books, [(change, (trade + "9", p.id))], [(change, (trade, p.id))]):
        assert_violation("notification_applied", f"order_id={p.id} trade_no={trade} ", "neither applied nor recorded")
    assert_audit_clean()


def test_acknowledged_notification_not_stored(books):
    """The refund of a payment that reached a cancelled order came from a notification, which must
    be stored (it was acknowledged with `success`)."""
    change = "UPDATE ly_alipay_notification SET trade_no = %s WHERE id = %s"
    with corrupted(books, [(change, ("2000" + books.late_trade, books.late_notification))],
                   [(change, (books.late_trade, books.late_notification))]):
        assert_violation("notification_applied", f"order_id={books.late.id} trade_no={books.late_trade} ",
                         f"refund {books.late_refund} from a notification that is not stored")
    assert_audit_clean()


def test_cannot_run_exits_2():
    env = dict(os.environ)
    env["LUFFY_CONFIG"] = ENV["config"]
    env["LUFFY_DB_PASSWORD"] = "not-the-password"
    out = subprocess.run([ENV["app_bin"], "audit"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stdout == "" and "Access denied" in out.stderr, (out.stdout, out.stderr)
