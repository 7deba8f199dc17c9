#!/usr/bin/env bash
# scripts/bench/refund-worker.sh [dev|test] — the refund worker's throughput against the stack's
# alipay-sandbox (README "Refund worker"): BENCH_REFUNDS (1000) trades opened and paid at the
# sandbox (scripts/bench/open-trades.py, no notification), as many paid orders of a bench user
# (902) and one approved full refund of each, then `luffy-pay refunds run` passes (each claims,
# sends and records every due refund; BENCH_REFUND_WORKERS (1) of them at once) until all have
# succeeded: refunds/s = refunds / wall time.
# The stack's `serve` runs its own worker every LUFFY_REFUND_INTERVAL s (dev) and may take a share:
# any number of workers is safe. Checked: every refund succeeded with one gateway call, every order
# is status 4 with its amount refunded, and the sandbox shows the first and the last trade refunded.
# The bench user's orders, refunds and events are removed whatever happens (the trades stay in the
# sandbox's record, refunded and closed, as they would at Alipay). The stack (dev by default;
# `test` honours LUFFY_TEST_PORT_OFFSET like make test) is started if needed and left running.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

STACK=${1:-dev}
REFUNDS=${BENCH_REFUNDS:-1000}
WORKERS=${BENCH_REFUND_WORKERS:-1}
STACK_SH=$ROOT/scripts/stack.sh
BENCH_DIR=$ROOT/scripts/bench
VENV=$ROOT/.venv
BENCH_USER=902        # scripts/bench.sh uses 900, brownout.sh 901
case "$STACK" in dev|test) ;; *) die "usage: scripts/bench/refund-worker.sh [dev|test]" ;; esac
[[ "$REFUNDS" =~ ^[1-9][0-9]{0,4}$ ]] || die "BENCH_REFUNDS must be 1..99999"
[[ "$WORKERS" =~ ^[1-8]$ ]] || die "BENCH_REFUND_WORKERS must be 1..8"
make_venv || die "python3 -m venv could not create the project venv .venv"
pip_install_pinned "$BENCH_DIR/requirements.txt" || die "pip could not install scripts/bench/requirements.txt into .venv"

"$STACK_SH" "$STACK" up
eval "$("$STACK_SH" "$STACK" info)"
setting() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; }
WORK_DIR=$STACK_DIR/bench
mkdir -p "$WORK_DIR"
ORDERS_TSV=$WORK_DIR/refund-orders.tsv
TRADES_TSV=$WORK_DIR/refund-trades.tsv
RUN_LOG=$LOG_DIR/bench-refund-worker.txt
# (the statements on stdin: the orders are one INSERT of BENCH_REFUNDS rows, too long for argv)
bench_sql() { mariadb --defaults-file="$CLIENT_CNF" luffycity -N -B <<<"$1"; }
BENCH_ORDERS="SELECT id FROM ly_order WHERE user_id = $BENCH_USER"

cleanup() {
    bench_sql "
        START TRANSACTION;
        DELETE r, rc, e FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id
        LEFT JOIN ly_refund_event e ON e.refund_id = r.id WHERE r.order_id IN ($BENCH_ORDERS);
        DELETE FROM ly_order WHERE user_id = $BENCH_USER;
        DELETE FROM ly_users WHERE id = $BENCH_USER;
        COMMIT;" || warn "removing the bench user $BENCH_USER failed"
    rm -f "$ORDERS_TSV" "$TRADES_TSV"
}
trap cleanup EXIT
cleanup

busy=$(pgrep -x wrk || true; pgrep -f pytest || true)
[ -z "$busy" ] || warn "other wrk or pytest processes are running (pids $(echo "$busy" | tr '\n' ' ')): the figures will be disturbed"

# Order numbers: YYYYMMDD + %08d user, as the app's, then the run's HHMMSS and %05d: the sandbox
# keeps its trades across runs (and refuses to pay one twice). Amounts 1.00 … 99.99.
RUN=$(bench_sql "SELECT DATE_FORMAT(NOW(), '%Y%m%d')")$(printf '%08d' $BENCH_USER)$(bench_sql "SELECT DATE_FORMAT(NOW(), '%H%i%s')")
awk -v n="$REFUNDS" -v prefix="$RUN" 'BEGIN {
    for (i = 0; i < n; i++) printf "%s%05d\t%d.%02d\n", prefix, i, 1 + i % 99, i % 100 }' >"$ORDERS_TSV"

step "refund bench: $REFUNDS trades opened and paid at the sandbox (127.0.0.1:$SANDBOX_PORT)"
"$VENV/bin/python" "$BENCH_DIR/open-trades.py" --key "$(setting LUFFY_ALIPAY_APP_PRIVATE_KEY)" \
    --app-id "$(setting LUFFY_ALIPAY_APP_ID)" --gateway "$(setting LUFFY_ALIPAY_GATEWAY)" \
    --orders "$ORDERS_TSV" --out "$TRADES_TSV"

step "refund bench: $REFUNDS paid orders of user $BENCH_USER, one approved full refund each"
values=$(paste "$ORDERS_TSV" "$TRADES_TSV" | awk -F'\t' -v u="$BENCH_USER" '{
    printf "%s(\"购买课程\", 0, 0, 1, NOW(6), NOW(6), %s, %s, \"%s\", 1, 0, NULL, NOW(6), 0, %s, \"%s\")",
           (NR > 1 ? "," : ""), $2, $2, $1, u, $4 }')
bench_sql "
    START TRANSACTION;
    INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
                          is_active, date_joined, mobile, money, credit, avatar, nickname)
    VALUES ($BENCH_USER, '!', NULL, 0, 'bench-refunds', '', '', 'bench-refunds@luffycity.test', 0, 1, NOW(6),
            '19900000902', 0, 0, NULL, 'bench');
    INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price,
                          order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no)
    VALUES $values;
    INSERT INTO ly_refund (out_request_no, order_id, order_number, order_seq, trade_no, amount, reason, source, state,
                           requested_by, approved_by, payment_source, attempts, next_attempt_time, created_time, updated_time)
    SELECT CONCAT('R', order_number, '-1'), id, order_number, 1, trade_no, real_price, '退款压测', 'staff', 'approved',
           $BENCH_USER, $BENCH_USER, NULL, 0, NOW(6), NOW(6), NOW(6)
    FROM ly_order WHERE user_id = $BENCH_USER;
    INSERT INTO ly_refund_event (refund_id, from_state, to_state, actor, created_time)
    SELECT id, NULL, 'approved', 'staff:$BENCH_USER', NOW(6) FROM ly_refund WHERE order_id IN ($BENCH_ORDERS);
    COMMIT;"

succeeded() { bench_sql "SELECT COUNT(*) FROM ly_refund WHERE order_id IN ($BENCH_ORDERS) AND state = 'succeeded'"; }
step "refund bench: luffy-pay refunds run until every refund succeeded"
: >"$RUN_LOG"
started=$(date +%s.%N)
deadline=$(( $(date +%s) + 60 + REFUNDS / 5 ))
passes=0
while [ "$(succeeded)" -lt "$REFUNDS" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "refund bench: $(succeeded) of $REFUNDS refunds succeeded before the deadline ($RUN_LOG)"
    pids=()
    for _ in $(seq "$WORKERS"); do
        (
            for v in $(compgen -v LUFFY_ || true); do unset "$v"; done
            LUFFY_CONFIG=$ENV_FILE exec "$APP_BIN" refunds run
        ) >>"$RUN_LOG" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || die "luffy-pay refunds run failed ($RUN_LOG)"; done
    passes=$((passes + WORKERS))
done
ended=$(date +%s.%N)

# What the sandbox and the books show.
read -r once orders_done refunded paid <<<"$(bench_sql "
    SELECT (SELECT COUNT(*) FROM ly_refund WHERE order_id IN ($BENCH_ORDERS) AND state = 'succeeded' AND attempts = 1),
           SUM(order_status = 4), SUM(refunded_amount), SUM(real_price)
    FROM ly_order WHERE user_id = $BENCH_USER")"
rc=0
[ "$once" = "$REFUNDS" ] || { warn "CHECK FAILED: $once of $REFUNDS refunds succeeded with one gateway call"; rc=1; }
if [ "$orders_done" != "$REFUNDS" ] || [ "$refunded" != "$paid" ]; then
    warn "CHECK FAILED: $orders_done orders refunded in full (refunded $refunded of $paid)"
    rc=1
fi
for number in "$(head -n1 "$ORDERS_TSV" | cut -f1)" "$(tail -n1 "$ORDERS_TSV" | cut -f1)"; do
    trade=$(curl -s --max-time 10 "http://127.0.0.1:$SANDBOX_PORT/sandbox/trades/$number") || trade=""
    [[ "$trade" == *'"trade_status":"TRADE_CLOSED"'* && "$trade" == *"\"out_request_no\":\"R$number-1\""* ]] \
        || { warn "CHECK FAILED: the sandbox's record of $number: ${trade:0:300}"; rc=1; }
done
echo "refund worker: $REFUNDS approved refunds sent and recorded in $(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }') s," \
     "$(awk -v n="$REFUNDS" -v a="$started" -v b="$ended" 'BEGIN { printf "%.0f", n / (b - a) }') refunds/s" \
     "($passes \`luffy-pay refunds run\` pass(es), $WORKERS at a time, $(nproc) cores; each: claim, alipay.trade.refund at the sandbox, success transaction)"
exit $rc
