#!/usr/bin/env bash
# scripts/bench/cluster.sh [cluster|cluster-test] — `make bench-cluster`: the cluster's figures
# (deploy/CLUSTER.md, "Figures"). On the cluster stack (started if needed; `cluster-test` honours
# LUFFY_TEST_PORT_OFFSET), for LUFFY_DB_WRITE_MODE single and spread (the instances restarted with
# it), through instance 1 alone (its own nginx port) and through the balanced port (both):
#   POST /orders  (2 courses, no coupon; scripts/bench/post-order.lua), each request another bench
#       user's first order (scripts/bench/gen-tokens.py): orders/s = 201 answers ÷ seconds
#   POST /payments/alipay/notify  one distinct signed TRADE_SUCCESS per request, each for its own
#       unpaid one-course order of its own (user, course) (scripts/bench/gen-notify.py, notify.lua):
#       settlements/s = orders paid ÷ seconds, every settlement granting its course
# then the failover gap: POST /orders through the balanced port from scripts/bench/failover.py
# (BENCH_FAILOVER_THREADS, 16 threads, 40 s); 10 s in, node 1 is killed (-9); the longest time
# without a 201 and the other answers; then node 1 is started again (it rejoins by IST) and
# `luffy-pay audit` must pass on the cluster.
# Prints one table. Knobs: BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# BENCH_CLUSTER_POOL (10000: users, and orders to settle, per run). Bench users are ids
# 3,000,000–3,999,999; everything they did is removed afterwards (ly_course.students too) and
# LUFFY_DB_WRITE_MODE in luffy-pay.env is put back as it was. wrk's output: log/bench-cluster-*.txt.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

STACK=${1:-cluster}
case "$STACK" in cluster|cluster-test) ;; *) die "usage: scripts/bench/cluster.sh [cluster|cluster-test]" ;; esac
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
POOL=${BENCH_CLUSTER_POOL:-10000}
FAILOVER_THREADS=${BENCH_FAILOVER_THREADS:-16}
[[ "$POOL" =~ ^[1-9][0-9]{0,5}$ && "$POOL" -le 100000 ]] || die "BENCH_CLUSTER_POOL must be 1..100000"
[[ "$FAILOVER_THREADS" =~ ^[1-9][0-9]?$ ]] || die "BENCH_FAILOVER_THREADS must be 1..99"
STACK_SH=$ROOT/scripts/stack.sh
BENCH_DIR=$ROOT/scripts/bench
VENV=$ROOT/.venv
FIRST=3000000                # the order users: 6 slices of POOL (4 wrk runs, 2 for the failover run)
NOTIFY_FIRST=3500000         # the notify users: 4 slices of POOL orders
LAST=3999999
MODES=(single spread)

"$STACK_SH" "$STACK" up
eval "$("$STACK_SH" "$STACK" info)"
WORK_DIR=$STACK_DIR/bench
mkdir -p "$WORK_DIR"
setting() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; }
SHOP_OFFSET=$(TZ=$(setting LUFFY_TIMEZONE | grep . || echo Asia/Shanghai) date +%:z)
bench_query() { mariadb --defaults-file="$CLIENT_CNF" --init-command="SET time_zone = '$SHOP_OFFSET'" -N -B -e "$1"; }
BENCH_USERS="(user_id BETWEEN $FIRST AND $LAST)"
# Settling granted courses and added students: taken back first, then the rows go.
cleanup() {
    bench_query "
        START TRANSACTION;
        UPDATE ly_course c JOIN (SELECT course_id, COUNT(*) AS n FROM ly_user_course WHERE $BENCH_USERS GROUP BY course_id) x
            ON x.course_id = c.id SET c.students = c.students - x.n;
        DELETE FROM ly_alipay_notification WHERE order_id IN (SELECT id FROM ly_order WHERE $BENCH_USERS);
        DELETE FROM ly_user_course WHERE $BENCH_USERS;
        DELETE FROM ly_credit WHERE $BENCH_USERS;
        DELETE oc FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id WHERE o.user_id BETWEEN $FIRST AND $LAST;
        DELETE FROM ly_order WHERE $BENCH_USERS;
        DELETE FROM ly_idempotency_key WHERE $BENCH_USERS;
        DELETE FROM ly_users WHERE id BETWEEN $FIRST AND $LAST;
        COMMIT;"
}

MODE_BEFORE=$(setting LUFFY_DB_WRITE_MODE)
set_mode() {   # set_mode MODE|"": LUFFY_DB_WRITE_MODE in luffy-pay.env (empty: the app's default), instances restarted
    sed -i '/^LUFFY_DB_WRITE_MODE=/d' "$ENV_FILE"
    [ -z "$1" ] || echo "LUFFY_DB_WRITE_MODE=$1" >>"$ENV_FILE"
    "$STACK_SH" "$STACK" app-stop 1
    "$STACK_SH" "$STACK" app-stop 2
    "$STACK_SH" "$STACK" up >/dev/null   # writes app1.env and app2.env again, starts the instances
}
finish() {   # also after a failure: node 1 back, the bench data gone, the setting as it was
    local rc=$?
    trap - EXIT
    if [ "$("$STACK_SH" "$STACK" node-status 1)" = down ]; then "$STACK_SH" "$STACK" node-start 1 || rc=1; fi
    cleanup || rc=1
    if [ "$(setting LUFFY_DB_WRITE_MODE)" != "$MODE_BEFORE" ]; then set_mode "$MODE_BEFORE" || rc=1; fi
    exit "$rc"
}
trap finish EXIT

cleanup   # what an interrupted run left behind
AUDIT_BEFORE=$(LUFFY_CONFIG=$ENV_FILE "$APP_BIN" audit 2>&1 | tail -n1) && AUDIT_BEFORE_OK=1 || AUDIT_BEFORE_OK=0
STUDENTS_BEFORE=$(bench_query "SELECT id, students FROM ly_course ORDER BY id")
make_venv || die "python3 -m venv could not create the project venv .venv"
pip_install_pinned "$BENCH_DIR/requirements.txt" || die "pip could not install scripts/bench/requirements.txt into .venv"

create_users() {   # create_users FIRST COUNT (bench<id>, as gen-tokens.py names them)
    bench_query "
        INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
                              is_active, date_joined, mobile, money, credit, avatar, nickname)
        SELECT $1 + seq, '!', NULL, 0, CONCAT('bench', $1 + seq), '', '', CONCAT('bench', $1 + seq, '@luffycity.test'), 0,
               1, NOW(6), CONCAT('199', LPAD($1 + seq, 8, '0')), 0, 0, NULL, 'bench'
        FROM seq_0_to_$(($2 - 1));"
}

step "bench data: $((6 * POOL)) order users, $((4 * POOL)) unpaid orders to settle (ids from $FIRST)"
create_users "$FIRST" $((6 * POOL))
python3 "$BENCH_DIR/gen-tokens.py" --env-file "$ENV_FILE" --first "$FIRST" --count $((6 * POOL)) \
    --out "$WORK_DIR/cluster-tokens.txt"
for s in 0 1 2 3; do
    sed -n "$((s * POOL + 1)),$(((s + 1) * POOL))p" "$WORK_DIR/cluster-tokens.txt" >"$WORK_DIR/cluster-tokens-$s.txt"
done
sed -n "$((4 * POOL + 1)),\$p" "$WORK_DIR/cluster-tokens.txt" >"$WORK_DIR/cluster-tokens-failover.txt"
COURSES=$(bench_query "SELECT COUNT(*) FROM ly_course WHERE is_deleted = 0 AND is_show = 1")
NOTIFY_USERS=$(((4 * POOL + COURSES - 1) / COURSES))
create_users "$NOTIFY_FIRST" "$NOTIFY_USERS"
# order k: user NOTIFY_FIRST + k div COURSES, the visible courses in turn, at list price, unpaid
DAY=$(bench_query "SELECT DATE_FORMAT(NOW(), '%Y%m%d')")
NUMBER="CONCAT('$DAY', LPAD($NOTIFY_FIRST + s.seq DIV @n, 8, '0'), LPAD(93000000 + s.seq, 8, '0'))"
VISIBLE="SELECT id, name, price, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM ly_course WHERE is_deleted = 0 AND is_show = 1"
bench_query "
    SET @n = $COURSES;
    INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price,
                          order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no)
    SELECT '购买课程', 0, 0, 1, NOW(6), NOW(6), c.price, c.price, $NUMBER, 0, 0, NULL, NULL, 0, $NOTIFY_FIRST + s.seq DIV @n, NULL
    FROM seq_0_to_$((4 * POOL - 1)) s JOIN ($VISIBLE) c ON c.k = s.seq % @n;
    INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, real_price,
                                 discount_name, course_id, order_id)
    SELECT c.name, 0, 0, 1, NOW(6), NOW(6), c.price, c.price, '', c.id, o.id
    FROM seq_0_to_$((4 * POOL - 1)) s JOIN ($VISIBLE) c ON c.k = s.seq % @n JOIN ly_order o ON o.order_number = $NUMBER;"
bench_query "SELECT order_number, real_price FROM ly_order WHERE user_id BETWEEN $NOTIFY_FIRST AND $LAST ORDER BY order_number" \
    >"$WORK_DIR/cluster-orders.tsv"
"$VENV/bin/python" "$BENCH_DIR/gen-notify.py" --key "$(setting LUFFY_SANDBOX_PRIVATE_KEY)" \
    --app-id "$(setting LUFFY_ALIPAY_APP_ID)" --seller-id "$(setting LUFFY_ALIPAY_SELLER_ID)" --tag 3 \
    --orders "$WORK_DIR/cluster-orders.tsv" --out "$WORK_DIR/cluster-bodies.txt"
for s in 0 1 2 3; do
    sed -n "$((s * POOL + 1)),$(((s + 1) * POOL))p" "$WORK_DIR/cluster-bodies.txt" >"$WORK_DIR/cluster-bodies-$s.txt"
done
PAID="SELECT COUNT(*) FROM ly_order WHERE user_id BETWEEN $NOTIFY_FIRST AND $LAST AND order_status = 1"
sleep 2   # the signing processes' CPU settles

ROW_FORMAT='%-20s %-7s %-11s %9s %9s %9s %9s %9s'
RESULTS=()
NOTES=()
FAILED=()
export BENCH_LUA_THREADS=$THREADS

wrk_run() {   # wrk_run NAME URL PATH SCRIPT: $LAST_OUT
    LAST_OUT=$LOG_DIR/bench-cluster-$1.txt
    step "wrk -t$THREADS -c$CONNECTIONS -d$DURATION $1"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$4" "$2$3" >"$LAST_OUT"
    sleep 1   # requests in flight when wrk stopped finish
}
row() {   # row WHAT MODE THROUGH DONE: req/s, p50, p99, DONE per second, answers other than the good ones
    awk -v what="$1" -v mode="$2" -v through="$3" -v done_n="$4" -v fmt="$ROW_FORMAT" '
        $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } $1 == "Requests/sec:" { rps = $2 }
        / requests in / { t = $4; sub(/,$/, "", t); if (t ~ /ms$/) { sub(/ms$/, "", t); t /= 1000 }
                          else if (t ~ /m$/) { sub(/m$/, "", t); t *= 60 } else sub(/s$/, "", t) }
        /^bench-check:/ { for (i = 2; i <= NF; i++) if ($i ~ /^not_/) { split($i, kv, "="); bad = kv[2] } }
        END { printf fmt "\n", what, mode, through, rps, p50, p99, sprintf("%.1f", done_n / t), bad + 0 }' "$LAST_OUT"
}

check_run() {   # check_run WHAT BAD_KEY: answers that are not good are noted, a repeated request fails the run
    local bad
    bad=$(sed -n "s/^bench-check: .* $2=\([0-9]*\) .*/\1/p" "$LAST_OUT")
    [ "$bad" = 0 ] || NOTES+=("$1: ${bad:-?} answers not good, the first: $(sed -n 's/^bench-check: first //p' "$LAST_OUT")")
    grep -q ' repeats=0$' "$LAST_OUT" || FAILED+=("$1: the pool of $POOL ran out (raise BENCH_CLUSTER_POOL)")
}

slice=0
for mode in "${MODES[@]}"; do
    step "LUFFY_DB_WRITE_MODE=$mode: the instances restart"
    set_mode "$mode"
    for target in one both; do
        url=$URL1 label="instance 1"
        [ "$target" = both ] && url=$BASE_URL label="both"
        export BENCH_ORDER_TOKENS=$WORK_DIR/cluster-tokens-$slice.txt
        wrk_run "orders-$mode-$target" "$url" /orders "$BENCH_DIR/post-order.lua"
        created=$(bench_query "SELECT COUNT(*) FROM ly_order WHERE user_id BETWEEN $((FIRST + slice * POOL)) AND $((FIRST + (slice + 1) * POOL - 1))")
        check_run "orders $mode $target" not_201
        RESULTS+=("$(row "POST /orders" "$mode" "$label" "$created")")
        export BENCH_NOTIFY_BODIES=$WORK_DIR/cluster-bodies-$slice.txt
        paid_before=$(bench_query "$PAID")
        wrk_run "notify-$mode-$target" "$url" /payments/alipay/notify "$BENCH_DIR/notify.lua"
        settled=$(($(bench_query "$PAID") - paid_before))
        check_run "notify $mode $target" not_success
        RESULTS+=("$(row "notify (settlement)" "$mode" "$label" "$settled")")
        slice=$((slice + 1))
    done
done
set_mode "$MODE_BEFORE"
MODE_NOW=${MODE_BEFORE:-the default}

step "failover: POST /orders through $BASE_URL from $FAILOVER_THREADS threads, node 1 killed (-9) after 10 s"
FAILOVER=$("$VENV/bin/python" "$BENCH_DIR/failover.py" --url "$BASE_URL" --tokens "$WORK_DIR/cluster-tokens-failover.txt" \
    --threads "$FAILOVER_THREADS" --duration 40 --kill-after 10 --kill "$STACK_SH $STACK node-kill 1")
echo "$FAILOVER" >"$LOG_DIR/bench-cluster-failover.txt"
step "node 1 rejoins"
REJOIN=$( { time -p "$STACK_SH" "$STACK" node-start 1; } 2>&1 | grep -E 'state transfer|^real' | tr '\n' ' ')

step "luffy-pay audit on the cluster (after the kill, before the cleanup)"
if ! AUDIT=$(LUFFY_CONFIG=$ENV_FILE "$APP_BIN" audit 2>&1 | tail -n1); then
    if [ "$AUDIT_BEFORE_OK" = 1 ]; then
        FAILED+=("luffy-pay audit after the failover: $AUDIT (before the bench: $AUDIT_BEFORE)")
    else
        AUDIT+=" (before the bench already: $AUDIT_BEFORE)"
    fi
fi
cleanup
[ "$(bench_query "SELECT id, students FROM ly_course ORDER BY id")" = "$STUDENTS_BEFORE" ] \
    || FAILED+=("ly_course.students differs from before the runs after the cleanup")

echo
echo "luffy-pay cluster bench ($STACK): wrk -t$THREADS -c$CONNECTIONS -d$DURATION, 3 Galera nodes and 2 app instances on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) after"
# shellcheck disable=SC2059
printf "$ROW_FORMAT\n" run "mode" through "req/s" p50 p99 "done/s" "not good"
printf '%s\n' "${RESULTS[@]}"
echo "- mode: LUFFY_DB_WRITE_MODE; through: instance 1's own port or the balanced one (both instances)"
echo "- done/s: orders written (201) or orders settled per second of the run; 'not good': answers other than 201 / 'success'"
gap=$(sed -n 's/.* gap_s=\([^ ]*\).*/\1/p' <<<"$FAILOVER")
echo "- failover gap ($MODE_NOW mode): node 1 killed (-9) under POST /orders from $FAILOVER_THREADS threads through the balanced port: ${gap}s without a 201"
echo "  (${FAILOVER#failover: })"
echo "- node 1 rejoined: ${REJOIN:-?}"
echo "- luffy-pay audit after the failover: $AUDIT"
for n in "${NOTES[@]}"; do echo "- $n"; done
for f in "${FAILED[@]}"; do echo "CHECK FAILED: $f"; done
[ ${#FAILED[@]} = 0 ] || die "${#FAILED[@]} check(s) failed"
