#!/usr/bin/env bash
# scripts/bench/reconcile.sh [dev|test] — the reconciliation of one big day (README "Reconciliation"):
# BENCH_RECONCILE_TRADES (100000) paid trades and a full refund of the first BENCH_RECONCILE_REFUNDS
# (5000) of them, all on one past day (BENCH_RECONCILE_DATE, 2001-02-03), written by
# scripts/bench/gen-bill-day.py into the sandbox's trades file (the sandbox is stopped meanwhile)
# and into the database as the orders and succeeded refunds of a staff bench user (903), the last
# BENCH_RECONCILE_PLANTED (20000) unpaid-back orders booked 0.01 dearer than Alipay took, so that
# the day has that many open amount_mismatch items. Then:
#   `luffy-pay reconcile --date D`: wall seconds and the process's peak memory (ru_maxrss), checked:
#       exit 0, the run done, every bill row stored, exactly the planted amount_mismatch items;
#   the same again (a re-run: nothing added);
#   wrk through nginx (2 threads, 16 connections, BENCH_DURATION 10s) on the staff API:
#       GET /admin/reconciliation?date=D, GET /admin/reconciliation/items?date=D&state=open&size=20,
#       POST /admin/reconciliation/items/<id>/resolve once per open item (scripts/bench/resolve-item.lua;
#       for 3 s, within the pool: every answer must be 200).
# Everything is removed afterwards (orders, refunds, events, the day's run, bill, rows and items, the
# user, the sandbox's bench trades). The stack (dev by default; `test` honours
# LUFFY_TEST_PORT_OFFSET) is started if needed and left running.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

STACK=${1:-dev}
TRADES=${BENCH_RECONCILE_TRADES:-100000}
REFUNDS=${BENCH_RECONCILE_REFUNDS:-5000}
PLANTED=${BENCH_RECONCILE_PLANTED:-20000}
DAY=${BENCH_RECONCILE_DATE:-2001-02-03}
DURATION=${BENCH_DURATION:-10s}
STACK_SH=$ROOT/scripts/stack.sh
BENCH_DIR=$ROOT/scripts/bench
BENCH_USER=903        # bench.sh uses 900, brownout.sh 901, refund-worker.sh 902
case "$STACK" in dev|test) ;; *) die "usage: scripts/bench/reconcile.sh [dev|test]" ;; esac
[[ "$TRADES" =~ ^[1-9][0-9]{0,6}$ ]] || die "BENCH_RECONCILE_TRADES must be 1..9999999"
[[ "$REFUNDS" =~ ^[0-9]{1,7}$ && "$REFUNDS" -le "$TRADES" ]] || die "BENCH_RECONCILE_REFUNDS must be 0..trades"
[[ "$PLANTED" =~ ^[1-9][0-9]{0,6}$ && "$PLANTED" -le $((TRADES - REFUNDS)) ]] \
    || die "BENCH_RECONCILE_PLANTED must be 1..the unrefunded trades"
[[ "$DAY" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || die "BENCH_RECONCILE_DATE must be YYYY-MM-DD"

"$STACK_SH" "$STACK" up
eval "$("$STACK_SH" "$STACK" info)"
setting() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; }
STATE_FILE=$(setting LUFFY_SANDBOX_STATE_FILE)
[ -n "$STATE_FILE" ] || die "the $STACK stack's sandbox keeps no trades file (LUFFY_SANDBOX_STATE_FILE)"
# The shop's zone (the app's default when the settings leave it out), as the sessions' offset and in seconds.
SHOP_TZ=$(setting LUFFY_TIMEZONE)
SHOP_TZ=${SHOP_TZ:-Asia/Shanghai}
SHOP_OFFSET=$(TZ=$SHOP_TZ date +%:z)
OFFSET_SECONDS=$(( $(TZ=$SHOP_TZ date +%z | sed -E 's/^([+-])0?([0-9]+)([0-9]{2})$/\1(\2*3600+\3*60)/') ))
WORK_DIR=$STACK_DIR/bench
mkdir -p "$WORK_DIR"
ORDERS_TSV=$WORK_DIR/reconcile-orders.tsv
REFUNDS_TSV=$WORK_DIR/reconcile-refunds.tsv
ITEMS_POOL=$WORK_DIR/reconcile-items.txt
LOG=$LOG_DIR/bench-reconcile.txt
bench_sql() { mariadb --defaults-file="$CLIENT_CNF" --local-infile=1 --init-command="SET time_zone = '$SHOP_OFFSET'" luffycity -N -B <<<"$1"; }
BENCH_ORDERS="SELECT id FROM ly_order WHERE user_id = $BENCH_USER"
gen() { python3 "$BENCH_DIR/gen-bill-day.py" --state "$STATE_FILE" --date "$DAY" --user "$BENCH_USER" "$@"; }

cleanup() {
    bench_sql "
        START TRANSACTION;
        DELETE FROM ly_reconcile_item WHERE bill_date = '$DAY';
        DELETE FROM ly_bill_row WHERE bill_date = '$DAY';
        DELETE FROM ly_reconcile_bill WHERE bill_date = '$DAY';
        DELETE FROM ly_reconcile_run WHERE bill_date = '$DAY';
        DELETE r, rc, e FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id
        LEFT JOIN ly_refund_event e ON e.refund_id = r.id WHERE r.order_id IN ($BENCH_ORDERS);
        DELETE FROM ly_order WHERE user_id = $BENCH_USER;
        DELETE FROM ly_users WHERE id = $BENCH_USER;
        COMMIT;" || warn "removing the bench day $DAY and user $BENCH_USER failed"
    if grep -q "\"out_trade_no\":\"${DAY//-/}$(printf '%08d' $BENCH_USER)" "$STATE_FILE" 2>/dev/null; then
        "$STACK_SH" "$STACK" sandbox-stop >/dev/null
        gen --remove || warn "removing the bench trades from $STATE_FILE failed"
        "$STACK_SH" "$STACK" sandbox-start >/dev/null
    fi
    rm -f "$ORDERS_TSV" "$REFUNDS_TSV" "$ITEMS_POOL"
}
trap cleanup EXIT
cleanup

busy=$(pgrep -x wrk || true; pgrep -f pytest || true)
[ -z "$busy" ] || warn "other wrk or pytest processes are running (pids $(echo "$busy" | tr '\n' ' ')): the figures will be disturbed"

step "reconcile bench: $TRADES trades and $REFUNDS refunds on $DAY into the sandbox's trades file and the database"
"$STACK_SH" "$STACK" sandbox-stop >/dev/null
gen --trades "$TRADES" --refunds "$REFUNDS" --planted "$PLANTED" --utc-offset "$OFFSET_SECONDS" --orders "$ORDERS_TSV" --refunds-out "$REFUNDS_TSV"
"$STACK_SH" "$STACK" sandbox-start >/dev/null
bench_sql "
    START TRANSACTION;
    INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
                          is_active, date_joined, mobile, money, credit, avatar, nickname)
    VALUES ($BENCH_USER, '!', NULL, 0, 'bench-reconcile', '', '', 'bench-reconcile@luffycity.test', 1, 1, NOW(6),
            '19900000903', 0, 0, NULL, 'bench');
    LOAD DATA LOCAL INFILE '$ORDERS_TSV' INTO TABLE ly_order
        (order_number, trade_no, @amount, pay_time, order_status, refunded_amount)
        SET name = '购买课程', is_deleted = 0, orders = 0, is_show = 1, created_time = pay_time - INTERVAL 30 SECOND,
            updated_time = pay_time, total_price = @amount, real_price = @amount, pay_type = 1, order_desc = '',
            credit = 0, user_id = $BENCH_USER;
    LOAD DATA LOCAL INFILE '$REFUNDS_TSV' INTO TABLE ly_refund
        (out_request_no, order_number, trade_no, amount, @at)
        SET order_id = (SELECT id FROM ly_order o WHERE o.order_number = ly_refund.order_number), order_seq = 1,
            reason = '对账压测', source = 'staff', state = 'succeeded', requested_by = $BENCH_USER,
            approved_by = $BENCH_USER, fund_change = 'Y', attempts = 1, created_time = @at - INTERVAL 5 SECOND,
            updated_time = @at;
    INSERT INTO ly_refund_event (refund_id, from_state, to_state, actor, created_time)
    SELECT id, 'processing', 'succeeded', 'worker', updated_time FROM ly_refund WHERE order_id IN ($BENCH_ORDERS);
    COMMIT;"
read -r orders refunds <<<"$(bench_sql "SELECT (SELECT COUNT(*) FROM ly_order WHERE user_id = $BENCH_USER),
    (SELECT COUNT(*) FROM ly_refund WHERE order_id IN ($BENCH_ORDERS) AND state = 'succeeded')")"
if [ "$orders" != "$TRADES" ] || [ "$refunds" != "$REFUNDS" ]; then die "the database holds $orders orders and $refunds refunds of the bench, not $TRADES and $REFUNDS"; fi

# measure CMD…: runs it (output appended to $LOG), prints "seconds peak_kib exit" (ru_maxrss of the child)
measure() {
    python3 -c '
import resource, subprocess, sys, time
started = time.monotonic()
with open(sys.argv[1], "a") as log:
    rc = subprocess.run(sys.argv[2:], stdout=log, stderr=log).returncode
print("%.2f %d %d" % (time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc))
' "$LOG" "$@"
}
reconcile_cmd=(env -i PATH="$PATH" LUFFY_CONFIG="$ENV_FILE" "$APP_BIN" reconcile --date "$DAY")
: >"$LOG"
step "reconcile bench: luffy-pay reconcile --date $DAY"
read -r first_s first_kib first_rc <<<"$(measure "${reconcile_cmd[@]}")"
step "reconcile bench: the same date again (a re-run)"
read -r again_s again_kib again_rc <<<"$(measure "${reconcile_cmd[@]}")"

rc=0
read -r run_state bill_rows items open_items <<<"$(bench_sql "
    SELECT (SELECT state FROM ly_reconcile_run WHERE bill_date = '$DAY'),
           (SELECT COUNT(*) FROM ly_bill_row WHERE bill_date = '$DAY'),
           (SELECT COUNT(*) FROM ly_reconcile_item WHERE bill_date = '$DAY'),
           (SELECT COUNT(*) FROM ly_reconcile_item WHERE bill_date = '$DAY' AND kind = 'amount_mismatch' AND state = 'open')")"
if [ "$first_rc" != 0 ] || [ "$again_rc" != 0 ]; then warn "CHECK FAILED: reconcile exited $first_rc, then $again_rc ($LOG)"; rc=1; fi
[ "$run_state" = "done" ] || { warn "CHECK FAILED: the run of $DAY is '$run_state', not done"; rc=1; }
[ "$bill_rows" = $((TRADES + REFUNDS)) ] || { warn "CHECK FAILED: $bill_rows bill rows stored, not $((TRADES + REFUNDS))"; rc=1; }
if [ "$items" != "$PLANTED" ] || [ "$open_items" != "$PLANTED" ]; then
    warn "CHECK FAILED: $items items ($open_items open amount_mismatch), not the $PLANTED planted"; rc=1
fi

# The staff API through nginx.
TOKEN=$("$STACK_SH" "$STACK" token "$BENCH_USER")
AUTH="Authorization: jwt $TOKEN"
bench_sql "SELECT id FROM ly_reconcile_item WHERE bill_date = '$DAY' AND state = 'open'" | sed "s/\$/ $TOKEN/" >"$ITEMS_POOL"
wrk_line() {   # wrk_line LABEL [wrk args…] URL: one table row
    local label=$1 out
    shift
    out=$(wrk -t2 -c16 -d"$DURATION" --latency "$@")
    echo "$out" >>"$LOG"
    awk -v label="$label" '
        $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } $1 == "Requests/sec:" { rps = $2 }
        /Non-2xx or 3xx/ { bad = $NF } /^bench-check:/ { sub(/^bench-check: /, ""); check = check " " $0 }
        END { printf "%-58s %9s req/s  p50 %8s  p99 %8s  non-2xx %d%s\n", label, rps, p50, p99, bad + 0, check }' <<<"$out"
}
step "reconcile bench: the staff API, wrk -t2 -c16 -d$DURATION"
summary=$(wrk_line "GET /admin/reconciliation?date=$DAY" -H "$AUTH" "$BASE_URL/admin/reconciliation?date=$DAY")
list=$(wrk_line "GET /admin/reconciliation/items?date=$DAY&state=open&size=20" -H "$AUTH" \
    "$BASE_URL/admin/reconciliation/items?date=$DAY&state=open&size=20")
resolve=$(DURATION=3s BENCH_ITEMS_POOL=$ITEMS_POOL BENCH_LUA_THREADS=2 wrk_line "POST /admin/reconciliation/items/<id>/resolve" \
    -s "$BENCH_DIR/resolve-item.lua" "$BASE_URL")
resolved=$(bench_sql "SELECT COUNT(*) FROM ly_reconcile_item WHERE bill_date = '$DAY' AND state = 'resolved'")
# Every answer a 200 for an item of its own (no repeats), each one resolved in the database (a
# request in flight when wrk stops may be resolved without wrk counting its answer).
read -r sent good bad repeats <<<"$(sed -n 's/.* sent=\([0-9]*\) resolved=\([0-9]*\) not_200=\([0-9]*\) repeats=\([0-9]*\).*/\1 \2 \3 \4/p' <<<"$resolve")"
if [ -z "$sent" ] || [ "$bad" != 0 ] || [ "$repeats" != 0 ] || [ "$resolved" -lt "$good" ] || [ "$resolved" -gt "$sent" ]; then
    warn "CHECK FAILED: the resolve run: every request a 200 for an item of its own, $resolved resolved ($resolve)"; rc=1
fi

echo "reconcile: $TRADES trades and $REFUNDS refunds of $DAY ($(nproc) cores):" \
     "first run ${first_s} s, peak memory $((first_kib / 1024)) MiB; re-run ${again_s} s, peak $((again_kib / 1024)) MiB" \
     "(luffy-pay reconcile --date $DAY: claim, URL, download, unzip, GBK, parse, store, compare)"
printf '%s\n' "$summary" "$list" "$resolve"
exit $rc
