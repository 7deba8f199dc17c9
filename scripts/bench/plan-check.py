#!/usr/bin/env python3
"""scripts/bench/plan-check.py — one statement's MariaDB plan, checked (scripts/bench/scale.sh explain).

Reads the JSON of `ANALYZE FORMAT=JSON <select>` (the statement ran: the rows each table really
read are known) or of `EXPLAIN FORMAT=JSON <update>` (estimates only) on stdin and prints one line
per table: access type, key, the estimated rows, and for ANALYZE the rows read (r_loops × r_rows)
plus the index entries a rowid filter checked (r_lookups: the access reads them all, the filter
only skips the row fetches). Exits 1 when a table reads more than --limit rows or entries, or when
an estimate-only plan scans a table whole (access ALL or index over more than --limit rows): on the
year of `make bench-scale` a hot-path statement reads a handful of rows, never a big table. With
--key, exits 2 (a warning) when the first table is read through another key: a write by primary
key that the optimizer may send through a secondary index, locking what that index range holds.

Standard library only.
"""
import argparse
import json
import sys


def tables(node):
    """Every "table" object of the plan, depth first (nested loops, subqueries, unions)."""
    if isinstance(node, dict):
        if "table_name" in node:
            yield node
        for value in node.values():
            yield from tables(value)
    elif isinstance(node, list):
        for value in node:
            yield from tables(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=1000, help="rows a table may read (default 1000)")
    ap.add_argument("--key", help="the key the first table must be read through")
    args = ap.parse_args()
    text = sys.stdin.read().strip()
    plan = json.loads(text)
    bad = []
    found = list(tables(plan))
    if not found:
        # e.g. "Impossible WHERE noticed after reading const tables": a unique key found no row
        print("   (no table read: %s)" % json.dumps(plan.get("query_block", plan).get("table", {}).get("message", plan))[:200])
    for t in found:
        name, access = t["table_name"], t.get("access_type", "(write)")
        key = t.get("key", "-")
        line = "   %-18s %-8s %-36s est %-8s" % (name, access, key, t.get("rows", "-"))
        if "r_loops" in t:
            read = float(t.get("r_loops", 0)) * float(t.get("r_rows", 0) or 0)
            lookups = float(t.get("rowid_filter", {}).get("r_lookups", 0) or 0)
            line += " read %-8.0f" % read
            if lookups:
                line += " filter lookups %.0f" % lookups
            if max(read, lookups) > args.limit:
                bad.append("%s reads %.0f rows (%.0f filter lookups)" % (name, read, lookups))
        elif access in ("ALL", "index") and float(t.get("rows", 0) or 0) > args.limit:
            bad.append("%s: %s over %s rows" % (name, access, t.get("rows")))
        print(line.rstrip())
    for b in bad:
        print("   TOO MANY ROWS: " + b)
    if bad:
        sys.exit(1)
    if args.key and found and found[0].get("key") != args.key:
        print("   WARNING: %s is read through %s, not %s" % (found[0]["table_name"], found[0].get("key"), args.key))
        sys.exit(2)


if __name__ == "__main__":
    main()
