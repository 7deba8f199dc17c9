"""README, "For the DBA: applying `sql/`", as a DBA follows it: on databases of their own in the test
stack's MariaDB (created as its root, removed afterwards), never the stack's `luffycity`.

* A database that came from the Django shop, at the state just before `005_user_course_unique.sql`,
  with duplicate purchase rows: `luffy-pay migrate` stops before that file with the pairs listed
  (no bare 1062), nothing of 005 or later applied; the README's query finds the same pairs, the
  README's resolution keeps the documented row of each pair, and `migrate` then applies the rest.
* Applying by hand with the README's loop and rows: `migrate` then finds nothing to apply (the
  checksums are those it computes), also for a row written with the README's `SHA2(LOAD_FILE(…))`.
* The README's list of migrations is every file of sql/.
"""

import hashlib
import os
import pwd
import re
import shutil
import subprocess
import uuid

import pytest

from conftest import ENV, ROOT, SETTINGS

SQL_DIR = ROOT / "sql"
MIGRATION = re.compile(r"^[0-9]{3}_[A-Za-z0-9_]+\.sql$")
FILES = sorted(p.name for p in SQL_DIR.iterdir() if MIGRATION.match(p.name))
GUARDED = "005_user_course_unique.sql"
BEFORE = [f for f in FILES if f < GUARDED]
DBA_SECTION = "For the DBA: applying `sql/`"


# ---------------------------------------------------------------- the README's DBA section
def readme_section():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## " + DBA_SECTION)
    end = text.find("\n## ", start + 3)
    return text[start:] if end < 0 else text[start:end]


def readme_blocks(lang):
    return re.findall(r"^```" + lang + r"\n(.*?)^```", readme_section(), flags=re.S | re.M)


def readme_block(lang, marker):
    found = [b for b in readme_blocks(lang) if marker in b]
    assert len(found) == 1, f"the README's DBA section has {len(found)} ```{lang} blocks with {marker!r}"
    return found[0]


# ---------------------------------------------------------------- MariaDB as root, and luffy-pay migrate
def root_cmd():
    # the stack's root login: unix_socket authentication as the OS user (scripts/stack.sh, db_root)
    return ["mariadb", "--no-defaults", f"--socket={SETTINGS['LUFFY_DB_SOCKET']}",
            f"--user={pwd.getpwuid(os.getuid()).pw_name}", "--default-character-set=utf8mb4"]


def root_sql(sql, database=None):
    """Runs SQL as root; returns the rows (tab-separated, no header) as tuples of strings."""
    out = subprocess.run(root_cmd() + ["-N", "-B"] + ([database] if database else []), input=sql,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"mariadb failed: {out.stderr.strip()}\n{sql}"
    return [tuple(line.split("\t")) for line in out.stdout.splitlines()]


def migrate(database, sql_dir=SQL_DIR):
    env = dict(os.environ, LUFFY_CONFIG=ENV["config"], LUFFY_DB_NAME=database, LUFFY_SQL_DIR=str(sql_dir))
    return subprocess.run([ENV["app_bin"], "migrate"], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def database():
    """An empty database the app's user may use, dropped afterwards."""
    name = f"luffy_dba_{uuid.uuid4().hex[:10]}"
    user = SETTINGS["LUFFY_DB_USER"]
    root_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n"
             f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'localhost';")
    try:
        yield name
    finally:
        root_sql(f"DROP DATABASE IF EXISTS `{name}`;\n"
                 f"REVOKE ALL PRIVILEGES ON `{name}`.* FROM '{user}'@'localhost';")


def recorded(database):
    return root_sql("SELECT version, file, checksum FROM schema_migrations ORDER BY version", database)


def file_checksum(name):
    return hashlib.sha256((SQL_DIR / name).read_bytes()).hexdigest()


def all_recorded(database):
    assert recorded(database) == [(f[:3], f, file_checksum(f)) for f in FILES]


def schema_objects(database):
    """What 005 and the files after it create (tables, the sequence, indexes, a column)."""
    return {
        "tables": root_sql(f"SELECT table_name, table_type FROM information_schema.tables "
                           f"WHERE table_schema = '{database}' AND table_name IN ('ly_idempotency_key', "
                           f"'ly_alipay_notification', 'ly_payment_refund', 'ly_course_students_baseline', "
                           f"'ly_order_number_seq') ORDER BY table_name"),
        "indexes": root_sql(f"SELECT DISTINCT index_name FROM information_schema.statistics "
                            f"WHERE table_schema = '{database}' AND index_name IN ('ly_user_course_user_course_uniq', "
                            f"'ly_order_user_list_idx', 'ly_order_status_created_idx', "
                            f"'ly_coupon_log_user_status_idx', 'ly_order_trade_no_uniq') ORDER BY index_name"),
        "pay_link_time": root_sql(f"SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                  f"'{database}' AND table_name = 'ly_order' AND column_name = 'pay_link_time'"),
    }


# Purchase rows as the Django shop may have left them: (user_id, course_id, is_deleted, study_time).
DJANGO_ROWS = [
    (7, 3, 0, 10), (7, 3, 0, 50),                  # two live rows: the one with more study time stays
    (8, 1, 1, 99), (8, 1, 0, 5), (8, 1, 0, 5),     # a deleted one and two equal live ones: the oldest live stays
    (9, 2, 0, 0), (7, 4, 0, 0),                    # single rows
]


def insert_django_rows(database):
    values = ",\n".join(f"('课程', {deleted}, 1, 1, NOW(6), NOW(6), {study}, NULL, {course}, NULL, {user})"
                        for user, course, deleted, study in DJANGO_ROWS)
    root_sql("INSERT INTO ly_user_course (name, is_deleted, orders, is_show, created_time, updated_time, study_time, "
             f"chapter_id, course_id, lesson_id, user_id) VALUES\n{values};", database)
    return [int(i) for (i,) in root_sql("SELECT id FROM ly_user_course ORDER BY id", database)]


def test_duplicate_purchase_rows_stop_migrate_before_005_with_the_pairs_listed(database, tmp_path):
    # the state just before 005: the files before it, applied and recorded by migrate itself
    for name in BEFORE:
        shutil.copy(SQL_DIR / name, tmp_path / name)
    first = migrate(database, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "migrate: applied " + ", ".join(BEFORE)
    ids = insert_django_rows(database)
    rows_before = root_sql("SELECT * FROM ly_user_course ORDER BY id", database)
    objects_before = schema_objects(database)

    out = migrate(database)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert out.stdout == ""
    assert "1062" not in out.stderr and "Duplicate entry" not in out.stderr, out.stderr
    assert out.stderr.splitlines() == [
        f"luffy-pay: {GUARDED} not applied, nor any file after it: ly_user_course holds more than one row for "
        "these (user_id, course_id) pairs, which it makes unique (2 found):",
        "  user_id=7 course_id=3 rows=2",
        "  user_id=8 course_id=1 rows=3",
        f"Keep one row per pair and set the others aside as README.md, \"{DBA_SECTION.replace('`', '')}\", shows "
        "(duplicate purchase rows), then run luffy-pay migrate again.",
    ], out.stderr
    # nothing half-applied: 001-004 recorded as before, nothing of 005 or later, the rows untouched
    assert recorded(database) == [(f[:3], f, file_checksum(f)) for f in BEFORE]
    assert schema_objects(database) == objects_before
    assert objects_before == {"tables": [], "indexes": [], "pay_link_time": []}
    assert root_sql("SELECT * FROM ly_user_course ORDER BY id", database) == rows_before

    # the README's query finds the same pairs, with their counts
    found = root_sql(readme_block("sql", "HAVING COUNT(*) > 1"), database)
    assert found == [("7", "3", "2"), ("8", "1", "3")]

    # the README's resolution: one row per pair stays (live, most study time, then oldest), the others set aside
    root_sql(readme_block("sql", "ly_user_course_duplicate"), database)
    kept = [ids[1], ids[3], ids[5], ids[6]]
    assert [int(i) for (i,) in root_sql("SELECT id FROM ly_user_course ORDER BY id", database)] == kept
    aside = root_sql("SELECT id, user_id, course_id, is_deleted, study_time FROM ly_user_course_duplicate "
                     "ORDER BY id", database)
    assert aside == [(str(ids[0]), "7", "3", "0", "10"), (str(ids[2]), "8", "1", "1", "99"),
                     (str(ids[4]), "8", "1", "0", "5")]

    again = migrate(database)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "migrate: applied " + ", ".join(f for f in FILES if f not in BEFORE)
    all_recorded(database)
    assert ("ly_user_course_user_course_uniq",) in schema_objects(database)["indexes"]
    assert migrate(database).stdout.strip() == "migrate: nothing to apply"


def test_applying_by_hand_as_the_readme_shows_gives_the_rows_migrate_expects(database):
    # The README's loop, run from the repository; `mariadb luffycity` stands for the DBA's login to
    # the database: here root on the test stack's socket, and this test's database.
    script = readme_block("sh", "schema_migrations")
    wrapper = ("mariadb() { local a=(); for x in \"$@\"; do [ \"$x\" = luffycity ] && x=$DBA_DATABASE; a+=(\"$x\"); "
               "done; command " + " ".join(root_cmd()) + " \"${a[@]}\"; }\n")
    for _ in range(2):   # the second run finds every file recorded and applies nothing
        out = subprocess.run(["bash", "-c", "set -u\n" + wrapper + script], cwd=ROOT, capture_output=True, text=True,
                             timeout=120, env=dict(os.environ, DBA_DATABASE=database))
        assert out.returncode == 0 and out.stderr == "", out.stderr
        all_recorded(database)
    assert migrate(database).stdout.strip() == "migrate: nothing to apply"

    # the single row as MariaDB computes it on the server
    insert = readme_block("sql", "LOAD_FILE").replace("/path/to/sql/", f"{SQL_DIR}/")
    version = re.search(r"VALUES \('(\d{3})'", insert).group(1)
    root_sql(f"DELETE FROM schema_migrations WHERE version = '{version}';\n{insert}", database)
    all_recorded(database)
    out = migrate(database)
    assert (out.returncode, out.stdout.strip()) == (0, "migrate: nothing to apply"), out.stderr


def test_the_readme_lists_every_migration_once():
    section = readme_section()
    listed = re.findall(r"^\| `([0-9]{3}_[A-Za-z0-9_]+\.sql)` \| \S", section, flags=re.M)
    assert listed == FILES, f"README lists {listed}, sql/ has {FILES}"
