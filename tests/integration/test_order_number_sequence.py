"""The order-number sequence in a form a Galera node takes (sql/021, docs/ARCHITECTURE.md "Order
numbers on a cluster"), on databases of their own in the test stack's MariaDB (as test_migrations_dba):

* A database that applied 010 (CACHE 100, refused by a Galera node with error 1235) gets 021's
  ALTER: INCREMENT BY 0 CACHE 100, and the numbers go on past every one handed out before.
* A database without 010 never runs it: `luffy-pay migrate` records it, with its checksum, as
  replaced by 021 (a 010 that would fail if run is recorded all the same), and 021 creates the
  sequence.
* The app takes its number inside the order's INSERT: the number's last 8 digits are the sequence's
  values, one per order, in order.
"""

import hashlib
import shutil

from conftest import auth
from ordering import new_key, post_order, throwaway
from test_migrations_dba import FILES, SQL_DIR, database, file_checksum, migrate, recorded, root_sql

__all__ = ["database", "throwaway"]  # the fixtures, imported for pytest

REPLACED = "010_order_number_sequence.sql"
REPLACEMENT = "021_order_number_sequence_galera.sql"
BEFORE_021 = [f for f in FILES if f < REPLACEMENT]


def sequence_definition(database):
    (row,) = root_sql("SHOW CREATE SEQUENCE ly_order_number_seq", database)
    return row[1]


def next_value(database):
    (row,) = root_sql("SELECT NEXT VALUE FOR ly_order_number_seq", database)
    return int(row[0])


def test_a_database_that_applied_010_gets_the_alter_and_keeps_counting(database, tmp_path):
    for name in BEFORE_021:
        shutil.copy(SQL_DIR / name, tmp_path / name)
    first = migrate(database, tmp_path)
    assert first.returncode == 0, first.stderr
    assert REPLACED in first.stdout
    assert "increment by 1 cache 100" in sequence_definition(database)
    handed_out = [next_value(database) for _ in range(3)]
    assert handed_out == [1, 2, 3]

    out = migrate(database)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "migrate: applied " + ", ".join(f for f in FILES if f >= REPLACEMENT)
    assert "increment by 0 cache 100" in sequence_definition(database)
    # The cache of 010 is dropped by the ALTER: the next number skips past it, never back.
    after = [next_value(database) for _ in range(3)]
    assert min(after) > max(handed_out) and after == sorted(set(after)), (handed_out, after)
    assert migrate(database).stdout.strip() == "migrate: nothing to apply"


def test_a_fresh_database_never_runs_010(database, tmp_path):
    for name in FILES:
        shutil.copy(SQL_DIR / name, tmp_path / name)
    # 010 as a file that fails when run: it must be recorded without being run.
    (tmp_path / REPLACED).write_text("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '010 was run';\n", encoding="utf-8")
    out = migrate(database, tmp_path)
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert "010 was run" not in out.stderr
    assert "increment by 0 cache 100" in sequence_definition(database)
    # recorded with the checksum of the file as it is, so a later migrate finds nothing changed
    rows = {version: (file, checksum) for version, file, checksum in recorded(database)}
    assert rows["010"] == (REPLACED, hashlib.sha256((tmp_path / REPLACED).read_bytes()).hexdigest())
    assert rows["021"] == (REPLACEMENT, file_checksum(REPLACEMENT))
    assert sorted(rows) == [f[:3] for f in FILES]
    assert [next_value(database) for _ in range(3)] == [1, 2, 3]
    again = migrate(database, tmp_path)
    assert (again.returncode, again.stdout.strip()) == (0, "migrate: nothing to apply"), again.stderr


def test_each_order_takes_one_number_in_its_insert(client, throwaway):
    user = throwaway.user()
    course = throwaway.course(price="10.00")
    numbers = []
    for _ in range(3):
        r = post_order(client, user, {"course_ids": [course]}, key=new_key("seq"))
        assert r.status_code == 201, r.text
        numbers.append(r.json()["order_number"])
        cancel = client.request("PUT", f"/orders/{r.json()['id']}", headers=auth(user), timeout=20)
        assert cancel.status_code == 200, cancel.text
    # One sequence value per order (the derived table is read once), consecutive on a single server.
    tails = [int(n[16:]) for n in numbers]
    assert tails == list(range(tails[0], tails[0] + 3)), numbers
    assert all(n[8:16] == f"{user:08d}" for n in numbers), numbers
