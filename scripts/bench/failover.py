#!/usr/bin/env python3
"""scripts/bench/failover.py — the failover gap of the cluster bench (scripts/bench/cluster.sh).

POST /orders (courses 1 and 3, no coupon, as post-order.lua) through --url from --threads client
threads for --duration seconds, each request another bench user's first order (--tokens: one JWT a
line, scripts/bench/gen-tokens.py; thread t takes lines t, t+T, …). After --kill-after seconds it
runs --kill (a command, e.g. `scripts/stack.sh cluster-test node-kill 1`) and goes on.

Prints one line `failover: key=value …`:
  requests, created (201), other answers by status (`status_503=…`, `errors=` for no answer),
  gap_s        the longest time without a 201 from the kill on (from the last 201 completed before
               the kill to the first one after it, and every later pause, until the run ends)
  gap_from_s   when that pause began, in seconds after the kill (writes may go on for a moment
               before the other nodes stall on the dead one)
  baseline_s   the longest time without a 201 before the kill (what "no gap" looks like)
  kill_s       how long the kill command took
The run ends early when a thread runs out of users (`out_of_users_threads`): give it more tokens.
Standard library only.
"""
import argparse
import http.client
import json
import shlex
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

BODY = json.dumps({"course_ids": [1, 3], "pay_type": 0, "user_coupon_id": -1, "credit": 0})


def worker(url, tokens, stop_at, results):
    parts = urlsplit(url)
    conn = None
    for token in tokens:
        if time.monotonic() >= stop_at:
            break
        started = time.monotonic()
        status = 0
        try:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            conn.request("POST", "/orders", body=BODY, headers={
                "Content-Type": "application/json", "Authorization": "jwt " + token})
            answer = conn.getresponse()
            answer.read()
            status = answer.status
            if answer.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
        results.append((started, time.monotonic(), status))
    else:
        results.append((time.monotonic(), time.monotonic(), -1))   # ran out of users
    if conn is not None:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--duration", type=float, default=40)
    ap.add_argument("--kill-after", type=float, default=10)
    ap.add_argument("--kill", required=True)
    args = ap.parse_args()

    with open(args.tokens) as f:
        tokens = [line.strip() for line in f if line.strip()]
    start = time.monotonic()
    stop_at = start + args.duration
    results = []
    threads = [threading.Thread(target=worker, args=(args.url, tokens[t::args.threads], stop_at, results))
               for t in range(args.threads)]
    for t in threads:
        t.start()
    time.sleep(args.kill_after)
    killed = time.monotonic()
    subprocess.run(shlex.split(args.kill), check=True, stdout=subprocess.DEVNULL)
    kill_s = time.monotonic() - killed
    for t in threads:
        t.join()

    out_of_users = sum(1 for r in results if r[2] == -1)
    answers = [r for r in results if r[2] != -1]
    done_201 = sorted(end for _, end, status in answers if status == 201)
    before = [start] + [t for t in done_201 if t < killed]
    after = [t for t in done_201 if t >= killed]
    baseline = max((b - a for a, b in zip(before, before[1:])), default=0.0)
    end = min(stop_at, max(r[1] for r in results))
    marks = [before[-1]] + after + [max(end, after[-1] if after else end)]
    gap, gap_from = max((b - a, a - killed) for a, b in zip(marks, marks[1:]))
    by_status = {}
    for _, _, status in answers:
        if status != 201:
            key = f"status_{status}" if status else "errors"
            by_status[key] = by_status.get(key, 0) + 1
    fields = {"requests": len(answers), "created": len(done_201), **by_status,
              "gap_s": f"{gap:.2f}", "gap_from_s": f"{gap_from:.2f}", "baseline_s": f"{baseline:.2f}",
              "kill_s": f"{kill_s:.2f}", "seconds": f"{end - start:.1f}"}
    if out_of_users:
        fields["out_of_users_threads"] = out_of_users
    print("failover: " + " ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
