"""Shared helpers of the order, coupon and race tests (README, "HTTP API"; the price
rules are stated at each helper below).

* An independent model of the dev data's prices (sql/dev-data.sql header) and of the price rules,
  so that expected figures are computed here, never copied from a server answer.
* `Throwaway`: users, courses, coupons and coupon-log rows made for one test and removed after it,
  so that no test depends on (or changes) what the dev data's users 1-3 own.
* `snapshot()`: everything a request of one user may write, to prove that a refused one wrote
  nothing.
* `post_order()`, `cancel_order()`, `run_sweep()` and money helpers.
"""

import json
import os
import re
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from conftest import ENV, SETTINGS, auth, db_connect, db_rows

D = Decimal
CENT = D("0.01")
SHOP_TZ = ZoneInfo(SETTINGS.get("LUFFY_TIMEZONE", "Asia/Shanghai"))
ORDER_TIMEOUT = int(SETTINGS.get("LUFFY_ORDER_TIMEOUT", "900"))
CREDIT_RATIO = int(SETTINGS.get("LUFFY_CREDIT_RATIO", "10"))

# ---------------------------------------------------------------- the dev data, as its header tells it
# id: (list price, credit cap, category, direction)
COURSES = {
    1: (D("998.00"), 100, 1, 1),
    2: (D("1299.00"), 200, 1, 1),
    3: (D("399.00"), 50, 2, 1),
    4: (D("599.00"), 0, 3, 2),
    5: (D("1499.00"), 0, 4, 2),
    6: (D("699.00"), 60, 4, 2),
    7: (D("299.00"), 0, 3, 2),
    8: (D("899.00"), 0, 5, 3),
    9: (D("199.00"), 20, 5, 3),
    10: (D("1999.00"), 150, 6, 3),
}
HIDDEN_COURSE, DELETED_COURSE = 11, 12
# running activity rules: course id -> (sale, condition in yuan, discount type name)
ACTIVITIES = {4: ("*0.8", 0, "限时折扣"), 5: ("-100", 1000, "限时减免")}
# coupon id -> terms; scope ("all",) | ("direction", ids) | ("category", ids) | ("course", ids)
COUPONS = {
    1: {"sale": "-30", "discount": 1, "scope": ("all", set()), "condition": 100},
    2: {"sale": "-50", "discount": 1, "scope": ("direction", {1}), "condition": 0},
    3: {"sale": "*0.88", "discount": 2, "scope": ("course", {1, 2}), "condition": 0},
    4: {"sale": "-99", "discount": 1, "scope": ("category", {3, 4}), "condition": 0},   # expired
    5: {"sale": "*0.85", "discount": 2, "scope": ("category", {5}), "condition": 200},  # not started
}
# user 1's coupon-log rows: log id -> (coupon id, state)
USER1_COUPON_LOGS = {5: (1, "usable"), 8: (2, "usable"), 9: (3, "usable"), 10: (4, "expired"),
                     11: (2, "usable"), 12: (5, "not_started"), 13: (4, "used")}
USER1_OWNS = [6, 7, 9, 10, 11, 12]
USER1_BUYABLE = [1, 2, 3, 4, 5, 8]

ORDER_KEYS = {"id", "order_number", "order_timeout", "total_price", "real_price", "discount_price",
              "credit", "user_coupon_id", "pay_type", "order_status", "order_courses"}
ORDER_COURSE_KEYS = {"course_id", "course_name", "price", "real_price", "discount_name"}
MONEY_KEYS = ("total_price", "real_price", "discount_price")


def money(value):
    return D(value).quantize(CENT, rounding=ROUND_HALF_UP)


def apply_sale(sale, price):
    """Activity sale formula: "0"/empty free, "*x" price·x half-up, "-x" price − x not below 0."""
    sale = (sale or "").strip()
    if sale in ("", "0"):
        return D("0.00")
    if sale.startswith("*"):
        return money(price * D(sale[1:]))
    if sale.startswith("-"):
        return max(D("0.00"), money(price - D(sale[1:])))
    raise ValueError(sale)


class Offer:
    """A course as priced by its activity rule (independently of the server)."""

    def __init__(self, cid, price, credit=0, category=None, direction=None, activity=None):
        self.id = cid
        self.price = money(price)
        self.credit = credit
        self.category = category
        self.direction = direction
        self.real = self.price
        self.discount_name = ""
        self.has_activity = False
        if activity is not None:
            sale, condition, name = activity
            if D(condition) <= self.price:
                self.real = apply_sale(sale, self.price)
                self.discount_name = name
                self.has_activity = True


def dev_offer(cid):
    price, credit, category, direction = COURSES[cid]
    return Offer(cid, price, credit, category, direction, ACTIVITIES.get(cid))


def in_scope(terms, offer):
    kind, ids = terms["scope"]
    return {"all": True, "direction": offer.direction in ids, "category": offer.category in ids,
            "course": offer.id in ids}[kind]


def coupon_discount(terms, offers):
    """Coupon discount: (target course id, amount) or None when not applicable."""
    candidates = [o for o in offers
                  if in_scope(terms, o) and not o.has_activity and o.real >= D(terms["condition"])]
    if not candidates:
        return None
    best = max(o.real for o in candidates)
    target = next(o for o in candidates if o.real == best)
    sale = terms["sale"].strip()
    if sale.startswith("-"):
        return target.id, min(money(sale[1:]), target.real)
    return target.id, money(target.real * (1 - D(sale[1:])))


def credit_money(credit, ratio=CREDIT_RATIO):
    """Money value of credit (CREDIT_RATIO credits per yuan), rounded down to the fen."""
    return D(credit * 100 // ratio) / 100


def quote(offers, discount=D("0.00")):
    total = sum((o.real for o in offers), D("0.00"))
    off = min(discount, total)
    return {"total_price": money(total), "discount_price": money(off), "real_price": money(total - off)}


def max_use_credit(offers, balance, ratio=CREDIT_RATIO):
    total = sum((o.real for o in offers), D("0.00"))
    cap = sum(max(0, o.credit) for o in offers)
    return max(0, min(balance, cap, int(total * ratio)))


# ---------------------------------------------------------------- JSON with exact money
def loads(text):
    return json.loads(text, parse_float=Decimal)


def raw_money(text, key):
    """Every literal of `"key":<number>` in the raw response text (to check two decimals)."""
    return re.findall(r'"%s":(-?[0-9][0-9.eE+-]*)' % re.escape(key), text)


def assert_two_decimals(text, keys=MONEY_KEYS + ("price",)):
    seen = 0
    for key in keys:
        for literal in raw_money(text, key):
            assert re.fullmatch(r"-?\d+\.\d{2}", literal), f"{key}={literal} is not a two-decimal number: {text}"
            seen += 1
    assert seen, f"no money field in {text}"


# ---------------------------------------------------------------- requests
def post_order(client, user_id, body=None, *, key=None, raw=None, timeout=20):
    headers = auth(user_id)
    headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Idempotency-Key"] = key
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False)
    if isinstance(data, str):
        data = data.encode()
    return client.request("POST", "/orders", headers=headers, data=data, timeout=timeout)


def cancel_order(client, user_id, order_id, timeout=20):
    return client.request("PUT", f"/orders/{order_id}", headers=auth(user_id), timeout=timeout)


def new_key(tag="k"):
    return f"it-{tag}-{uuid.uuid4().hex}"


def shop_dates():
    """Today's and (around midnight) the neighbouring shop dates, as YYYYMMDD."""
    now = datetime.now(SHOP_TZ)
    return {(now + timedelta(seconds=s)).strftime("%Y%m%d") for s in (-120, 0, 120)}


def sweep_cmd():
    env = dict(os.environ)
    env["LUFFY_CONFIG"] = ENV["config"]
    return [ENV["app_bin"], "sweep"], env


def run_sweep(timeout=60):
    """One `luffy-pay sweep` pass; returns how many orders it timed out."""
    cmd, env = sweep_cmd()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"luffy-pay sweep exited {out.returncode}: {out.stderr.strip()}"
    m = re.search(r"sweep: (\d+) order", out.stdout)
    assert m, f"unexpected sweep output: {out.stdout!r}"
    return int(m.group(1))


# ---------------------------------------------------------------- database state
def scalar(conn, sql, args=None):
    rows = db_rows(conn, sql, args)
    return rows[0][0] if rows else None


def snapshot(conn, user_id, watch_logs=()):
    """Everything a request of `user_id` may write (plus the coupon-log rows in `watch_logs`), and
    the row counts of the order tables as a whole."""
    logs = db_rows(conn, "SELECT id, order_id, use_status, use_time, is_deleted FROM ly_coupon_log "
                         "WHERE user_id = %s ORDER BY id", (user_id,))
    watched = db_rows(conn, "SELECT id, order_id, use_status, use_time, user_id FROM ly_coupon_log "
                            "WHERE id IN (%s) ORDER BY id" % ",".join(str(int(i)) for i in watch_logs)) \
        if watch_logs else ()
    return {
        "orders": db_rows(conn, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM ly_order WHERE user_id = %s",
                          (user_id,))[0],
        "order_courses": scalar(conn, "SELECT COUNT(*) FROM ly_order_course oc JOIN ly_order o "
                                      "ON o.id = oc.order_id WHERE o.user_id = %s", (user_id,)),
        "idempotency_keys": scalar(conn, "SELECT COUNT(*) FROM ly_idempotency_key WHERE user_id = %s",
                                   (user_id,)),
        "coupon_logs": logs,
        "watched_logs": watched,
        "credit": scalar(conn, "SELECT credit FROM ly_users WHERE id = %s", (user_id,)),
        "user_courses": scalar(conn, "SELECT COUNT(*) FROM ly_user_course WHERE user_id = %s", (user_id,)),
        "credit_rows": scalar(conn, "SELECT COUNT(*) FROM ly_credit WHERE user_id = %s", (user_id,)),
        # and nobody else's rows either (the suite runs one test at a time)
        "all_orders": db_rows(conn, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM ly_order")[0],
        "all_order_courses": db_rows(conn, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM ly_order_course")[0],
        "all_idempotency_keys": db_rows(conn, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM ly_idempotency_key")[0],
        "all_bound_coupons": scalar(conn, "SELECT COUNT(*) FROM ly_coupon_log WHERE order_id IS NOT NULL"),
        "all_credit": scalar(conn, "SELECT COALESCE(SUM(credit), 0) FROM ly_users"),
    }


def order_row(conn, order_id):
    rows = db_rows(conn, "SELECT user_id, order_status, total_price, real_price, credit, order_number, pay_type, "
                         "name, pay_time, trade_no FROM ly_order WHERE id = %s", (order_id,))
    assert rows, f"order {order_id} is not in ly_order"
    keys = ("user_id", "order_status", "total_price", "real_price", "credit", "order_number", "pay_type",
            "name", "pay_time", "trade_no")
    return dict(zip(keys, rows[0]))


def user_credit(conn, user_id):
    return scalar(conn, "SELECT credit FROM ly_users WHERE id = %s", (user_id,))


def coupon_log_row(conn, log_id):
    rows = db_rows(conn, "SELECT order_id, use_status, use_time FROM ly_coupon_log WHERE id = %s", (log_id,))
    assert rows, f"coupon log {log_id} vanished"
    return dict(zip(("order_id", "use_status", "use_time"), rows[0]))


def course_names(conn, ids):
    rows = db_rows(conn, "SELECT id, name FROM ly_course WHERE id IN (%s)" % ",".join(str(int(i)) for i in ids))
    return dict(rows)


# ---------------------------------------------------------------- throwaway data
class Throwaway:
    """Rows made for one test; `cleanup()` removes them and everything their users wrote."""

    def __init__(self):
        self.conn = db_connect()
        self.users, self.courses, self.coupons, self.activity_prices, self.logs = [], [], [], [], []

    def _insert(self, sql, args):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.lastrowid

    def user(self, credit=0, is_active=1):
        tag = uuid.uuid4().hex[:12]
        mobile = "19" + str(uuid.uuid4().int)[:9]
        uid = self._insert(
            "INSERT INTO ly_users (password, last_login, is_superuser, username, first_name, last_name, email, "
            "is_staff, is_active, date_joined, mobile, money, credit, avatar, nickname) "
            "VALUES ('!', NULL, 0, %s, '', '', %s, 0, %s, NOW(6), %s, 0.00, %s, NULL, %s)",
            (f"it-{tag}", f"it-{tag}@luffycity.test", is_active, mobile, credit, f"测试{tag[:6]}"))
        self.users.append(uid)
        return uid

    def course(self, price, credit=0, category=1, direction=1, discount_id=None, name=None):
        """A visible course; with discount_id, priced by the running activity 1 through that discount."""
        cid = self._insert(
            "INSERT INTO ly_course (name, is_deleted, orders, is_show, created_time, updated_time, course_cover, "
            "course_video, course_type, level, description, pub_date, period, attachment_path, attachment_link, "
            "status, students, lessons, pub_lessons, price, credit, recomment_home_hot, recomment_home_top, "
            "category_id, direction_id, teacher_id) VALUES (%s, 0, 99, 1, NOW(6), NOW(6), 'course/cover/it.png', "
            "NULL, 0, 0, 'integration test course', CURDATE(), 1, NULL, NULL, 0, 0, 1, 1, %s, %s, 0, 0, %s, %s, 1)",
            (name or f"测试课程-{uuid.uuid4().hex[:8]}", str(price), credit, category, direction))
        self.courses.append(cid)
        if discount_id is not None:
            self.activity_prices.append(self._insert(
                "INSERT INTO ly_course_activity_price (name, is_deleted, orders, is_show, created_time, updated_time, "
                "activity_id, course_id, discount_id) VALUES (%s, 0, 99, 1, NOW(6), NOW(6), 1, %s, %s)",
                (f"测试活动价 {cid}", cid, discount_id)))
        return cid

    def coupon(self, sale, discount, coupon_type=0, condition=0, start_days=-1, end_days=30, is_deleted=0,
               courses=()):
        cpid = self._insert(
            "INSERT INTO ly_coupon (name, is_deleted, orders, is_show, created_time, updated_time, discount, "
            "coupon_type, total, has_total, start_time, end_time, get_type, `condition`, per_limit, sale) "
            "VALUES (%s, %s, 99, 1, NOW(6), NOW(6), %s, %s, 100, 100, NOW(6) + INTERVAL %s DAY, "
            "NOW(6) + INTERVAL %s DAY, 0, %s, 1, %s)",
            (f"测试券-{uuid.uuid4().hex[:8]}", is_deleted, discount, coupon_type, start_days, end_days, condition,
             sale))
        self.coupons.append(cpid)
        for cid in courses:
            self._insert("INSERT INTO ly_coupon_course (created_time, coupon_id, course_id) VALUES (NOW(6), %s, %s)",
                         (cpid, cid))
        return cpid

    def coupon_log(self, user_id, coupon_id, *, is_deleted=0, use_status=0, order_id=None):
        log = self._insert(
            "INSERT INTO ly_coupon_log (is_deleted, orders, is_show, created_time, updated_time, name, use_time, "
            "use_status, coupon_id, order_id, user_id) VALUES (%s, 1, 1, NOW(6), NOW(6), %s, NULL, %s, %s, %s, %s)",
            (is_deleted, "测试用户券", use_status, coupon_id, order_id, user_id))
        self.logs.append(log)
        return log

    def cleanup(self):
        c = self.conn
        with c.cursor() as cur:
            for uid in self.users:
                cur.execute("DELETE oc FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id "
                            "WHERE o.user_id = %s", (uid,))
                for table in ("ly_order", "ly_coupon_log", "ly_idempotency_key", "ly_user_course", "ly_credit"):
                    cur.execute(f"DELETE FROM {table} WHERE user_id = %s", (uid,))
                cur.execute("DELETE FROM ly_users WHERE id = %s", (uid,))
            for log in self.logs:
                cur.execute("DELETE FROM ly_coupon_log WHERE id = %s", (log,))
            for cpid in self.coupons:
                cur.execute("DELETE FROM ly_coupon_course WHERE coupon_id = %s", (cpid,))
                cur.execute("DELETE FROM ly_coupon WHERE id = %s", (cpid,))
            for ap in self.activity_prices:
                cur.execute("DELETE FROM ly_course_activity_price WHERE id = %s", (ap,))
            for cid in self.courses:
                # a course of a throwaway course is only ever in throwaway users' rows (deleted above)
                cur.execute("DELETE FROM ly_course WHERE id = %s", (cid,))
        c.close()


@pytest.fixture
def throwaway():
    t = Throwaway()
    yield t
    t.cleanup()


def wait_for_db(conn, sql, args, expected, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = scalar(conn, sql, args)
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def at_once(calls, timeout=90):
    """Run the callables in threads released together by a barrier; returns their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=timeout)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a racing call did not finish in time"
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:5]
    return results
