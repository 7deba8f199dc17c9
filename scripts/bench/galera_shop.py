"""Hot spots of the shop on the cluster, through both app instances (URL1 → node 1, URL2 → node 2).

  orders N W      N POST /orders by N fresh buyers, W threads, half through each instance
  notify N W [C]  N unpaid orders of N fresh buyers, each of the same hot course (plus C other
                  courses of its own, default 0), then their N notifications at once, W threads,
                  half through each instance: every one must settle once
  notify-own N W C  the same without the hot course (C ≥ 1 courses of each order's own)
  sweep N W       N expired unpaid orders, then `luffy-pay sweep` with each instance's settings at once
Prints throughput, answers, p99 and the deadlock/certification retries the instances counted
(luffy_db_deadlock_retries_total from both /metrics), then checks the students of the course.
Run against the cluster-test stack (docs/ARCHITECTURE.md, "On a Galera cluster"):
  LUFFY_TEST_STACK=cluster-test LUFFY_TEST_STACK_SCRIPT=$PWD/scripts/stack.sh \
    .venv/bin/python scripts/bench/galera_shop.py notify 200 8"""
import os, re, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
import requests
from conftest import auth, db_connect, db_rows  # noqa: E402
from ordering import Throwaway  # noqa: E402
import alipay  # noqa: E402

info = {}
for line in os.popen(f"{os.environ['LUFFY_TEST_STACK_SCRIPT']} {os.environ['LUFFY_TEST_STACK']} info").read().splitlines():
    k, _, v = line.partition("="); info[k] = v.strip("'")
URLS = [info["URL1"], info["URL2"]]

def retries():
    total = {}
    for u in URLS:
        for m in re.finditer(r'^luffy_db_deadlock_retries_total\{reason="([a-z_]+)"\} (\d+)', requests.get(u + "/metrics", timeout=10).text, re.M):
            total[m.group(1)] = total.get(m.group(1), 0) + int(m.group(2))
    return total

def p99(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * 0.99))] if xs else 0

def run(calls, workers):
    lat, answers, lock = [], {}, threading.Lock()
    def one(i_call):
        i, call = i_call
        t = time.monotonic(); key = call(URLS[i % 2]); d = time.monotonic() - t
        with lock:
            lat.append(d); answers[key] = answers.get(key, 0) + 1
    before = retries(); t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as ex: list(ex.map(one, enumerate(calls)))
    elapsed = time.monotonic() - t0; after = retries()
    return elapsed, answers, p99(lat), {k: after.get(k, 0) - before.get(k, 0) for k in after}

mode, n, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
extra = int(sys.argv[4]) if len(sys.argv) > 4 else 0
t = Throwaway()
hot = t.course(price="10.00")
users = [t.user() for _ in range(n)]
s = requests.Session()

def post_order(url, uid, courses):
    h = auth(uid); h["Content-Type"] = "application/json"
    return s.post(url + "/orders", json={"course_ids": courses}, headers=h, timeout=60)

def wsrep():
    out = {}
    for n in (1, 2):
        c = __import__("pymysql").connect(unix_socket=info[f"NODE{n}_SOCKET"], user="root")
        with c.cursor() as cur:
            cur.execute("SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN "
                        "('WSREP_LOCAL_CERT_FAILURES', 'WSREP_LOCAL_BF_ABORTS')")
            for k, v in cur.fetchall(): out[k.lower()] = out.get(k.lower(), 0) + int(v)
        c.close()
    return out

if mode == "sweep":
    import subprocess
    ids = []
    def make(url, uid):
        r = post_order(url, uid, [hot]); assert r.status_code == 201, r.text; ids.append(r.json()["id"]); return "201"
    run([lambda url, uid=u: make(url, uid) for u in users], w)
    conn = db_connect()
    with conn.cursor() as cur:
        cur.execute("UPDATE ly_order SET created_time = created_time - INTERVAL 2 HOUR WHERE id IN (%s)" % ",".join(map(str, ids)))
    time.sleep(1)
    before = wsrep(); t0 = time.monotonic()
    procs = [subprocess.Popen([info["APP_BIN"], "sweep"], env=dict(os.environ, LUFFY_CONFIG=info[f"APP{i}_ENV"]),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    outs = [p.communicate() for p in procs]
    elapsed = time.monotonic() - t0; after = wsrep()
    closed = db_rows(conn, "SELECT COUNT(*) FROM ly_order WHERE id IN (%s) AND order_status = 3" % ",".join(map(str, ids)))[0][0]
    print(f"sweep: n={n} seconds={elapsed:.1f} outputs={[o[0].strip() or o[1].strip()[-200:] for o in outs]} "
          f"closed={closed} wsrep={ {k: after[k] - before[k] for k in after} }")
    sys.exit(0)

if mode == "orders":
    calls = [lambda url, uid=u: str(post_order(url, uid, [hot]).status_code) for u in users]
    elapsed, answers, tail, r = run(calls, w)
    print(f"orders: n={n} workers={w} seconds={elapsed:.1f} orders/s={n/elapsed:.0f} answers={answers} p99_ms={tail*1000:.0f} retries={r}")
else:
    own = [[t.course(price="5.00") for _ in range(extra)] for _ in users]
    orders = []
    for u, more in zip(users, own):
        r = post_order(URLS[0], u, ([] if mode == "notify-own" else [hot]) + more); assert r.status_code == 201, r.text
        orders.append((r.json()["order_number"], r.json()["real_price"]))
    conn = db_connect()
    counted = ("SELECT c.students + COALESCE((SELECT SUM(d.students) FROM ly_course_students_delta d "
               "WHERE d.course_id = c.id), 0) FROM ly_course c WHERE c.id = %s")
    students0 = db_rows(conn, counted, (hot,))[0][0]
    notes = [alipay.notification(num, f"{price:.2f}") for num, price in orders]
    calls = [lambda url, p=p: requests.post(url + alipay.NOTIFY_PATH, data=p, timeout=60).text for p in notes]
    elapsed, answers, tail, r = run(calls, w)
    time.sleep(2)
    students1 = db_rows(conn, counted, (hot,))[0][0]
    paid = db_rows(conn, "SELECT COUNT(*) FROM ly_order WHERE order_number IN (%s) AND order_status = 1" % ",".join(f"'{o}'" for o, _ in orders))[0][0]
    print(f"{mode}: n={n} courses/order={extra + (mode == 'notify')} workers={w} seconds={elapsed:.1f} settlements/s={n/elapsed:.0f} answers={answers} "
          f"p99_ms={tail*1000:.0f} retries={r} paid={paid} students_added={students1 - students0}")
