"""README, "Validity periods": a course sold for 30 days, 90 days or for ever, each at its own price
(`ly_course_expire`, sql/024), through nginx, the real MariaDB and signed notifications.

* The catalogue: `GET /courses/<id>/periods` without a token, the offered periods shortest first,
  permanent last, each priced by the course's running activity; hidden, deleted and day-less
  options are not offered.
* Orders: `periods` in `POST /orders` (course id -> period id, 0 or absent = permanent) and in
  `GET /coupon/enable` (`periods=<course>:<period>,…`); the period's price is the line's list price
  and every rule (activity, coupon target and condition, credit caps, `expected_real_price`)
  works from it; `period_not_found` writes nothing.
* Settlement: `out_time` = the order's pay time + days (shop time); a purchase whose access ran out
  is renewed in its row (no second row, no second student); a running one refuses a new order and
  a payment that arrives anyway is refunded (course_already_owned), so permanent access is never
  shortened by a timed purchase.
* Shown: `/user/order` lines and the return's `course_list` carry `expire_text`.

Expected prices are computed here from the rows the test writes (ordering.Offer), never copied from
an answer. Every row belongs to a throwaway user or course (alipay.Shop).
"""

from datetime import datetime, timedelta

import pytest
import requests

from alipay import (age_order, assert_notify_answer, get_result, notification, pay_through_cashier, post_notify,
                    refunds, result_query, shop, wait_for)
from conftest import BASE_URL, assert_audit_clean, assert_error, assert_json_response, auth, db_rows
from ordering import ORDER_TIMEOUT, SHOP_TZ, D, Offer, assert_two_decimals, loads, new_key, post_order, quote, \
    scalar, snapshot

__all__ = ["shop"]  # the fixture, imported for pytest

PERMANENT = "永久有效"
LINE_PERIOD_KEYS = {"course_id", "course_name", "price", "real_price", "discount_name", "expire_id", "expire_time",
                    "expire_text"}
# the dev data's running activity rules by discount id (ordering.ACTIVITIES has them by course)
EIGHTY_PERCENT = ("*0.8", 0, "限时折扣")            # discount 1
HUNDRED_OFF_FROM_1000 = ("-100", 1000, "限时减免")   # discount 2


class Periods:
    """ly_course_expire rows of throwaway courses, removed after the test."""

    def __init__(self, conn):
        self.conn = conn
        self.ids = []

    def add(self, course_id, days, price, text="", *, is_show=1, is_deleted=0):
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO ly_course_expire (name, is_deleted, orders, is_show, created_time, updated_time, "
                "course_id, expire_time, expire_text, price) VALUES ('测试有效期', %s, 1, %s, NOW(6), NOW(6), %s, %s, %s, %s)",
                (is_deleted, is_show, course_id, days, text if text != "" else f"{days}天", price))
            self.ids.append(cur.lastrowid)
            return cur.lastrowid

    def cleanup(self):
        with self.conn.cursor() as cur:
            for pid in self.ids:
                cur.execute("DELETE FROM ly_course_expire WHERE id = %s", (pid,))


@pytest.fixture
def periods(shop):
    p = Periods(shop.conn)
    yield p
    p.cleanup()


def order_body(course_ids, chosen=None, **extra):
    body = {"course_ids": course_ids, "pay_type": 0, "user_coupon_id": -1, "credit": 0}
    if chosen is not None:
        body["periods"] = {str(cid): pid for cid, pid in chosen.items()}
    body.update(extra)
    return body


def create(shop, user_id, body, status=201):
    r = post_order(shop.client, user_id, body)
    assert r.status_code == status, f"POST /orders {body}: {r.status_code} {r.text[:400]}"
    order = loads(r.text)
    if status == 201:
        shop.numbers.append(order["order_number"])
    return r, order


def settle_by_notify(order):
    """Alipay's notification of the order's payment (signed with the sandbox's key); its trade_no."""
    params = notification(order["order_number"], f"{order['real_price']:.2f}")
    assert_notify_answer(post_notify(params), "success")
    return params["trade_no"]


def grants(conn, user_id, course_id):
    return db_rows(conn, "SELECT id, is_deleted, trade_no, pay_time, out_time FROM ly_user_course "
                         "WHERE user_id = %s AND course_id = %s", (user_id, course_id))


def order_pay_time(conn, order_id):
    return scalar(conn, "SELECT pay_time FROM ly_order WHERE id = %s", (order_id,))


def students(conn, course_id):
    return scalar(conn, "SELECT CAST(c.students + COALESCE((SELECT SUM(d.students) FROM ly_course_students_delta d "
                        "WHERE d.course_id = c.id), 0) AS SIGNED) FROM ly_course c WHERE c.id = %s", (course_id,))


def run_out(conn, user_id, course_id, order_id, days):
    """The purchase as if it had been paid `days` + 1 days ago: its access has run out."""
    with conn.cursor() as cur:
        cur.execute("UPDATE ly_order SET pay_time = pay_time - INTERVAL %s DAY WHERE id = %s", (days + 1, order_id))
        cur.execute("UPDATE ly_user_course SET pay_time = pay_time - INTERVAL %s DAY, out_time = out_time - INTERVAL %s DAY "
                    "WHERE user_id = %s AND course_id = %s", (days + 1, days + 1, user_id, course_id))


# ---------------------------------------------------------------- the catalogue
def test_the_catalogue_lists_the_offered_periods_with_activity_prices(shop, periods):
    t = shop.t
    course = t.course("1200.00", discount_id=2, name="有效期测试课程")
    month = periods.add(course, 30, "199.00", "一个月有效")
    year = periods.add(course, 365, "1100.00", "一年有效")
    quarter = periods.add(course, 90, "499.00", None)      # the 1.x model allows no text
    periods.add(course, 7, "29.00", is_show=0)
    periods.add(course, 14, "49.00", is_deleted=1)
    periods.add(course, None, "9.00")                      # no days: no period
    periods.add(course, 0, "9.00")
    periods.add(t.course("300.00"), 30, "30.00")           # another course's

    r = requests.get(f"{BASE_URL}/courses/{course}/periods", timeout=10)   # no token
    body = assert_json_response(r, 200)
    assert "max-age" in r.headers.get("Cache-Control", ""), r.headers
    assert_two_decimals(r.text, ("price", "real_price"))
    expected = []
    for pid, days, price, text in [(month, 30, "199.00", "一个月有效"), (quarter, 90, "499.00", "90天有效"),
                                   (year, 365, "1100.00", "一年有效"), (0, 0, "1200.00", PERMANENT)]:
        offer = Offer(course, D(price), activity=HUNDRED_OFF_FROM_1000)
        expected.append({"id": pid, "expire_time": days, "expire_text": text, "price": float(offer.price),
                         "real_price": float(offer.real), "discount_name": offer.discount_name})
    assert body == {"course_id": course, "course_name": "有效期测试课程", "periods": expected}, body
    # 199 and 499 are under the activity's condition of 1000 yuan; 1100 and 1200 meet it
    assert [p["discount_name"] for p in body["periods"]] == ["", "", "限时减免", "限时减免"], body


def test_a_course_without_options_sells_permanently(shop):
    course = shop.t.course("399.00", discount_id=1)
    body = assert_json_response(requests.get(f"{BASE_URL}/courses/{course}/periods", timeout=10), 200)
    assert body["periods"] == [{"id": 0, "expire_time": 0, "expire_text": PERMANENT, "price": 399.0,
                                "real_price": 319.2, "discount_name": "限时折扣"}], body


@pytest.mark.parametrize("path", ["/courses/11/periods", "/courses/12/periods", "/courses/999999999/periods",
                                  "/courses/0/periods", "/courses/-1/periods", "/courses/abc/periods",
                                  "/courses/99999999999999999999/periods", "/courses/1.5/periods"])
def test_the_catalogue_finds_no_course_not_on_sale(path):
    # 11 is hidden and 12 deleted in the dev data
    assert_error(requests.get(BASE_URL + path, timeout=10), 404, "course_not_found")


def test_a_course_without_a_price_is_not_on_sale(shop):
    course = shop.t.course("10.00")
    with shop.conn.cursor() as cur:
        cur.execute("UPDATE ly_course SET price = NULL WHERE id = %s", (course,))
    assert_error(requests.get(f"{BASE_URL}/courses/{course}/periods", timeout=10), 404, "course_not_found")


# ---------------------------------------------------------------- orders
def test_each_line_is_priced_from_its_period(shop, periods):
    t = shop.t
    eighty = t.course("599.00", discount_id=1)
    hundred_off = t.course("1499.00", discount_id=2)
    plain = t.course("399.00")
    eighty_month = periods.add(eighty, 30, "99.00", "一个月有效")
    off_quarter = periods.add(hundred_off, 90, "699.00", "三个月有效")
    off_year = periods.add(hundred_off, 365, "1199.00", "一年有效")
    offers = [Offer(eighty, D("99.00"), activity=EIGHTY_PERCENT), Offer(hundred_off, D("1199.00"), activity=HUNDRED_OFF_FROM_1000),
              Offer(plain, D("399.00"))]
    figures = quote(offers)
    user = t.user()
    # mixed: two timed lines and a permanent one (0), with the total the buyer was shown
    body = order_body([eighty, hundred_off, plain], {eighty: eighty_month, hundred_off: off_year, plain: 0},
                      expected_real_price=float(figures["real_price"]))
    r, order = create(shop, user, body)
    assert_two_decimals(r.text)
    assert {k: order[k] for k in figures} == figures, order
    lines = order["order_courses"]
    assert all(set(line) == LINE_PERIOD_KEYS for line in lines), lines
    assert [(l["course_id"], l["price"], l["real_price"], l["discount_name"], l["expire_id"], l["expire_time"],
             l["expire_text"]) for l in lines] == [
        (eighty, D("99.00"), D("79.20"), "限时折扣", eighty_month, 30, "一个月有效"),
        (hundred_off, D("1199.00"), D("1099.00"), "限时减免", off_year, 365, "一年有效"),
        (plain, D("399.00"), D("399.00"), "", 0, 0, PERMANENT)], lines
    assert db_rows(shop.conn, "SELECT course_id, price, real_price, discount_name, expire_time, expire_text "
                              "FROM ly_order_course WHERE order_id = %s ORDER BY id", (order["id"],)) == (
        (eighty, D("99.00"), D("79.20"), "限时折扣", 30, "一个月有效"),
        (hundred_off, D("1199.00"), D("1099.00"), "限时减免", 365, "一年有效"),
        (plain, D("399.00"), D("399.00"), "", 0, PERMANENT))

    # 699 is under the activity's condition: the list price stands; a stale total is refused
    other = t.user()
    stale = order_body([hundred_off], {hundred_off: off_quarter}, expected_real_price=1399.00)
    r, refused = create(shop, other, stale, status=409)
    assert refused["code"] == "price_changed" and refused["real_price"] == D("699.00"), refused
    r, order = create(shop, other, order_body([hundred_off], {hundred_off: off_quarter}))
    assert (order["total_price"], order["order_courses"][0]["discount_name"]) == (D("699.00"), ""), order


def test_a_client_without_periods_gets_the_answer_it_always_got(shop, periods):
    t = shop.t
    course = t.course("998.00", credit=100)
    periods.add(course, 30, "199.00", "一个月有效")
    r, order = create(shop, t.user(), order_body([course]))
    assert [set(line) for line in order["order_courses"]] == \
        [{"course_id", "course_name", "price", "real_price", "discount_name"}], order
    assert (order["total_price"], order["real_price"]) == (D("998.00"), D("998.00")), order
    assert db_rows(shop.conn, "SELECT expire_time, expire_text FROM ly_order_course WHERE order_id = %s",
                   (order["id"],)) == ((0, PERMANENT),)


def test_coupon_and_credit_work_from_the_period_prices(shop, periods):
    t = shop.t
    course = t.course("998.00", credit=100)
    month = periods.add(course, 30, "199.00", "一个月有效")
    cheap = periods.add(course, 7, "5.00", "一周有效")
    user = t.user()
    thirty_off = t.coupon("-30", 1, condition=100)
    over_200 = t.coupon("-30", 1, condition=200)
    logs = {t.coupon_log(user, thirty_off): thirty_off, t.coupon_log(user, over_200): over_200}

    def discounts(query):
        body = assert_json_response(shop.client.get(f"/coupon/enable?{query}", headers=auth(user)), 200)
        return sorted(c["discount_price"] for c in body["coupon_list"])

    # permanent (998): both coupons apply; for the 199 period only the one whose condition it meets
    assert discounts(f"course_ids={course}") == [30.0, 30.0]
    assert discounts(f"course_ids={course}&periods={course}:{month}") == [30.0]
    log = next(log for log, coupon in logs.items() if coupon == thirty_off)
    r, order = create(shop, user, order_body([course], {course: month}, user_coupon_id=log))
    assert (order["total_price"], order["discount_price"], order["real_price"]) == \
        (D("199.00"), D("30.00"), D("169.00")), order

    # credit: at most what the line is worth (5 yuan = 50 credits at the dev ratio of 10)
    rich = t.user(credit=5000)
    cap = lambda query: assert_json_response(  # noqa: E731
        shop.client.get(f"/coupon/enable?{query}", headers=auth(rich)), 200)["max_use_credit"]
    assert cap(f"course_ids={course}") == 100
    assert cap(f"course_ids={course}&periods={course}:{cheap}") == 50
    before = snapshot(shop.conn, rich)
    r, refused = create(shop, rich, order_body([course], {course: cheap}, credit=60), status=400)
    assert refused["code"] == "credit_over_limit", refused
    assert snapshot(shop.conn, rich) == before
    # 50 credits pay it all: a free order, settled at once, for its period
    r, order = create(shop, rich, order_body([course], {course: cheap}, credit=50))
    assert (order["real_price"], order["order_status"]) == (D("0.00"), 1), order
    ((_, _, _, pay_time, out_time),) = grants(shop.conn, rich, course)
    assert pay_time == order_pay_time(shop.conn, order["id"]) and out_time == pay_time + timedelta(days=7)


@pytest.mark.parametrize("case", ["other_course", "hidden", "deleted", "unknown", "no_days"])
def test_a_period_the_course_does_not_offer_changes_nothing(shop, periods, case):
    t = shop.t
    course = t.course("500.00")
    other = t.course("600.00")
    period = {
        "other_course": lambda: periods.add(other, 30, "60.00"),
        "hidden": lambda: periods.add(course, 30, "50.00", is_show=0),
        "deleted": lambda: periods.add(course, 30, "50.00", is_deleted=1),
        "unknown": lambda: 2 ** 62,
        "no_days": lambda: periods.add(course, None, "50.00"),
    }[case]()
    user = t.user()
    before = snapshot(shop.conn, user)
    r, body = create(shop, user, order_body([other, course], {course: period}), status=400)
    assert body["code"] == "period_not_found" and body["course_ids"] == [course], body
    r = shop.client.get(f"/coupon/enable?course_ids={course}&periods={course}:{period}", headers=auth(user))
    assert_error(r, 400, "period_not_found")
    assert snapshot(shop.conn, user) == before


@pytest.mark.parametrize("periods_value", [
    [1], "1:2", {"1": "2"}, {"1": -1}, {"1": 1.5}, {"1": None}, {"01": 2}, {"+1": 2}, {"x": 2}, {"": 2},
    {"2": 3},   # a course the order does not buy
])
def test_malformed_periods_are_invalid_body(shop, periods_value):
    user = shop.t.user()
    before = snapshot(shop.conn, user)
    r = post_order(shop.client, user, {"course_ids": [1], "periods": periods_value})
    assert_error(r, 400, "invalid_body")
    assert snapshot(shop.conn, user) == before


@pytest.mark.parametrize("query", ["periods=1", "periods=1:", "periods=:3", "periods=1:x", "periods=2:1",
                                   "periods=1:2,1:3", "periods=1:-1"])
def test_malformed_period_lists_are_invalid_body(client, query):
    assert_error(client.get(f"/coupon/enable?course_ids=1&{query}", headers=auth(2)), 400, "invalid_body")


def test_an_idempotency_key_is_bound_to_the_period(shop, periods):
    t = shop.t
    course = t.course("300.00")
    month = periods.add(course, 30, "30.00")
    user = t.user()
    key = new_key("period")
    r = post_order(shop.client, user, order_body([course], {course: month}), key=key)
    assert r.status_code == 201, r.text
    shop.numbers.append(loads(r.text)["order_number"])
    assert post_order(shop.client, user, order_body([course], {course: month}), key=key).text == r.text
    assert_error(post_order(shop.client, user, order_body([course]), key=key), 422)


# ---------------------------------------------------------------- settlement: out_time and renewal
def test_a_timed_purchase_runs_from_the_pay_time(shop, periods):
    t = shop.t
    timed, forever = t.course("300.00"), t.course("400.00")
    month = periods.add(timed, 30, "30.00", "一个月有效")
    user = t.user()
    _, order = create(shop, user, order_body([timed, forever], {timed: month}))
    trade_no = settle_by_notify(order)
    paid_at = order_pay_time(shop.conn, order["id"])
    # shop time: the database session's zone is the shop's
    assert abs((datetime.now(SHOP_TZ).replace(tzinfo=None) - paid_at).total_seconds()) < 300, paid_at
    ((_, deleted, row_trade, pay_time, out_time),) = grants(shop.conn, user, timed)
    assert (deleted, row_trade, pay_time, out_time) == (0, trade_no, paid_at, paid_at + timedelta(days=30))
    ((_, _, _, pay_time, out_time),) = grants(shop.conn, user, forever)
    assert (pay_time, out_time) == (paid_at, None)
    assert (students(shop.conn, timed), students(shop.conn, forever)) == (1, 1)

    # shown with its period: the order list and the return's course list
    listed = assert_json_response(shop.client.get("/user/order?page=1&size=5", headers=auth(user)), 200)
    (mine,) = [o for o in listed["results"] if o["id"] == order["id"]]
    assert sorted((c["course_id"], c["expire_text"]) for c in mine["order_courses"]) == \
        sorted([(timed, "一个月有效"), (forever, PERMANENT)]), mine


def test_the_return_page_lists_each_course_with_its_period(shop, periods):
    t = shop.t
    timed = t.course("300.00")
    quarter = periods.add(timed, 90, "80.00", "三个月有效")
    user = t.user()
    _, order = create(shop, user, order_body([timed], {timed: quarter}))
    location = pay_through_cashier(shop.client, user, order["order_number"], notify=False)
    body = assert_json_response(get_result(result_query(location)), 200)
    assert [(c["id"], c["expire_text"]) for c in body["course_list"]] == [(timed, "三个月有效")], body


def test_a_purchase_whose_access_ran_out_is_renewed_in_its_row(shop, periods):
    t = shop.t
    course = t.course("300.00")
    month = periods.add(course, 30, "30.00", "一个月有效")
    quarter = periods.add(course, 90, "80.00", "三个月有效")
    user = t.user()
    _, first = create(shop, user, order_body([course], {course: month}))
    settle_by_notify(first)
    ((row_id, _, _, _, _),) = grants(shop.conn, user, course)

    # while access runs: refused, by POST /orders and coupon/enable alike, nothing written
    before = snapshot(shop.conn, user)
    r, body = create(shop, user, order_body([course], {course: quarter}), status=400)
    assert body["code"] == "course_already_purchased" and body["course_ids"] == [course], body
    assert_error(shop.client.get(f"/coupon/enable?course_ids={course}", headers=auth(user)), 400,
                 "course_already_purchased")
    assert snapshot(shop.conn, user) == before

    run_out(shop.conn, user, course, first["id"], 30)
    _, second = create(shop, user, order_body([course], {course: quarter}))
    trade_no = settle_by_notify(second)
    paid_at = order_pay_time(shop.conn, second["id"])
    assert grants(shop.conn, user, course) == ((row_id, 0, trade_no, paid_at, paid_at + timedelta(days=90)),)
    assert students(shop.conn, course) == 1         # the same buyer, counted once
    assert refunds(shop.conn, second["order_number"]) == []

    # and run out again, renewed for ever
    run_out(shop.conn, user, course, second["id"], 90)
    _, third = create(shop, user, order_body([course]))
    trade_no = settle_by_notify(third)
    paid_at = order_pay_time(shop.conn, third["id"])
    assert grants(shop.conn, user, course) == ((row_id, 0, trade_no, paid_at, None),)
    assert students(shop.conn, course) == 1


def test_permanent_access_is_never_shortened_by_a_timed_payment(shop, periods):
    """A timed order made before the permanent one (and left to time out unswept) is paid after
    it: the course is owned for ever, so that payment's share is refunded, the row untouched."""
    t = shop.t
    course, other = t.course("300.00"), t.course("120.00")
    month = periods.add(course, 30, "30.00", "一个月有效")
    user = t.user()
    _, timed = create(shop, user, order_body([course, other], {course: month}))
    age_order(shop.conn, timed["id"], ORDER_TIMEOUT + 60)
    _, forever = create(shop, user, order_body([course]))
    trade_no = settle_by_notify(forever)
    paid_at = order_pay_time(shop.conn, forever["id"])
    settle_by_notify(timed)
    assert [row[1:] for row in grants(shop.conn, user, course)] == [(0, trade_no, paid_at, None)]
    owed = refunds(shop.conn, timed["order_number"])
    # the timed line's share is its own line price (no discount on the order)
    assert [(r["amount"], r["reason"]) for r in owed] == [(D("30.00"), "course_already_owned")], owed
    assert students(shop.conn, course) == 1 and students(shop.conn, other) == 1


def test_a_refund_of_a_run_out_purchase_leaves_its_renewal(shop, periods):
    """The first order's trade is refunded after the course was bought again: the purchase row is
    the renewal's grant now (its trade_no), so the refund revokes nothing and takes no student."""
    from test_refund_worker import create_refund, run_until
    t = shop.t
    course = t.course("300.00")
    month = periods.add(course, 30, "30.00", "一个月有效")
    user = t.user()
    _, first = create(shop, user, order_body([course], {course: month}))
    pay_through_cashier(shop.client, user, first["order_number"])    # a real trade at the sandbox, refundable
    wait_for(lambda: order_pay_time(shop.conn, first["id"]) is not None, 15, what="the first order to settle")
    ((row_id, _, _, _, _),) = grants(shop.conn, user, course)
    run_out(shop.conn, user, course, first["id"], 30)
    _, second = create(shop, user, order_body([course], {course: month}))
    trade_no = settle_by_notify(second)
    paid_at = order_pay_time(shop.conn, second["id"])

    refund_id = create_refund(shop.conn, first["id"])
    assert run_until(shop.conn, refund_id, {"succeeded"})["state"] == "succeeded"
    assert grants(shop.conn, user, course) == ((row_id, 0, trade_no, paid_at, paid_at + timedelta(days=30)),)
    assert students(shop.conn, course) == 1
    assert_audit_clean()
