"""README, "The database's ceiling": `luffy-pay-ceiling` runs each endpoint's database work from the
shop's own code against the stack's MariaDB. A benchmark that leaves rows behind or moves money
would be a defect on a shop's database, so each endpoint runs here for a moment: every request
must succeed (the tool exits 1 on the first that fails), and afterwards its users (3,000,000 and
up), their orders, grants, notifications and coupons are gone, `ly_course.students` is what it
was, and the audit holds. The figures themselves are `make bench-ceiling`'s, not a test's.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ENV, assert_audit_clean, db_rows

CEILING_BIN = Path(ENV["app_bin"]).with_name("luffy-pay-ceiling")
ENDPOINTS = ["orders", "orders-coupon", "orders-credit", "notify", "order-list", "coupon-enable", "cancel"]
LINE = re.compile(r"^ceiling endpoint=(?P<endpoint>[a-z-]+) per_second=(?P<rate>\d+) requests=(?P<requests>\d+) "
                  r"seconds=[0-9.]+ connections=(?P<connections>\d+) statements=(?P<statements>\d+) "
                  r"p50_ms=[0-9.]+ p99_ms=[0-9.]+ settled_s=[0-9.]+$")


def ceiling(*args, timeout=120):
    env = dict(os.environ, LUFFY_CONFIG=ENV["config"])
    return subprocess.run([str(CEILING_BIN), *args], env=env, capture_output=True, text=True, timeout=timeout)


def leftovers(conn):
    return db_rows(conn, "SELECT (SELECT COUNT(*) FROM ly_users WHERE id >= 3000000), "
                         "(SELECT COUNT(*) FROM ly_order WHERE user_id >= 3000000), "
                         "(SELECT COUNT(*) FROM ly_user_course WHERE user_id >= 3000000), "
                         "(SELECT COUNT(*) FROM ly_coupon_log WHERE user_id >= 3000000), "
                         "(SELECT COUNT(*) FROM ly_alipay_notification WHERE out_trade_no LIKE '2099%%')")[0]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_runs_and_leaves_nothing_behind(db, endpoint):
    students = db_rows(db, "SELECT id, students FROM ly_course ORDER BY id")
    out = ceiling(endpoint, "--seconds", "0.3", "--connections", "4", "--pool", "20000", "--settle", "5")
    assert out.returncode == 0, (out.stdout, out.stderr)
    (line,) = out.stdout.splitlines()
    m = LINE.match(line)
    assert m and m["endpoint"] == endpoint and m["connections"] == "4", line
    assert int(m["requests"]) > 0 and int(m["statements"]) > 0, line
    assert leftovers(db) == (0, 0, 0, 0, 0)
    assert db_rows(db, "SELECT id, students FROM ly_course ORDER BY id") == students
    assert_audit_clean()


def test_an_exhausted_pool_is_an_error_not_a_figure(db):
    out = ceiling("orders", "--seconds", "30", "--connections", "2", "--pool", "20")
    assert out.returncode == 1 and "all 20 prepared items were used" in out.stderr, (out.stdout, out.stderr)
    assert leftovers(db) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("args", [["nothing"], ["--seconds"], ["--seconds", "0"], ["--connections", "-1"],
                                  ["--pool", "x"], ["--settle", "0"]])
def test_bad_arguments_are_refused(args):
    out = ceiling(*args)
    assert out.returncode == 1 and out.stderr.startswith("luffy-pay-ceiling: "), (out.stdout, out.stderr)
