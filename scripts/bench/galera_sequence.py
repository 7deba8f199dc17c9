"""Order-number sequence on a Galera cluster: NOCACHE vs INCREMENT BY 0 CACHE 100 (sql/021,
docs/ARCHITECTURE.md "Order numbers on a cluster"). Each worker runs short transactions like the
order's INSERT (the sequence read inside it) through its own node, in a scratch database
`seqbench` (as root on the node sockets); counts commits, certification conflicts (1213) and
numbers handed out twice (1062 on the unique number). Arguments: SOCKETS VARIANT WORKERS SECONDS [rc]
  .venv/bin/python scripts/bench/galera_sequence.py var/cluster-test/run/node1.sock,var/cluster-test/run/node2.sock inc0 4 15"""
import sys, threading, time
import pymysql

sockets = sys.argv[1].split(",")          # node sockets, one per node used
variant = sys.argv[2]                     # nocache | inc0
per_node = int(sys.argv[3])               # workers per node
seconds = float(sys.argv[4])
DB = "seqbench"

def conn(sock, db=DB):
    return pymysql.connect(unix_socket=sock, user="root", database=db, autocommit=True)

c = conn(sockets[0], None)
with c.cursor() as cur:
    cur.execute(f"CREATE DATABASE IF NOT EXISTS {DB}")
    cur.execute(f"USE {DB}")
    cur.execute("DROP TABLE IF EXISTS t"); cur.execute("DROP SEQUENCE IF EXISTS s")
    spec = "INCREMENT BY 1 NOCACHE" if variant == "nocache" else "INCREMENT BY 0 CACHE 100"
    cur.execute(f"CREATE SEQUENCE s START WITH 1 {spec}")
    cur.execute("CREATE TABLE t (id bigint PRIMARY KEY AUTO_INCREMENT, num varchar(32) NOT NULL UNIQUE, node int) ENGINE=InnoDB")
c.close()
time.sleep(1)

stats = {"commits": 0, "conflicts": 0, "dupes": 0, "other": 0}
lock = threading.Lock()
stop = time.monotonic() + seconds

def worker(node_index, sock):
    c = conn(sock)
    cur = c.cursor()
    if len(sys.argv) > 5: cur.execute("SET SESSION tx_isolation = 'READ-COMMITTED'")
    mine = {"commits": 0, "conflicts": 0, "dupes": 0, "other": 0}
    while time.monotonic() < stop:
        try:
            cur.execute("START TRANSACTION")
            cur.execute("INSERT INTO t (num, node) SELECT LPAD(s.n, 8, '0'), %s FROM (SELECT NEXT VALUE FOR s AS n) AS s",
                        (node_index,))
            cur.execute("COMMIT")
            mine["commits"] += 1
        except pymysql.MySQLError as e:
            code = e.args[0]
            try: cur.execute("ROLLBACK")
            except pymysql.MySQLError: pass
            if code == 1213: mine["conflicts"] += 1
            elif code == 1062: mine["dupes"] += 1
            else:
                mine["other"] += 1
                print("error", code, e.args[1], file=sys.stderr)
    c.close()
    with lock:
        for k, v in mine.items(): stats[k] += v

threads = [threading.Thread(target=worker, args=(i + 1, s)) for i, s in enumerate(sockets) for _ in range(per_node)]
t0 = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.monotonic() - t0
c = conn(sockets[-1])
with c.cursor() as cur:
    time.sleep(1)
    cur.execute("SELECT COUNT(*), COUNT(DISTINCT num) FROM t"); rows, distinct = cur.fetchone()
c.close()
attempts = stats["commits"] + stats["conflicts"] + stats["dupes"] + stats["other"]
print(f"variant={variant} nodes={len(sockets)} workers/node={per_node} seconds={elapsed:.1f} commits={stats['commits']} "
      f"commits/s={stats['commits']/elapsed:.0f} conflicts_1213={stats['conflicts']} "
      f"conflict_rate={stats['conflicts']/max(attempts,1):.1%} dup_1062={stats['dupes']} other={stats['other']} "
      f"rows={rows} distinct={distinct}")
