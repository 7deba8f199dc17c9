#!/usr/bin/env bash
# scripts/bench/scale.sh [run|bench|load|unload|explain|migrate] — `make bench-scale`: a year of data in the
# dev stack (docs/SCALE.md).
#   run      (default) the bench on the small dev data first (kept in var/dev/scale/small.tsv; skipped
#            when the year is loaded already and that file exists), then `load`, `migrate`, the same
#            bench on the year, `explain`, `luffy-pay audit` on the year (timed), and one table: each
#            figure beside the small data's.
#   bench    only the bench of the data there is now (the year when loaded, else the small data),
#            and the table
#   load     scripts/bench/scale-data.sql: 100,000 users, 1,000,000 orders (2–3 courses each),
#            their ly_order_course / ly_user_course rows, 200,000 ly_coupon_log rows, timed per
#            statement. Idempotent: the marker var/dev/.scale-data-loaded says it is complete (a
#            second run loads nothing); a partial load (no marker) is unloaded first.
#   unload   deletes everything of the year (its id ranges, scale-data.sql's header) and the marker.
#   explain  the plan of every statement of the hot paths (the SQL of Sources/LuffyPay, with ids of
#            the year's rows; scripts/bench/plan-check.py): SELECTs by ANALYZE (the rows each table
#            really read), writes by EXPLAIN; fails when a table reads more than 1,000 rows or
#            index entries, or a write's plan scans a big table (ALL or index).
#   migrate  applies the pending migrations (`luffy-pay migrate`) with each file's time and the
#            longest stall of a write to ly_order meanwhile (a probe updates one order 20 times a
#            second: an online change keeps it short). `make up` applies pending files itself,
#            untimed: so every action, when the stack runs with the year loaded, first builds this
#            tree and applies its pending files here (merge a branch, then `make bench-scale`).
# The bench (each run wrk -t2 -c32 -dSCALE_DURATION through nginx, default 10s):
#   GET /user/order?page=1&size=5 as user 1 (the dev data's orders), and on the year as its
#       100,000 users in turn (scripts/bench/get-pool.lua); GET /coupon/enable?course_ids=1,3 as
#       user 1; POST /orders (scripts/bench/post-order.lua) as fresh users, one order each;
#       POST /payments/alipay/notify (scripts/bench/notify.lua), one settlement per request;
#   one `luffy-pay sweep` pass over 10,000 expired unpaid orders of 10,000 users (the app is
#       stopped meanwhile so that its own sweeper does not take a share).
# The pools of those runs (users 2,100,001–2,199,999, their orders, grants, notifications, the
# students their settlements added) are removed after each phase, so only the year stays.
# The load average (/proc/loadavg) is printed beside each figure: the machine is shared.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ACTION=${1:-run}
DURATION=${SCALE_DURATION:-10s}
CONNECTIONS=32
THREADS=2
STACK_SH=$ROOT/scripts/stack.sh
BENCH_DIR=$ROOT/scripts/bench
# scale-data.sql's id ranges (its header) and this script's pools
YEAR_USERS="BETWEEN 2000001 AND 2100000"
YEAR_ORDERS="BETWEEN 100000001 AND 101000000"
POOL_USERS="BETWEEN 2100001 AND 2199999"
SWEEP_FIRST=2100001 SWEEP_COUNT=10000
ORDER_FIRST=2110001 ORDER_COUNT=40000
NOTIFY_FIRST=2150001 NOTIFY_USERS=2000   # × the 10 visible courses = 20,000 orders

case "$ACTION" in run|bench|load|unload|explain|migrate) ;; *) die "usage: $0 [run|bench|load|unload|explain|migrate]" ;; esac

eval "$("$STACK_SH" dev info)"
WORK_DIR=$STACK_DIR/scale
MARKER=$STACK_DIR/.scale-data-loaded
mkdir -p "$WORK_DIR"
SHOP_TZ=$(sed -n 's/^LUFFY_TIMEZONE=//p' "$ENV_FILE" | tail -n1)
SHOP_OFFSET=$(TZ=${SHOP_TZ:-Asia/Shanghai} date +%:z)
db() { mariadb --defaults-file="$CLIENT_CNF" --init-command="SET time_zone = '$SHOP_OFFSET'" luffycity "$@"; }
sql() { db -e "$1"; }
query() { db -N -B -e "$1"; }
env_value() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, b - a }'; }   # since START [DECIMALS]
# the app with the stack's settings only, as stack.sh runs it
app() { ( for v in $(compgen -v LUFFY_ || true); do unset "$v"; done; LUFFY_CONFIG=$ENV_FILE exec "$APP_BIN" "$@" ); }

year_state() {   # complete | partial | none
    if [ -f "$MARKER" ]; then echo complete; return; fi
    if [ "$(query "SELECT EXISTS (SELECT 1 FROM ly_users WHERE id $YEAR_USERS) OR EXISTS (SELECT 1 FROM ly_order WHERE id $YEAR_ORDERS)")" = 1 ]; then
        echo partial
    else
        echo none
    fi
}

# Deletes the users of USERS (an SQL range) and all they have, taking back the students their
# purchases added; then AUTO_INCREMENT of ly_users and ly_order goes back to above the highest id.
remove_users() {
    local users=$1
    sql "
        START TRANSACTION;
        UPDATE ly_course c JOIN (SELECT course_id, COUNT(*) AS n FROM ly_user_course WHERE user_id $users AND buy_type = 1
                                 GROUP BY course_id) x ON x.course_id = c.id
        SET c.students = c.students - x.n;
        DELETE n FROM ly_alipay_notification n JOIN ly_order o ON o.id = n.order_id WHERE o.user_id $users;
        DELETE FROM ly_user_course WHERE user_id $users;
        DELETE FROM ly_coupon_log WHERE user_id $users;
        DELETE oc FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id WHERE o.user_id $users;
        DELETE FROM ly_order WHERE user_id $users;
        DELETE FROM ly_idempotency_key WHERE user_id $users;
        DELETE FROM ly_credit WHERE user_id $users;
        DELETE FROM ly_users WHERE id $users;
        COMMIT;
        ALTER TABLE ly_users AUTO_INCREMENT = 1;
        ALTER TABLE ly_order AUTO_INCREMENT = 1;"
}
remove_pools() { remove_users "$POOL_USERS"; rm -f "$WORK_DIR"/*-tokens.txt "$WORK_DIR"/notify-*; }

create_users() {   # create_users FIRST COUNT: pool users, no credit, no coupons
    sql "
        INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
                              is_active, date_joined, mobile, money, credit, avatar, nickname)
        SELECT $1 + seq, '!', NULL, 0, CONCAT('bench', $1 + seq), '', '', CONCAT('bench', $1 + seq, '@luffycity.test'), 0,
               1, NOW(6), CONCAT('197', $1 + seq), 0, 0, NULL, 'bench'
        FROM seq_0_to_$(($2 - 1));"
}

# create_orders FIRST_USER USERS COURSES AGE: unpaid orders, one course each, at its list price,
# created AGE seconds ago (spread over a further minute): user FIRST_USER + i orders each of the
# first COURSES visible courses once. Order numbers as the app's, with 9xxxxxxx as the sequence part.
# Then fresh statistics: tens of thousands of unpaid orders appearing at once in the small data's
# ly_order left its statistics those of 16 orders, and settlement's UPDATE … WHERE id = ? AND
# order_status = 0 then read through ly_order_status_created_idx, locking every unpaid order:
# deadlocks, 4–18 settlements/s (docs/SCALE.md, "Findings"). A shop's orders do not appear that way.
create_orders() {
    local created="NOW(6) - INTERVAL $4 SECOND - INTERVAL (s.seq MOD 60000) * 1000 MICROSECOND"
    local join="JOIN (SELECT id, name, price, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM ly_course
                      WHERE is_deleted = 0 AND is_show = 1 ORDER BY id LIMIT $3) c ON c.k = s.seq MOD $3"
    local user="$1 + s.seq DIV $3" number="CONCAT(DATE_FORMAT(NOW(), '%Y%m%d'), LPAD($1 + s.seq DIV $3, 8, '0'), LPAD(90000000 + s.seq, 8, '0'))"
    local last=$(($2 * $3 - 1))
    sql "
        INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price,
                              order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no)
        SELECT '购买课程', 0, 0, 1, $created, $created, c.price, c.price, $number, 0, 0, NULL, NULL, 0, $user, NULL
        FROM seq_0_to_$last s $join;
        INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, real_price,
                                     discount_name, course_id, order_id)
        SELECT c.name, 0, 0, 1, o.created_time, o.created_time, c.price, c.price, '', c.id, o.id
        FROM seq_0_to_$last s $join JOIN ly_order o ON o.order_number = $number;
        ANALYZE TABLE ly_users, ly_order, ly_order_course;"
}

# ---------------------------------------------------------------- wrk
# result NAME VALUE…: one line of the phase's results file (NAME, then tab-separated values)
result() { local IFS=$'\t'; echo "$*" >>"$RESULTS"; }

# wrk_run NAME PATH [wrk args…]: wrk's output in $LOG_DIR/scale-PHASE-NAME.txt, one result line:
# NAME req/s p50 p99 non-2xx "load before" plus what the script's bench-check line counted
wrk_run() {
    local name=$1 path=$2 out load
    shift 2
    out=$LOG_DIR/scale-$PHASE-$name.txt
    load=$(loadavg)
    step "[$PHASE] wrk -t$THREADS -c$CONNECTIONS -d$DURATION $path ($name; load $load)"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$BASE_URL$path" >"$out"
    sleep 1   # requests in flight when wrk stopped finish
    result "$name" "$(awk '
        $1 == "50%"           { p50 = $2 }
        $1 == "99%"           { p99 = $2 }
        $1 == "Requests/sec:" { rps = $2 }
        /Non-2xx or 3xx/      { bad = $NF }
        END { printf "%s\t%s\t%s\t%d", rps, p50, p99, bad + 0 }' "$out")" "$load" \
        "$(sed -n 's/^bench-check: //p' "$out" | head -n1)"
}

bench_phase() {   # bench_phase small|year
    PHASE=$1
    RESULTS=$WORK_DIR/$PHASE.tsv
    : >"$RESULTS"
    export BENCH_LUA_THREADS=$THREADS
    remove_pools
    local token1
    token1=$("$STACK_SH" dev token 1)

    # order list: user 1 (the same 14 orders on both), and the year's users in turn
    wrk_run order-list-user1 '/user/order?page=1&size=5' -H "Authorization: jwt $token1"
    if [ "$PHASE" = year ]; then
        python3 "$BENCH_DIR/gen-tokens.py" --env-file "$ENV_FILE" --first 2000001 --count 100000 --out "$WORK_DIR/year-tokens.txt"
        BENCH_GET_TOKENS=$WORK_DIR/year-tokens.txt BENCH_GET_PATH='/user/order?page=1&size=5' \
            wrk_run order-list-pool '/user/order?page=1&size=5' -s "$BENCH_DIR/get-pool.lua"
    fi
    wrk_run coupon-enable '/coupon/enable?course_ids=1,3' -H "Authorization: jwt $token1"

    # POST /orders: one order (courses 1 and 3) per fresh user
    create_users $ORDER_FIRST $ORDER_COUNT
    python3 "$BENCH_DIR/gen-tokens.py" --env-file "$ENV_FILE" --first $ORDER_FIRST --count $ORDER_COUNT --out "$WORK_DIR/order-tokens.txt"
    BENCH_ORDER_TOKENS=$WORK_DIR/order-tokens.txt wrk_run post-order /orders -s "$BENCH_DIR/post-order.lua"

    # notify: one signed TRADE_SUCCESS per unpaid order, each order of its own (user, course)
    create_users $NOTIFY_FIRST $NOTIFY_USERS
    create_orders $NOTIFY_FIRST $NOTIFY_USERS 10 0
    query "SELECT order_number, real_price FROM ly_order WHERE user_id BETWEEN $NOTIFY_FIRST AND $((NOTIFY_FIRST + NOTIFY_USERS - 1)) ORDER BY id" \
        >"$WORK_DIR/notify-orders.tsv"
    python3 "$BENCH_DIR/gen-notify.py" --key "$(env_value LUFFY_SANDBOX_PRIVATE_KEY)" --app-id "$(env_value LUFFY_ALIPAY_APP_ID)" \
        --seller-id "$(env_value LUFFY_ALIPAY_SELLER_ID)" --tag 5 --orders "$WORK_DIR/notify-orders.tsv" --out "$WORK_DIR/notify-bodies.txt"
    sleep 2   # the signing processes' CPU settles
    BENCH_NOTIFY_BODIES=$WORK_DIR/notify-bodies.txt wrk_run notify /payments/alipay/notify -s "$BENCH_DIR/notify.lua"
    result notify-settled "$(query "SELECT COUNT(*) FROM ly_order WHERE user_id BETWEEN $NOTIFY_FIRST AND $((NOTIFY_FIRST + NOTIFY_USERS - 1)) AND order_status = 1")"

    # one sweeper pass over 10,000 expired orders, the app stopped first: its own sweeper (every
    # LUFFY_SWEEP_INTERVAL) would close them as soon as they are there
    "$STACK_SH" dev app-stop
    create_users $SWEEP_FIRST $SWEEP_COUNT
    create_orders $SWEEP_FIRST $SWEEP_COUNT 1 86400
    local load start out seconds closed
    load=$(loadavg)
    step "[$PHASE] luffy-pay sweep over $SWEEP_COUNT expired orders (load $load)"
    start=$(now)
    out=$(app sweep 2>>"$LOG_DIR/scale-$PHASE-sweep.log") || { "$STACK_SH" dev app-start; die "luffy-pay sweep failed: $out"; }
    seconds=$(since "$start")
    "$STACK_SH" dev app-start
    closed=$(query "SELECT COUNT(*) FROM ly_order WHERE user_id BETWEEN $SWEEP_FIRST AND $((SWEEP_FIRST + SWEEP_COUNT - 1)) AND order_status = 3")
    [ "$out" = "sweep: $SWEEP_COUNT order(s) timed out" ] || warn "CHECK FAILED: luffy-pay sweep said '$out', not $SWEEP_COUNT"
    result sweep "$seconds" "$closed" "$load" "$out"
    remove_pools
}

# ---------------------------------------------------------------- load / unload
load_year() {
    local state start
    state=$(year_state)
    if [ "$state" = complete ]; then say "the year is loaded already (${MARKER#"$ROOT"/}): nothing to load"; return 0; fi
    [ "$state" = none ] || { warn "a partial load (no marker): unloading it first"; unload_year; }
    [ "$(query "SELECT COUNT(*) FROM ly_course WHERE id BETWEEN 1 AND 10 AND price IS NOT NULL")" = 10 ] \
        || die "the dev data's courses 1–10 are not there: scale-data.sql builds on sql/dev-data.sql"
    step "loading scripts/bench/scale-data.sql (load $(loadavg))"
    start=$(now)
    # -vvv: each statement with its time ("Query OK, N rows affected (S sec)")
    db -vvv <"$BENCH_DIR/scale-data.sql" | awk '
        /^INSERT INTO/ { what = "INSERT " $3 }
        /^UPDATE/      { what = "UPDATE " $2 }
        /rows affected/ && what != "" { gsub(/[(),]/, ""); printf "  %-28s %9s rows %8s s\n", what, $3, $(NF - 1); what = "" }' \
        | tee "$WORK_DIR/load.txt"
    echo "  total $(since "$start") s (load $(loadavg))" | tee -a "$WORK_DIR/load.txt"
    touch "$MARKER"
}

# InnoDB's undo history not purged yet (the stack's root over its socket, as stack.sh's db_root)
history_length() {
    mariadb --no-defaults --socket="$DB_SOCKET" --user="$(id -un)" -N -B \
        -e "SELECT count FROM information_schema.INNODB_METRICS WHERE name = 'trx_rseg_history_len'"
}

unload_year() {
    local start waited=0
    step "removing the year's data"
    start=$(now)
    rm -f "$MARKER"
    remove_users "$YEAR_USERS"
    say "  removed in $(since "$start") s"
    # The purge of 4.6 million deleted rows runs in the background for minutes: a bench started
    # meanwhile measures it too (the small data's figures came out a third lower).
    start=$(now)
    while [ "$(history_length)" -gt 1000 ] && [ $waited -lt 600 ]; do sleep 5; waited=$((waited + 5)); done
    say "  InnoDB purged the deleted rows in $(since "$start") s more (history length $(history_length))"
}

# ---------------------------------------------------------------- EXPLAIN
# Sample ids of the year: a user with paid orders and coupons, one of its paid orders.
explain_all() {
    local user=2050001 order number coupon timeout bad=0 name statement key plan how rc
    order=$(query "SELECT MIN(id) FROM ly_order WHERE user_id = $user AND order_status = 1")
    if [ -z "$order" ] || [ "$order" = NULL ]; then die "no paid order of user $user: is the year loaded?"; fi
    number=$(query "SELECT order_number FROM ly_order WHERE id = $order")
    coupon=$(query "SELECT MAX(id) FROM ly_coupon_log WHERE user_id = $user")
    timeout=$(env_value LUFFY_ORDER_TIMEOUT); timeout=${timeout:-900}
    local list="o.user_id = $user AND o.is_deleted = 0 AND o.is_show = 1"
    local ids
    ids=$(query "SELECT GROUP_CONCAT(id) FROM (SELECT id FROM ly_order WHERE user_id = $user ORDER BY id DESC LIMIT 5) t")
    # name|statement — the statements of Sources/LuffyPay with the sample values bound. SELECTs run
    # (ANALYZE: the rows really read), the writes are only explained.
    # A third field names the key the statement must use (a warning otherwise: plan-check.py --key).
    while IFS='|' read -r name statement key; do
        [ -n "$name" ] || continue
        echo "-- $name"
        case "$statement" in SELECT*) how=ANALYZE ;; *) how=EXPLAIN ;; esac
        plan=$(db -N -B -r -e "$how FORMAT=JSON $statement" </dev/null) || { echo "   $how FAILED"; bad=1; continue; }
        rc=0
        printf '%s\n' "$plan" | python3 "$BENCH_DIR/plan-check.py" ${key:+--key "$key"} || rc=$?
        case $rc in 0) ;; 2) WARNINGS+=("$name: $(printf '%s\n' "$plan" | python3 "$BENCH_DIR/plan-check.py" --key "$key" | sed -n 's/^ *WARNING: //p')") ;; *) bad=1 ;; esac
    done <<EOF
auth (every signed-in request)|SELECT id, username, credit FROM ly_users WHERE id = $user AND is_active = 1
order list: count|SELECT COUNT(*) FROM ly_order o WHERE $list
order list: count by status|SELECT COUNT(*) FROM ly_order o WHERE $list AND o.order_status = 1
order list: page|SELECT o.id, o.order_number, o.total_price, o.real_price, o.pay_time, o.created_time, o.credit, o.pay_type, o.order_status, o.refunded_amount, cp.id, cp.name, cp.sale, cp.discount, cp.\`condition\` FROM ly_order o LEFT JOIN ly_coupon_log cl ON cl.id = (SELECT MIN(l.id) FROM ly_coupon_log l WHERE l.order_id = o.id) LEFT JOIN ly_coupon cp ON cp.id = cl.coupon_id WHERE $list ORDER BY o.id DESC LIMIT 5 OFFSET 0
order list: page by status|SELECT o.id FROM ly_order o LEFT JOIN ly_coupon_log cl ON cl.id = (SELECT MIN(l.id) FROM ly_coupon_log l WHERE l.order_id = o.id) WHERE $list AND o.order_status = 1 ORDER BY o.id DESC LIMIT 5 OFFSET 0
order list: courses|SELECT oc.order_id, oc.id, oc.price, oc.real_price, oc.discount_name, oc.course_id, c.name, c.course_cover FROM ly_order_course oc LEFT JOIN ly_course c ON c.id = oc.course_id WHERE oc.order_id IN ($ids)
order list: refunds|SELECT r.order_id, r.id, r.out_request_no, r.amount, r.state, r.created_time, rc.course_id FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id WHERE r.order_id IN ($ids)
coupon/enable, POST /orders: courses|SELECT c.id, c.name, c.course_cover, c.price, c.credit, c.direction_id, c.category_id, EXISTS (SELECT 1 FROM ly_user_course uc WHERE uc.user_id = $user AND uc.course_id = c.id AND uc.is_deleted = 0) FROM ly_course c WHERE c.id IN (1, 3) AND c.is_deleted = 0 AND c.is_show = 1 AND c.price IS NOT NULL
coupon/enable, POST /orders: activity prices|SELECT ap.id, ap.course_id, d.\`condition\`, d.sale, dt.name FROM ly_course_activity_price ap JOIN ly_activity a ON a.id = ap.activity_id JOIN ly_discount d ON d.id = ap.discount_id JOIN ly_discount_type dt ON dt.id = d.discount_type_id WHERE ap.course_id IN (1, 3) AND ap.is_deleted = 0 AND a.is_deleted = 0 AND d.is_deleted = 0 AND a.start_time <= NOW() AND a.end_time > NOW()
coupon/enable, POST /orders: the user's coupons|SELECT cl.id, cp.id, cp.name, cp.discount, cp.coupon_type, cp.start_time, cp.end_time, cp.get_type, cp.\`condition\`, cp.sale, cl.use_status, o.order_status, cp.start_time <= NOW(), cp.end_time >= NOW() FROM ly_coupon_log cl JOIN ly_coupon cp ON cp.id = cl.coupon_id AND cp.is_deleted = 0 LEFT JOIN ly_order o ON o.id = cl.order_id WHERE cl.user_id = $user AND cl.is_deleted = 0
POST /orders: the buyer's guard row|INSERT INTO ly_order_user_guard (user_id, orders_created) VALUES ($user, 1) ON DUPLICATE KEY UPDATE orders_created = orders_created + 1
POST /orders: courses in unpaid orders|SELECT o.order_number, oc.course_id FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id WHERE o.user_id = $user AND o.is_deleted = 0 AND o.order_status = 0 AND o.created_time + INTERVAL $timeout SECOND > NOW(6) AND oc.course_id IN (1, 3)
POST /orders: the order and its number|INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price, order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no) SELECT '购买课程', 0, 0, 1, NOW(6), NOW(6), 1, 1, CONCAT(DATE_FORMAT(NOW(), '%Y%m%d'), '02050001', LPAD(s.n, GREATEST(8, CHAR_LENGTH(s.n)), '0')), 0, 0, NULL, NULL, 0, $user, NULL FROM (SELECT NEXT VALUE FOR ly_order_number_seq AS n) AS s
POST /orders: lock the coupon|SELECT id FROM ly_coupon_log WHERE id = $coupon AND user_id = $user AND is_deleted = 0 FOR UPDATE
POST /orders: bind the coupon|UPDATE ly_coupon_log SET order_id = $order, updated_time = NOW(6) WHERE id = $coupon
POST /orders: debit credit|UPDATE ly_users SET credit = credit - 10 WHERE id = $user AND credit >= 10
POST /orders: idempotency replay|SELECT request_hash, status_code, response_body FROM ly_idempotency_key WHERE user_id = $user AND idem_key = 'k'
POST /orders: idempotency answer|UPDATE ly_idempotency_key SET status_code = 201, response_body = '{}', order_id = $order WHERE id = 1
notify: the order by number|SELECT id, user_id, order_number, real_price, order_status, name FROM ly_order WHERE is_deleted = 0 AND order_number = '$number'
notify: lock the order|SELECT user_id, order_status, credit, order_number, trade_no, real_price FROM ly_order WHERE id = $order FOR UPDATE|PRIMARY
notify: mark paid|UPDATE ly_order FORCE INDEX (PRIMARY) SET order_status = 1, pay_time = NOW(6), trade_no = 'x', updated_time = NOW(6) WHERE id = $order AND order_status = 0|PRIMARY
notify: use the coupon|UPDATE ly_coupon_log SET use_status = 1, use_time = NOW(6), updated_time = NOW(6) WHERE order_id = $order AND use_status = 0
notify: the order's courses|SELECT id, course_id, name, real_price FROM ly_order_course WHERE order_id = $order
notify: students (a single server)|UPDATE ly_course SET students = students + 1 WHERE id IN (1, 3) AND @@wsrep_on = 0
notify: students (a cluster node)|INSERT INTO ly_course_students_delta (course_id, slot, students) SELECT id, @@auto_increment_offset, 1 FROM ly_course WHERE id IN (1, 3) AND @@wsrep_on = 1 ON DUPLICATE KEY UPDATE students = ly_course_students_delta.students + 1
notify: revive a grant|UPDATE ly_user_course SET is_deleted = 0, trade_no = 'x', buy_type = 1, pay_time = NOW(6), out_time = NULL, updated_time = NOW(6) WHERE user_id = $user AND course_id = 1 AND is_deleted = 1
notify: refund-notice lookup|SELECT r.id FROM ly_refund r WHERE r.trade_no = 'x' AND r.out_request_no = 'y'
sweeper: unlinked batch|SELECT id, user_id, credit FROM ly_order WHERE order_status = 0 AND created_time < NOW(6) - INTERVAL $timeout SECOND AND pay_link_time IS NULL ORDER BY created_time LIMIT 100 FOR UPDATE SKIP LOCKED
sweeper: linked batch|SELECT id, user_id, order_number, real_price, order_status, name FROM ly_order WHERE is_deleted = 0 AND order_status = 0 AND created_time < NOW(6) - INTERVAL $timeout SECOND AND pay_link_time IS NOT NULL ORDER BY created_time LIMIT 100
sweeper: fold the cluster's students|SELECT course_id, slot, students FROM ly_course_students_delta WHERE students <> 0 FOR UPDATE
sweeper: lock a linked order|SELECT user_id, credit FROM ly_order WHERE id = $order AND order_status = 0 FOR UPDATE SKIP LOCKED
sweeper, cancel: close|UPDATE ly_order FORCE INDEX (PRIMARY) SET order_status = 3, updated_time = NOW(6) WHERE id = $order AND order_status = 0|PRIMARY
sweeper, cancel: credit back|UPDATE ly_users SET credit = credit + 10 WHERE id = $user
sweeper, cancel: free the coupon|UPDATE ly_coupon_log SET order_id = NULL, updated_time = NOW(6) WHERE order_id = $order AND use_status = 0
EOF
    return $bad
}

# ---------------------------------------------------------------- migrations
# Applies the pending files with `luffy-pay migrate`, timed: with several files, each but the first
# takes the gap between its schema_migrations row and the one before, the first the rest of the
# run. A probe meanwhile updates one order of the year 20 times a second: its longest wait shows
# whether the change let writes through (LOCK=NONE / instant) or blocked them.
migrate_timed() {
    local pending=() file start seconds probe_pid out
    for file in "$ROOT"/sql/[0-9][0-9][0-9]_*.sql; do
        file=$(basename "$file")
        [ "$(query "SELECT COUNT(*) FROM schema_migrations WHERE version = '${file:0:3}'")" = 1 ] || pending+=("${file:0:3}")
    done
    if [ ${#pending[@]} = 0 ]; then
        # A file applied by `make up` before the year was loaded was not measured on it.
        [ -s "$WORK_DIR/migrate.txt" ] && grep -q ' s$' "$WORK_DIR/migrate.txt" && return 0
        echo "  no pending migration (applied since 020, not timed here: $(query "SELECT COALESCE(GROUP_CONCAT(file ORDER BY version SEPARATOR ' '), 'none') FROM schema_migrations WHERE version > '020'"))" \
            | tee -a "$WORK_DIR/migrate.txt"
        return 0
    fi
    step "luffy-pay migrate: pending ${pending[*]} on $(query "SELECT COUNT(*) FROM ly_order") orders (load $(loadavg))"
    (
        while :; do
            db -e "UPDATE ly_order SET updated_time = updated_time WHERE id = 100000001" 2>/dev/null
            now
            sleep 0.05
        done
    ) >"$WORK_DIR/migrate-probe.txt" &
    probe_pid=$!
    sleep 0.5   # the probe's writes before and after the migration frame it
    start=$(now)
    out=$(app migrate 2>>"$LOG_DIR/scale-migrate.log") || { kill "$probe_pid"; die "luffy-pay migrate failed (${LOG_DIR#"$ROOT"/}/scale-migrate.log)"; }
    seconds=$(since "$start" 3)
    sleep 0.5
    kill "$probe_pid"
    wait "$probe_pid" 2>/dev/null || true
    # appended: each run's files stay measured (var/dev/scale/migrate.txt)
    echo "  $out ($seconds s in all, load $(loadavg), $(date -u '+%F %H:%M UTC'))" | tee -a "$WORK_DIR/migrate.txt"
    query "SELECT file, TIMESTAMPDIFF(MICROSECOND, LAG(applied_time) OVER (ORDER BY version), applied_time) / 1e6
           FROM schema_migrations WHERE version IN ($(printf "'%s'," "${pending[@]}" | sed 's/,$//')) ORDER BY version" |
        awk -F'\t' -v total="$seconds" '
            { file[NR] = $1; gap[NR] = $2; if (NR > 1) rest += $2 }
            END { gap[1] = total - rest
                  for (i = 1; i <= NR; i++) printf "  %-48s %8.3f s\n", file[i], gap[i] }' | tee -a "$WORK_DIR/migrate.txt"
    awk 'NR > 1 { gap = $1 - last; if (gap > max) max = gap } { last = $1 }
         END { printf "  longest gap between two of %d probe writes to ly_order meanwhile: %.3f s (one every 0.05 s + a client start)\n", NR, max }' \
        "$WORK_DIR/migrate-probe.txt" | tee -a "$WORK_DIR/migrate.txt"
    # The app was started on the schema before: restart it on the migrated one.
    "$STACK_SH" dev app-stop
    "$STACK_SH" dev app-start
}

# ---------------------------------------------------------------- the audit
# `luffy-pay audit` (README, "The invariant audit") on the year: the generated books hold every
# invariant, and how long the audit takes at this size.
audit_year() {
    local start rc=0
    step "luffy-pay audit on the year (load $(loadavg))"
    start=$(now)
    app audit >"$WORK_DIR/audit.txt" 2>&1 || rc=$?
    # MariaDB error 6 on an internal temporary table's file in /tmp: something on this shared machine
    # cleans /tmp under the server (docs/SCALE.md, "Findings"); said, and tried once more.
    if [ $rc != 0 ] && grep -q "Error on delete of '/tmp/#sql" "$WORK_DIR/audit.txt"; then
        warn "luffy-pay audit: $(tail -n1 "$WORK_DIR/audit.txt"): once more"
        start=$(now) rc=0
        app audit >"$WORK_DIR/audit.txt" 2>&1 || rc=$?
    fi
    echo "$(tail -n1 "$WORK_DIR/audit.txt") (exit $rc) in $(since "$start") s" >"$WORK_DIR/audit-summary.txt"
    [ $rc = 0 ] || { head -n 20 "$WORK_DIR/audit.txt"; AUDIT_FAILED=1; }
}
AUDIT_FAILED=0
WARNINGS=()

# ---------------------------------------------------------------- the table
table() {
    local phase
    echo
    echo "luffy-pay bench-scale: wrk -t$THREADS -c$CONNECTIONS -d$DURATION through nginx ($BASE_URL), $(nproc) cores;" \
         "the database now: $(query "SELECT CONCAT((SELECT COUNT(*) FROM ly_order), ' orders, ', (SELECT COUNT(*) FROM ly_order_course), ' order courses, ',
                                      (SELECT COUNT(*) FROM ly_user_course), ' user courses, ', (SELECT COUNT(*) FROM ly_coupon_log), ' coupon rows, ',
                                      (SELECT COUNT(*) FROM ly_users), ' users')")"
    for phase in small year; do
        [ ! -f "$WORK_DIR/$phase.tsv" ] || sed "s/^/$phase\t/" "$WORK_DIR/$phase.tsv"
    done | awk -F'\t' '
        BEGIN { n = split("order-list-user1 order-list-pool coupon-enable post-order notify notify-settled sweep", order, " ") }
        { v[$1, $2] = $0 }
        function fig(p, k,   a) {
            if (!((p, k) in v)) return "—"
            split(v[p, k], a, "\t")
            if (k == "sweep") return sprintf("%s s (%s closed; %s), load %s", a[3], a[4], a[6], a[5])
            if (k == "notify-settled") return a[3] " orders settled"
            return sprintf("%s/s p50 %s p99 %s non-2xx %s, load %s", a[3], a[4], a[5], a[6], a[7])
        }
        END { printf "%-17s | %-68s | %s\n", "run", "small dev data", "a year (1,000,000 orders)"
              for (i = 1; i <= n; i++) printf "%-17s | %-68s | %s\n", order[i], fig("small", order[i]), fig("year", order[i]) }'
}

# `make up` applies pending migrations itself, untimed: on a running stack with the year loaded,
# the new binary applies them here first (migrate_timed), then the stack is brought up to date.
# (status read whole first: grep -q would stop reading it early, a SIGPIPE failing the pipeline)
if [ -f "$MARKER" ] && [[ "$("$STACK_SH" dev status 2>/dev/null || true)" =~ (^|$'\n')mariadb\ +running ]]; then
    step "swift build -c release (the migrations of this tree)"
    (cd "$ROOT" && swift build -c release) >&2 || die "swift build failed"
    migrate_timed
fi
"$STACK_SH" dev up

case "$ACTION" in
    load) load_year ;;
    unload) unload_year ;;
    explain)
        rc=0
        explain_all || rc=$?
        for w in "${WARNINGS[@]}"; do warn "plan: $w"; done
        exit $rc
        ;;
    migrate) migrate_timed ;;
    bench)
        if [ "$(year_state)" = complete ]; then bench_phase year; else bench_phase small; fi
        table
        ;;
    run)
        state=$(year_state)
        if [ "$state" = complete ] && [ -s "$WORK_DIR/small.tsv" ]; then
            say "the year is loaded: the small data's figures are those of $(date -r "$WORK_DIR/small.tsv" '+%F %T') (scripts/bench/scale.sh unload to measure them again)"
        else
            [ "$state" = none ] || unload_year
            bench_phase small
        fi
        load_year
        migrate_timed
        bench_phase year
        audit_year
        explain_rc=0
        explain_all >"$WORK_DIR/explain.txt" || explain_rc=$?
        cat "$WORK_DIR/explain.txt"
        for w in "${WARNINGS[@]}"; do warn "plan: $w"; done
        [ -s "$WORK_DIR/load.txt" ] && { echo; echo "load (scripts/bench/scale-data.sql):"; cat "$WORK_DIR/load.txt"; }
        [ -s "$WORK_DIR/migrate.txt" ] && { echo; echo "migrations on the year:"; cat "$WORK_DIR/migrate.txt"; }
        table
        echo "luffy-pay audit on the year: $(cat "$WORK_DIR/audit-summary.txt")"
        [ $AUDIT_FAILED = 0 ] || die "luffy-pay audit fails on the year (var/dev/scale/audit.txt)"
        [ $explain_rc = 0 ] || die "a hot-path plan reads a big table whole (FULL SCAN above)"
        ;;
esac
