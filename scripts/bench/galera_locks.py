"""Does a row lock exclude a transaction on another Galera node? Two transactions, one on node 1 and one
on node 2, each locks the same row, counts the rows of the round (the check) and inserts one (the
act); then both commit, one after the other. Excluded: only one commits (1213 for the other). `lock`: SELECT … FOR UPDATE only; `noop`: an UPDATE that changes
nothing; `write`: the row written (the guard row of sql/022). In the scratch database `seqbench` of
galera_sequence.py (run that first). Arguments: SOCKET1 SOCKET2 lock|noop|write ROUNDS
  .venv/bin/python scripts/bench/galera_locks.py var/cluster-test/run/node1.sock var/cluster-test/run/node2.sock lock 20"""
import sys
import time

import pymysql
s1, s2, mode, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def conn(s):
    return pymysql.connect(unix_socket=s, user="root", database="seqbench", autocommit=True)
c = conn(s1)
with c.cursor() as cur:
    cur.execute("CREATE TABLE IF NOT EXISTS guard (id int PRIMARY KEY, n int NOT NULL)")
    cur.execute("CREATE TABLE IF NOT EXISTS made (id int AUTO_INCREMENT PRIMARY KEY, round int NOT NULL)")
    cur.execute("INSERT IGNORE INTO guard VALUES (1, 0)")
time.sleep(0.5)
stmt = {"lock": "SELECT id FROM guard WHERE id = 1 FOR UPDATE",
        "noop": "UPDATE guard SET n = n WHERE id = 1",
        "write": "INSERT INTO guard (id, n) VALUES (1, 1) ON DUPLICATE KEY UPDATE n = n + 1"}[mode]
both = 0; one = 0
a, b = conn(s1), conn(s2)
for r in range(rounds):
    ca, cb = a.cursor(), b.cursor()
    outcome = []
    for cur in (ca, cb):
        cur.execute("START TRANSACTION"); cur.execute(stmt)
        cur.execute("SELECT COUNT(*) FROM made WHERE round = %s", (r,))
        outcome.append(cur.fetchone()[0])
        cur.execute("INSERT INTO made (round) VALUES (%s)", (r,))
    ok = 0
    for cur in (ca, cb):
        try: cur.execute("COMMIT"); ok += 1
        except pymysql.MySQLError:
            cur.execute("ROLLBACK")
    both += ok == 2; one += ok == 1
print(f"{mode}: rounds={rounds} both_committed={both} one_committed={one}")
