#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: wrk through nginx against the dev stack (started if needed).
#   GET /user/order?page=1&size=5 with the demo token of user 1, GET /healthz, GET /metrics
#   (the Prometheus scrape, README "Metrics"; nginx serves it to 127.0.0.1 only),
#   GET /coupon/enable?course_ids=1,3 as a dedicated bench user (900), GET /courses/4/periods,
#   GET /orders/pay/choices (no token), and
#   POST /orders (2 courses, 1 and 3; scripts/bench/post-order.lua) as a pool of BENCH_ORDER_USERS
#       bench users, one order each (a user may not order a course again while an order of it is
#       unpaid), tokens minted by scripts/bench/gen-tokens.py; every answer must be 201; once with no
#       discount, once with each user's coupon, once with credit, and
#   PUT /orders/<id> (cancel; scripts/bench/cancel.lua) of BENCH_CANCEL_ORDERS unpaid orders, each once
# and the payment runs:
#   GET /payments/alipay/<order_number>  pay links (RSA signing) for a pool of the bench user's
#       unpaid orders, cycled (scripts/bench/pay-link.lua); every one must answer 200; compared
#       with `openssl speed rsa2048`
#   POST /payments/alipay/notify  one distinct TRADE_SUCCESS notification per request for a pool
#       of unpaid one-course orders, each of its own (user, course) — bench users × the visible
#       courses — so that every settlement grants its course (a course the buyer owns already is
#       refunded, not granted), signed with the sandbox's ("Alipay's") private key
#       (scripts/bench/gen-notify.py, scripts/bench/notify.lua); settlements and grants counted afterwards
#   POST /orders/<id>/refund  the buyers of the orders the notify run paid ask for their refunds,
#       one request per order (scripts/bench/refund-request.lua); every answer must be 201
# then the gateway brownout (scripts/bench/brownout.sh: /healthz and /user/order latency while
# 32 connections query a gateway slower than the app's time-out), with its own table, the refund
# worker's throughput (scripts/bench/refund-worker.sh: 1,000 approved refunds sent to the sandbox,
# refunds/s), the reconciliation of a day of 100,000 trades and 5,000 refunds
# (scripts/bench/reconcile.sh: seconds and peak memory of `luffy-pay reconcile`, and wrk on the staff
# reconciliation API), and
# `luffy-pay audit` of the dev stack's books (also run before the runs), whose closing line ends
# the output.
# Prints one table: req/s, p50, p99, non-2xx, the app's resident memory (VmRSS) after each run,
# and per run what was checked. A target that does not answer 200, or a payment run whose keys
# or settings are missing, is skipped with the reason under the table; a run whose answers or
# database rows are not what it measures is reported (CHECK FAILED) and the bench exits 1.
# Everything the bench users did is removed afterwards (users, orders, order courses, user
# courses, notifications, refunds, credit rows, the students their settlements added to
# ly_course, ly_users' AUTO_INCREMENT) and checked against a snapshot.
# After the table: each database endpoint beside its ceiling (scripts/bench/ceiling.sh, CEILING_SECONDS).
# Knobs: BENCH_DURATION (20s), BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_ORDER_USERS
#        (100000 at most: 40 s at 2,500 orders/s), BENCH_CANCEL_ORDERS (100000), BENCH_PAYLINK_ORDERS (1000),
#        BENCH_NOTIFY_ORDERS (100000: 20 s at 5,000 settlements/s),
#        BENCH_ONLY (the runs to make, comma-separated, by the names of their var/dev/log/bench-NAME.txt:
#        e.g. BENCH_ONLY=post-order,notify for the before/after of a change, a few minutes instead of
#        the whole bench; the ceiling then measures only their endpoints; empty: every run).
# wrk's full output goes to var/dev/log/bench-*.txt.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-20s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
ORDER_USERS=${BENCH_ORDER_USERS:-100000}
PAYLINK_ORDERS=${BENCH_PAYLINK_ORDERS:-1000}
NOTIFY_ORDERS=${BENCH_NOTIFY_ORDERS:-100000}
STACK_SH=$ROOT/scripts/stack.sh
BENCH_DIR=$ROOT/scripts/bench
VENV=$ROOT/.venv
BENCH_USER=900
CANCEL_ORDERS=${BENCH_CANCEL_ORDERS:-100000}
# User ids 1,000,000–1,999,999 are the bench's pools (the dev data's users are 1–3): the POST
# /orders users from 1,000,000 (with a coupon from 1,100,000, with credit from 1,200,000), the
# cancel users from 1,300,000, the notify users from 1,500,000; at most 100,000 users each, the
# notify pool at most 500,000. (luffy-pay-ceiling's users are 3,000,000 and up.)
POOL_FIRST=1000000
POOL_LAST=1999999
ORDER_USERS_FIRST=1000000
COUPON_USERS_FIRST=1100000
CREDIT_USERS_FIRST=1200000
CANCEL_USERS_FIRST=1300000
NOTIFY_USERS_FIRST=1500000
POOL_MAX=500000

RUN_NAMES=(user-order healthz metrics coupon-enable course-periods pay-choices post-order post-order-coupon
           post-order-credit cancel pay-link notify refund-request ceiling brownout refund-worker reconcile)
ONLY=${BENCH_ONLY:-}
for name in ${ONLY//,/ }; do
    [[ " ${RUN_NAMES[*]} " == *" $name "* ]] || die "BENCH_ONLY: no run named '$name' (runs: ${RUN_NAMES[*]})"
done
wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

[[ "$ORDER_USERS" =~ ^[1-9][0-9]{0,5}$ && "$ORDER_USERS" -le 100000 ]] \
    || die "BENCH_ORDER_USERS must be 1..100000"
[[ "$CANCEL_ORDERS" =~ ^[1-9][0-9]{0,5}$ ]] || die "BENCH_CANCEL_ORDERS must be 1..999999"
[[ "$PAYLINK_ORDERS" =~ ^[1-9][0-9]{0,5}$ ]] || die "BENCH_PAYLINK_ORDERS must be 1..999999"
[[ "$NOTIFY_ORDERS" =~ ^[1-9][0-9]{0,5}$ ]] || die "BENCH_NOTIFY_ORDERS must be 1..999999"

"$STACK_SH" dev up
eval "$("$STACK_SH" dev info)"
TOKEN=$("$STACK_SH" dev token 1)
AUTH="Authorization: jwt $TOKEN"
WORK_DIR=$STACK_DIR/bench                 # notification bodies, the students snapshot
STUDENTS_BEFORE=$WORK_DIR/students-before.tsv
mkdir -p "$WORK_DIR"

busy=$(pgrep -x wrk || true; pgrep -f pytest || true)
[ -z "$busy" ] || warn "other wrk or pytest processes are running (pids $(echo "$busy" | tr '\n' ' ')): the figures will be disturbed"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# A benchmark of error responses measures nothing: each target must answer 200 first (else the
# run is skipped, with the answer in the table's notes).
check_target() {
    local path=$1 answer code
    shift
    [ "${1:-}" = -s ] && return 0    # a scripted request (POST): wrk's non-2xx count shows errors
    answer=$(curl -s -w '\n%{http_code}' "$@" "$BASE_URL$path") || answer=$'\n000'
    code=${answer##*$'\n'}
    [ "$code" = 200 ] && return 0
    skip "$path" "GET $path answers $code, not 200: nothing to benchmark ($(printf '%s' "${answer%$'\n'*}" | head -c 300))"
    return 1
}

vm_rss() {
    local pid
    pid=$("$STACK_SH" dev app-pid) || { echo "?"; return; }
    awk '/^VmRSS:/ { print $2 " " $3 }' "/proc/$pid/status"
}

ROW_FORMAT='%-32s %10s %9s %9s %8s %10s'
RESULTS=()
NOTES=()
SKIPPED=()
FAILED=()

# wrk_run NAME LABEL PATH [wrk args…]: runs wrk, leaves its output in $LAST_OUT
wrk_run() {
    local name=$1 label=$2 path=$3
    shift 3
    LAST_OUT=$LOG_DIR/bench-$name.txt
    step "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency $label"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$BASE_URL$path" >"$LAST_OUT"
    LAST_RSS=$(vm_rss)
}

# row LABEL EXTRA: the table row of $LAST_OUT
row() {
    awk -v label="$1" -v extra="$2" -v rss="$LAST_RSS" -v fmt="$ROW_FORMAT" '
        $1 == "50%"            { p50 = $2 }
        $1 == "99%"            { p99 = $2 }
        $1 == "Requests/sec:"  { rps = $2 }
        /Non-2xx or 3xx/       { bad = $NF }
        /Socket errors/        { err = $0; sub(/^ *Socket errors: */, "", err) }
        END { if (err != "") extra = extra (extra == "" ? "" : "; ") "socket errors: " err
              printf fmt, label, rps, p50, p99, bad + 0, rss
              if (extra != "") printf "  %s", extra
              printf "\n" }' "$LAST_OUT"
}

# wrk's figures of $LAST_OUT: requests and the measured duration in seconds
wrk_requests() { awk '/ requests in / { print $1 }' "$LAST_OUT"; }
wrk_seconds() {
    awk '/ requests in / { t = $4; sub(/,$/, "", t)
            if (t ~ /ms$/) { sub(/ms$/, "", t); t /= 1000 } else if (t ~ /m$/) { sub(/m$/, "", t); t *= 60 }
            else if (t ~ /h$/) { sub(/h$/, "", t); t *= 3600 } else sub(/s$/, "", t)
            print t + 0 }' "$LAST_OUT"
}
bench_check() { sed -n "s/^bench-check: //p" "$LAST_OUT"; }
check_value() { bench_check | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n1; }

run() {   # run NAME PATH [wrk header args…]
    local name=$1 path=$2
    shift 2
    wanted "$name" || return 0
    check_target "$path" "$@" || return 0
    wrk_run "$name" "$path" "$path" "$@"
    RESULTS+=("$(row "$path" "")")
}

skip() {   # skip LABEL REASON: a run that cannot be measured here, said loudly
    warn "SKIPPING $1: $2"
    SKIPPED+=("$1 — SKIPPED: $2")
}

check_failed() {   # check_failed WHAT: a run did not measure what it says (the bench exits 1)
    warn "CHECK FAILED: $1"
    FAILED+=("$1")
}

# ---------------------------------------------------------------- the bench user and its data
# Sessions in the shop's zone like the app's (it compares created_time with NOW() for the timeout).
SHOP_TZ=$(sed -n 's/^LUFFY_TIMEZONE=//p' "$ENV_FILE" | tail -n1)
SHOP_OFFSET=$(TZ=${SHOP_TZ:-Asia/Shanghai} date +%:z)
bench_mariadb() { mariadb --defaults-file="$CLIENT_CNF" --init-command="SET time_zone = '$SHOP_OFFSET'" luffycity "$@"; }
bench_sql() { bench_mariadb -e "$1"; }
bench_query() { bench_mariadb -N -B -e "$1"; }

# Order numbers (YYYYMMDD + %08d user id + %08d from sql/010's ly_order_number_seq). The app's
# sequence counts from 1; the bench's own orders use 90000000+ (pay link) and 91000000+ (notify),
# 92000000 is the notify probe: ranges the app reaches only after 90 million orders.
USER_PART=$(printf '%08d' "$BENCH_USER")
BENCH_USERS="(user_id = $BENCH_USER OR user_id BETWEEN $POOL_FIRST AND $POOL_LAST)"   # SQL: a bench user's row
BENCH_ORDERS="SELECT id FROM ly_order WHERE $BENCH_USERS"
bench_numbers() {   # bench_numbers COLUMN: SQL, the order number in COLUMN is a bench user's
    echo "(SUBSTRING($1, 9, 8) = '$USER_PART' OR SUBSTRING($1, 9, 8) BETWEEN '$(printf '%08d' $POOL_FIRST)' AND '$(printf '%08d' $POOL_LAST)')"
}

# Removes everything the bench users did, also what an interrupted run left behind. Settling an
# order added one student to each course it granted (a course the user owned already is refunded,
# not counted): those increments are taken back first (from the bench users' grants themselves, so
# that purchases other people make on the shared dev stack meanwhile keep theirs); the table's notes
# compare the result with the snapshot taken before. ly_users' AUTO_INCREMENT, which the pools'
# ids raised, goes back to its value from before the runs (InnoDB keeps it above the highest id).
BENCH_GRANTS="SELECT course_id, COUNT(*) AS n FROM ly_user_course WHERE $BENCH_USERS GROUP BY course_id"
bench_cleanup() {
    bench_sql "
        START TRANSACTION;
        UPDATE ly_course c JOIN ($BENCH_GRANTS) x ON x.course_id = c.id
        SET c.students = c.students - x.n;
        DELETE FROM ly_alipay_notification WHERE $(bench_numbers out_trade_no) OR order_id IN ($BENCH_ORDERS);
        DELETE FROM ly_payment_refund WHERE $(bench_numbers order_number) OR order_id IN ($BENCH_ORDERS);
        DELETE r, rc, e FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id
        LEFT JOIN ly_refund_event e ON e.refund_id = r.id WHERE $(bench_numbers r.order_number) OR r.order_id IN ($BENCH_ORDERS);
        DELETE FROM ly_user_course WHERE $BENCH_USERS;
        DELETE FROM ly_credit WHERE $BENCH_USERS;
        DELETE oc FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id WHERE $BENCH_USERS;
        DELETE FROM ly_order WHERE $BENCH_USERS;
        DELETE FROM ly_idempotency_key WHERE $BENCH_USERS;
        DELETE FROM ly_coupon_log WHERE $BENCH_USERS;
        DELETE FROM ly_users WHERE id = $BENCH_USER OR id BETWEEN $POOL_FIRST AND $POOL_LAST;
        COMMIT;"
    if [ -n "${USERS_AUTO_INCREMENT:-}" ]; then
        bench_sql "ALTER TABLE ly_users AUTO_INCREMENT = $USERS_AUTO_INCREMENT"
    fi
    rm -f "$WORK_DIR"/notify-bodies.txt "$WORK_DIR"/notify-orders.tsv "$WORK_DIR"/order-tokens.txt \
          "$WORK_DIR"/cancel-tokens.txt "$WORK_DIR"/cancel-pool.txt \
          "$WORK_DIR"/refund-tokens.txt "$WORK_DIR"/refund-pool.txt
}

users_auto_increment() {
    bench_query "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ly_users'"
}

# create_users FIRST COUNT [CREDIT]: bench users FIRST … FIRST+COUNT-1 (usernames bench<id>, as
# scripts/bench/gen-tokens.py puts them in their tokens), CREDIT credits (default none), no coupons
create_users() {
    bench_sql "
        INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
                              is_active, date_joined, mobile, money, credit, avatar, nickname)
        SELECT $1 + seq, '!', NULL, 0, CONCAT('bench', $1 + seq), '', '', CONCAT('bench', $1 + seq, '@luffycity.test'), 0,
               1, NOW(6), CONCAT('199', LPAD($1 + seq, 8, '0')), 0, ${3:-0}, NULL, 'bench'
        FROM seq_0_to_$(($2 - 1));"
}

students_now() { bench_query "SELECT id, students FROM ly_course ORDER BY id"; }

# SQL rows (id, students) of the snapshot, for a temporary table
students_before_values() {
    awk -F'\t' 'BEGIN { sep = "" } { printf "%s(%s, %s)", sep, $1, $2; sep = ", " }' "$STUDENTS_BEFORE"
}

# create_orders FIRST_SEQ COUNT [FIRST_USER]: unpaid orders, one course each (the visible courses
# in turn), at the course's list price, created now (so unexpired), all NOT NULL columns as the
# app writes them. Without FIRST_USER all of the bench user; with it, order k is user
# FIRST_USER + k div (visible courses)'s: each user holds each course once.
create_orders() {
    local first=$1 count=$2 user=$BENCH_USER last
    [ $# -lt 3 ] || user="$3 + s.seq DIV @n"
    last=$((count - 1))
    bench_sql "
        SET @n = (SELECT COUNT(*) FROM ly_course WHERE is_deleted = 0 AND is_show = 1);
        INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price,
                              order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no)
        SELECT '购买课程', 0, 0, 1, NOW(6), NOW(6), c.price, c.price,
               CONCAT('$DAY', LPAD($user, 8, '0'), LPAD($first + s.seq, 8, '0')), 0, 0, NULL, NULL, 0, $user, NULL
        FROM seq_0_to_$last s
        JOIN (SELECT id, price, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k
              FROM ly_course WHERE is_deleted = 0 AND is_show = 1) c ON c.k = s.seq % @n;
        INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, real_price,
                                     discount_name, course_id, order_id)
        SELECT c.name, 0, 0, 1, NOW(6), NOW(6), c.price, c.price, '', c.id, o.id
        FROM seq_0_to_$last s
        JOIN (SELECT id, name, price, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k
              FROM ly_course WHERE is_deleted = 0 AND is_show = 1) c ON c.k = s.seq % @n
        JOIN ly_order o ON o.order_number = CONCAT('$DAY', LPAD($user, 8, '0'), LPAD($first + s.seq, 8, '0'));"
}

DAY=$(bench_query "SELECT DATE_FORMAT(NOW(), '%Y%m%d')")
VISIBLE_COURSES=$(bench_query "SELECT COUNT(*) FROM ly_course WHERE is_deleted = 0 AND is_show = 1")
[ "$VISIBLE_COURSES" -gt 0 ] || die "the dev stack has no visible course to order"
NOTIFY_USERS=$(( (NOTIFY_ORDERS + VISIBLE_COURSES - 1) / VISIBLE_COURSES ))
[ "$NOTIFY_USERS" -le $POOL_MAX ] || die "BENCH_NOTIFY_ORDERS=$NOTIFY_ORDERS needs $NOTIFY_USERS users (of $VISIBLE_COURSES courses each): at most $POOL_MAX"

# luffy-pay audit with the stack's settings only (as stack.sh runs the app): its output in
# $LOG_DIR/bench-audit-WHEN.txt, its exit status returned
audit() {
    local out=$LOG_DIR/bench-audit-$1.txt
    step "luffy-pay audit ($1 the runs)"
    (
        for v in $(compgen -v LUFFY_ || true); do unset "$v"; done
        LUFFY_CONFIG=$ENV_FILE exec "$APP_BIN" audit
    ) >"$out" 2>&1
}

bench_cleanup   # what an interrupted run left behind
audit_rc=0
audit before || audit_rc=$?
[ $audit_rc = 0 ] || warn "luffy-pay audit fails BEFORE the bench (exit $audit_rc: the dev stack's books were wrong already): $(tail -n1 "$LOG_DIR/bench-audit-before.txt")"
USERS_AUTO_INCREMENT=$(users_auto_increment)
bench_sql "INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
             is_active, date_joined, mobile, money, credit, avatar, nickname)
           VALUES ($BENCH_USER, '!', NULL, 0, 'bench', '', '', 'bench@luffycity.test', 0, 1, NOW(6), '19900000900', 0, 0, NULL, 'bench');"
# The bench user holds one of each dev coupon, as user 1 does, so coupon/enable does the same
# work without depending on which courses user 1 has bought on this stack.
bench_sql "INSERT INTO ly_coupon_log (is_deleted, orders, is_show, created_time, updated_time, name, use_time, use_status,
                                      coupon_id, order_id, user_id)
           SELECT 0, 1, 1, NOW(6), NOW(6), name, NULL, 0, id, NULL, $BENCH_USER FROM ly_coupon WHERE is_deleted = 0;"
trap bench_cleanup EXIT
BENCH_TOKEN=$("$STACK_SH" dev token "$BENCH_USER")
export BENCH_TOKEN BENCH_LUA_THREADS=$THREADS

# ---------------------------------------------------------------- the earlier runs
rm -f "$LOG_DIR/bench-user-order.txt" "$LOG_DIR/bench-healthz.txt"   # no figure of an earlier run
run user-order '/user/order?page=1&size=5' -H "$AUTH"
run healthz '/healthz'
# The order list against the cheapest endpoint of the same run (the goal: at least a third).
if [ -s "$LOG_DIR/bench-user-order.txt" ] && [ -s "$LOG_DIR/bench-healthz.txt" ]; then
    NOTES+=("order list / healthz requests/s: $(awk '$1 == "Requests/sec:" { r[FILENAME] = $2 }
        END { printf "%.2f", r[ARGV[1]] / r[ARGV[2]] }' "$LOG_DIR/bench-user-order.txt" "$LOG_DIR/bench-healthz.txt") (goal ≥ 0.33)")
fi
run metrics '/metrics'
run coupon-enable '/coupon/enable?course_ids=1,3' -H "Authorization: jwt $BENCH_TOKEN"
# The catalogue's periods of course 4 (two periods and the permanent one, under a running activity).
run course-periods '/courses/4/periods'
# The order statuses, public and the same for everyone (its ETag's 304s are nginx-to-app round trips too).
run pay-choices '/orders/pay/choices'

# ---------------------------------------------------------------- POST /orders
# A user may not order a course again while an order of it is unpaid (course_in_unpaid_order), so
# each request is another bench user's first order: the same work as a buyer's order of 2 courses.
# BENCH_ORDER_USERS must exceed the requests of the run (repeats are counted and reported).
# post_order_run plain|coupon|credit: no discount; each user's own coupon 1 (30 off, every course,
# from 100 yuan); 100 of the user's 200 credits.
post_order_run() {
    local kind=$1 first name label tokens=$WORK_DIR/order-tokens.txt token code created not201 repeats written extra
    case $kind in
        plain)  first=$ORDER_USERS_FIRST name=post-order label='/orders (POST)' ;;
        coupon) first=$COUPON_USERS_FIRST name=post-order-coupon label='/orders (POST, coupon)' ;;
        credit) first=$CREDIT_USERS_FIRST name=post-order-credit label='/orders (POST, credit)' ;;
    esac
    wanted "$name" || return 0
    step "POST /orders ($kind) pool: $ORDER_USERS bench users (ids from $first), one order each"
    create_users "$first" "$ORDER_USERS" "$([ "$kind" = credit ] && echo 200 || echo 0)"
    python3 "$BENCH_DIR/gen-tokens.py" --env-file "$ENV_FILE" --first "$first" --count "$ORDER_USERS" \
        --out "$tokens" || die "scripts/bench/gen-tokens.py failed"
    for token in "$(head -n1 "$tokens")" "$(tail -n1 "$tokens")"; do   # the minted tokens sign in
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: jwt $token" "$BASE_URL/user/order?page=1&size=5") \
            || code=000
        if [ "$code" != 200 ]; then
            skip "$label" "GET /user/order with a token of scripts/bench/gen-tokens.py answers $code, not 200 (LUFFY_JWT_SECRET in ${ENV_FILE#"$ROOT"/}?)"
            return 0
        fi
    done
    if [ "$kind" = coupon ]; then
        # "token coupon_log_id": line k is user first + k
        bench_sql "INSERT INTO ly_coupon_log (is_deleted, orders, is_show, created_time, updated_time, name, use_time,
                                              use_status, coupon_id, order_id, user_id)
                   SELECT 0, 1, 1, NOW(6), NOW(6), 'bench', NULL, 0, 1, NULL, $first + seq FROM seq_0_to_$((ORDER_USERS - 1))"
        bench_query "SELECT id FROM ly_coupon_log WHERE user_id BETWEEN $first AND $((first + ORDER_USERS - 1)) ORDER BY user_id" |
            paste -d' ' "$tokens" - >"$tokens.coupon" && mv "$tokens.coupon" "$tokens"
    fi
    BENCH_ORDER_CREDIT=0
    [ "$kind" != credit ] || BENCH_ORDER_CREDIT=100
    export BENCH_ORDER_TOKENS=$tokens BENCH_ORDER_CREDIT
    wrk_run "$name" "$label ($ORDER_USERS users)" /orders -s "$BENCH_DIR/post-order.lua"
    sleep 1   # requests in flight when wrk stopped finish (they may write orders too)
    created=$(check_value created) not201=$(check_value not_201) repeats=$(check_value repeats)
    written=$(bench_query "SELECT COUNT(*) FROM ly_order WHERE user_id BETWEEN $first AND $((first + ORDER_USERS - 1))")
    extra="one order per user: ${created:-?} answers 201, $written orders written"
    [ "${repeats:-0}" = 0 ] || extra+="; REPEATED users: $repeats (raise BENCH_ORDER_USERS)"
    if [ "${not201:-?}" != 0 ]; then
        extra+="; answers ≠ 201: ${not201:-?}"
        check_failed "POST /orders ($kind): ${not201:-?} answers were not 201 (first: $(bench_check | sed -n 's/^first answer not 201: //p'))"
    fi
    RESULTS+=("$(row "$label" "$extra")")
}
post_order_run plain
post_order_run coupon
post_order_run credit

# ---------------------------------------------------------------- PUT /orders/<id> (cancel)
# A pool of BENCH_CANCEL_ORDERS unpaid orders without a pay link (no gateway step), each user
# holding each visible course once; each request cancels another order (200).
cancel_run() {
    local label='/orders/<id> (PUT, cancel)' tokens=$WORK_DIR/cancel-tokens.txt pool=$WORK_DIR/cancel-pool.txt
    local users=$(( (CANCEL_ORDERS + VISIBLE_COURSES - 1) / VISIBLE_COURSES )) cancelled not200 repeats closed extra
    wanted cancel || return 0
    step "cancel pool: $CANCEL_ORDERS unpaid orders of $users bench users (ids from $CANCEL_USERS_FIRST)"
    create_users "$CANCEL_USERS_FIRST" "$users"
    create_orders 92000000 "$CANCEL_ORDERS" "$CANCEL_USERS_FIRST"
    python3 "$BENCH_DIR/gen-tokens.py" --env-file "$ENV_FILE" --first "$CANCEL_USERS_FIRST" --count "$users" \
        --out "$tokens" || die "scripts/bench/gen-tokens.py failed"
    bench_query "SELECT id, user_id - $CANCEL_USERS_FIRST FROM ly_order
                 WHERE user_id BETWEEN $CANCEL_USERS_FIRST AND $((CANCEL_USERS_FIRST + users - 1)) ORDER BY id" |
        awk 'NR == FNR { token[NR - 1] = $0; next } { print $1, token[$2] }' "$tokens" - >"$pool"
    export BENCH_CANCEL_POOL=$pool
    wrk_run cancel "$label ($CANCEL_ORDERS orders)" /orders/0 -s "$BENCH_DIR/cancel.lua"
    sleep 1
    cancelled=$(check_value cancelled) not200=$(check_value not_200) repeats=$(check_value repeats)
    closed=$(bench_query "SELECT COUNT(*) FROM ly_order WHERE user_id BETWEEN $CANCEL_USERS_FIRST AND $((CANCEL_USERS_FIRST + users - 1)) AND order_status = 2")
    extra="one cancel per order: ${cancelled:-?} answers 200, $closed orders cancelled"
    [ "${repeats:-0}" = 0 ] || extra+="; REPEATED orders: $repeats (raise BENCH_CANCEL_ORDERS)"
    if [ "${not200:-?}" != 0 ] && [ "${repeats:-0}" = 0 ]; then
        check_failed "PUT /orders/<id>: ${not200:-?} answers were not 200 (first: $(bench_check | sed -n 's/^first answer not 200: //p'))"
    fi
    RESULTS+=("$(row "$label" "$extra")")
}
cancel_run

# ---------------------------------------------------------------- pay link
# A pool of BENCH_PAYLINK_ORDERS orders, cycled (not one order over and over): each request reads
# another order row, as real buyers do, and each order's first link also records pay_link_time
# (one UPDATE per order: 1,000 of ~60,000 requests at 3k req/s); after that a link is one indexed
# SELECT and one RSA-2048 signature, the steady state this run measures.
env_value() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; }
APP_ID=$(env_value LUFFY_ALIPAY_APP_ID)
SELLER_ID=$(env_value LUFFY_ALIPAY_SELLER_ID)
APP_KEY=$(env_value LUFFY_ALIPAY_APP_PRIVATE_KEY)
SANDBOX_KEY=$(env_value LUFFY_SANDBOX_PRIVATE_KEY)
PAYLINK_LABEL='/payments/alipay/<order_number>'
NOTIFY_LABEL='/payments/alipay/notify (POST)'

OPENSSL_SIGNS=""
openssl_speed() {
    local out=$LOG_DIR/bench-openssl-speed.txt
    command -v openssl >/dev/null || return 0
    step "openssl speed -seconds 5 rsa2048 (the signing ceiling of one core)"
    openssl speed -seconds 5 rsa2048 >"$out" 2>&1 || { warn "openssl speed failed: ${out#"$ROOT"/}"; return 0; }
    OPENSSL_SIGNS=$(awk '$1 == "rsa" && $2 == "2048" && $3 == "bits" { print $6 }' "$out" | tail -n1)
}

paylink_run() {
    local prefix first_number code body bad requests linked ratio="" extra
    wanted pay-link || return 0
    if [ -z "$APP_ID" ] || [ -z "$APP_KEY" ] || [ ! -r "$APP_KEY" ]; then
        skip "$PAYLINK_LABEL" "the app's Alipay settings are missing (LUFFY_ALIPAY_APP_ID, LUFFY_ALIPAY_APP_PRIVATE_KEY=${APP_KEY:-unset} in ${ENV_FILE#"$ROOT"/})"
        return 0
    fi
    step "pay link pool: $PAYLINK_ORDERS unpaid orders of user $BENCH_USER"
    create_orders 90000000 "$PAYLINK_ORDERS"
    prefix=$DAY$USER_PART
    first_number=${prefix}90000000
    body=$(curl -s -w '\n%{http_code}' -H "Authorization: jwt $BENCH_TOKEN" "$BASE_URL/payments/alipay/$first_number") \
        || body=$'\n000'
    code=${body##*$'\n'}
    if [ "$code" != 200 ] || [[ "$body" != *'"link"'* ]]; then
        skip "$PAYLINK_LABEL" "GET /payments/alipay/$first_number answers $code (${body%$'\n'*}), not 200 with a link"
        return 0
    fi
    openssl_speed
    export BENCH_PAYLINK_PREFIX=$prefix BENCH_PAYLINK_BASE=90000000 BENCH_PAYLINK_COUNT=$PAYLINK_ORDERS
    wrk_run pay-link "$PAYLINK_LABEL ($PAYLINK_ORDERS orders)" /payments/alipay/ -s "$BENCH_DIR/pay-link.lua"
    bad=$(check_value answers_not_200)
    requests=$(wrk_requests)
    # Each order's first link records pay_link_time: every order of the pool was asked and linked.
    linked=$(bench_query "SELECT COUNT(*) FROM ly_order WHERE order_number BETWEEN '${prefix}90000000' AND '${prefix}90999999'
                          AND pay_link_time IS NOT NULL")
    PAYLINK_RPS=$(awk '$1 == "Requests/sec:" { print $2 }' "$LAST_OUT")
    if [ -n "$OPENSSL_SIGNS" ]; then
        ratio=$(awk -v a="$PAYLINK_RPS" -v b="$OPENSSL_SIGNS" 'BEGIN { printf "%.2f", a / b }')
        extra="${PAYLINK_ORDERS} orders cycled; = ${ratio} x openssl sign/s (${OPENSSL_SIGNS}/s, 1 core)"
        NOTES+=("openssl speed -seconds 5 rsa2048: ${OPENSSL_SIGNS} sign/s on one core; pay link ${PAYLINK_RPS} req/s ÷ ${OPENSSL_SIGNS} = ${ratio}")
    else
        extra="${PAYLINK_ORDERS} orders cycled; openssl speed unavailable"
    fi
    extra+="; links issued for $linked of $PAYLINK_ORDERS orders"
    if [ "${bad:-?}" != 0 ]; then
        extra+="; answers ≠ 200: ${bad:-?}"
        check_failed "pay link: ${bad:-?} answers were not 200 (first: $(bench_check | sed -n 's/^first such answer: //p'))"
    fi
    if [ "$linked" != "$PAYLINK_ORDERS" ]; then
        check_failed "pay link: only $linked of the $PAYLINK_ORDERS orders got a link in $requests requests (raise BENCH_DURATION or lower BENCH_PAYLINK_ORDERS)"
    fi
    RESULTS+=("$(row "/payments/alipay/<order_number>" "$extra")")
}

# ---------------------------------------------------------------- notify
# BENCH_NOTIFY_ORDERS unpaid orders (one course each) and as many notifications, each for its own
# order with its own trade_no and notify_id, sent once each: every request is a real settlement.
# Each order is another (user, course): NOTIFY_USERS bench users × the visible courses, so every
# settlement grants its course (one the buyer owned already would be refunded instead).
python_ready() {
    # After `make up` alone (no `make test` yet) there is no venv: the bench makes it.
    make_venv || { NOTIFY_WHY="python3 -m venv could not create the project venv .venv"; return 1; }
    if ! pip_install_pinned "$BENCH_DIR/requirements.txt"; then
        NOTIFY_WHY="pip could not install scripts/bench/requirements.txt (cryptography) into .venv"
        return 1
    fi
}

students_check() {   # each course granted to a bench user added exactly one student
    bench_query "
        CREATE TEMPORARY TABLE bench_before (id BIGINT PRIMARY KEY, students INT);
        INSERT INTO bench_before VALUES $(students_before_values);
        SELECT CONCAT('course ', c.id, ' +', c.students - b.students, ' for ', COALESCE(x.n, 0), ' bench grants')
        FROM ly_course c JOIN bench_before b ON b.id = c.id
        LEFT JOIN ($BENCH_GRANTS) x ON x.course_id = c.id
        WHERE c.students - b.students <> COALESCE(x.n, 0);"
}

notify_run() {
    local probe answer sent ok notok repeats settled granted seconds per_s refunds outcomes extra mismatch
    local last_user=$((NOTIFY_USERS_FIRST + NOTIFY_USERS - 1))
    local pool_users="user_id BETWEEN $NOTIFY_USERS_FIRST AND $last_user"
    NOTIFY_WHY=""
    wanted notify || return 0
    if [ -z "$SANDBOX_KEY" ] || [ ! -r "$SANDBOX_KEY" ]; then
        skip "$NOTIFY_LABEL" "the sandbox's Alipay private key is missing (LUFFY_SANDBOX_PRIVATE_KEY=${SANDBOX_KEY:-unset} in ${ENV_FILE#"$ROOT"/}): cannot sign notifications"
        return 0
    fi
    [ -n "$APP_ID" ] || { skip "$NOTIFY_LABEL" "LUFFY_ALIPAY_APP_ID is not set in ${ENV_FILE#"$ROOT"/}"; return 0; }
    python_ready || { skip "$NOTIFY_LABEL" "$NOTIFY_WHY"; return 0; }

    # A probe first (its own order): a notification must settle, else the run would measure refusals.
    create_orders 92000000 1
    probe=$DAY${USER_PART}92000000
    bench_query "SELECT order_number, real_price FROM ly_order WHERE order_number = '$probe'" >"$WORK_DIR/notify-orders.tsv"
    "$VENV/bin/python" "$BENCH_DIR/gen-notify.py" --key "$SANDBOX_KEY" --app-id "$APP_ID" --seller-id "$SELLER_ID" \
        --tag 9 --orders "$WORK_DIR/notify-orders.tsv" --out "$WORK_DIR/notify-bodies.txt" 2>/dev/null \
        || { skip "$NOTIFY_LABEL" "scripts/bench/gen-notify.py could not sign with $SANDBOX_KEY"; return 0; }
    answer=$(tr -d '\n' <"$WORK_DIR/notify-bodies.txt" | curl -s -H 'Content-Type: application/x-www-form-urlencoded; charset=utf-8' \
        --data-binary @- "$BASE_URL/payments/alipay/notify") || answer="(no answer)"
    if [ "$answer" != success ] || [ "$(bench_query "SELECT order_status FROM ly_order WHERE order_number = '$probe'")" != 1 ]; then
        skip "$NOTIFY_LABEL" "a probe notification signed with $SANDBOX_KEY answered '$answer' and did not settle its order: does LUFFY_ALIPAY_PUBLIC_KEY match the sandbox's key? (app log: ${LOG_DIR#"$ROOT"/}/app.log)"
        return 0
    fi

    step "notify pool: $NOTIFY_ORDERS unpaid orders of $NOTIFY_USERS bench users (ids from $NOTIFY_USERS_FIRST) × $VISIBLE_COURSES courses and as many signed notifications"
    create_users "$NOTIFY_USERS_FIRST" "$NOTIFY_USERS"
    create_orders 91000000 "$NOTIFY_ORDERS" "$NOTIFY_USERS_FIRST"
    bench_query "SELECT order_number, real_price FROM ly_order WHERE $pool_users ORDER BY id" >"$WORK_DIR/notify-orders.tsv"
    "$VENV/bin/python" "$BENCH_DIR/gen-notify.py" --key "$SANDBOX_KEY" --app-id "$APP_ID" --seller-id "$SELLER_ID" \
        --tag 1 --orders "$WORK_DIR/notify-orders.tsv" --out "$WORK_DIR/notify-bodies.txt" \
        || die "scripts/bench/gen-notify.py failed"
    sleep 2   # let the signing processes' CPU settle before measuring

    export BENCH_NOTIFY_BODIES=$WORK_DIR/notify-bodies.txt
    wrk_run notify "$NOTIFY_LABEL ($NOTIFY_ORDERS distinct orders)" /payments/alipay/notify -s "$BENCH_DIR/notify.lua"
    sleep 1   # requests in flight when wrk stopped finish (they may settle too)
    sent=$(check_value sent) ok=$(check_value success) notok=$(check_value not_success) repeats=$(check_value repeats)
    settled=$(bench_query "SELECT COUNT(*) FROM ly_order WHERE $pool_users AND order_status = 1")
    granted=$(bench_query "SELECT COUNT(*) FROM ly_user_course WHERE $pool_users")
    seconds=$(wrk_seconds)
    per_s=$(awk -v s="$settled" -v t="$seconds" 'BEGIN { printf "%.1f", s / t }')
    refunds=$(bench_query "SELECT COUNT(*) FROM ly_refund WHERE $(bench_numbers order_number)")
    outcomes=$(bench_query "SELECT GROUP_CONCAT(CONCAT(outcome, ' ', n) SEPARATOR ', ') FROM
                            (SELECT n.outcome, COUNT(*) n FROM ly_alipay_notification n JOIN ly_order o ON o.id = n.order_id
                             WHERE o.$pool_users GROUP BY n.outcome) t")
    extra="settled ${settled} in ${seconds}s = ${per_s} settlements/s, granted ${granted}; bodies ≠ success: ${notok:-?}"
    [ "${repeats:-0}" = 0 ] || extra+="; REPEATED bodies: $repeats (raise BENCH_NOTIFY_ORDERS)"
    [ "$refunds" = 0 ] || extra+="; refund records: $refunds"
    RESULTS+=("$(row "/payments/alipay/notify (POST)" "$extra")")
    NOTES+=("notify: wrk sent ${sent:-?} notifications (of $NOTIFY_ORDERS for $NOTIFY_USERS users × $VISIBLE_COURSES courses, repeats ${repeats:-?}), ${ok:-?} answered 'success', ${notok:-?} did not; ${settled} of the orders are paid, ${granted} courses granted; recorded notifications: ${outcomes:-none}")
    [ "${notok:-?}" = 0 ] || check_failed "notify: ${notok:-?} answers were not 'success' (first: $(bench_check | sed -n "s/^first answer not 'success': //p"))"
    [ "$granted" = "$settled" ] || check_failed "notify: $settled orders settled but $granted courses granted: not every settlement granted its course"
    [ "$refunds" = 0 ] || check_failed "notify: $refunds refund records for bench orders: settlements that did not grant"
    mismatch=$(students_check)
    if [ -n "$mismatch" ]; then
        check_failed "ly_course.students moved differently from the bench grants (someone else buying on the dev stack, or a bug): $(echo "$mismatch" | paste -sd ';' -)"
    else
        NOTES+=("ly_course.students: +1 per course granted to a bench user, exactly")
    fi
}

# ---------------------------------------------------------------- POST /orders/<id>/refund
# The buyers of the orders the notify run settled ask for their refund, each order once (a second
# request would be refund_in_progress): each request is a real refund request (201, state
# requested; nothing reaches the gateway before staff approve it).
refund_request_run() {
    local label='/orders/<id>/refund (POST)' tokens=$WORK_DIR/refund-tokens.txt pool=$WORK_DIR/refund-pool.txt
    local created not201 repeats written extra
    wanted refund-request || return 0
    if [ "$NOTIFY_USERS" -lt 1 ] || [ "$(bench_query "SELECT COUNT(*) FROM ly_order WHERE user_id BETWEEN $NOTIFY_USERS_FIRST AND $((NOTIFY_USERS_FIRST + NOTIFY_USERS - 1)) AND order_status = 1")" = 0 ]; then
        skip "$label" "no paid orders: the notify run did not settle any"
        return 0
    fi
    python3 "$BENCH_DIR/gen-tokens.py" --env-file "$ENV_FILE" --first "$NOTIFY_USERS_FIRST" --count "$NOTIFY_USERS" \
        --out "$tokens" || die "scripts/bench/gen-tokens.py failed"
    # "order_id token": line k of the tokens file is user NOTIFY_USERS_FIRST + k.
    bench_query "SELECT id, user_id - $NOTIFY_USERS_FIRST FROM ly_order
                 WHERE user_id BETWEEN $NOTIFY_USERS_FIRST AND $((NOTIFY_USERS_FIRST + NOTIFY_USERS - 1)) AND order_status = 1
                 ORDER BY id" |
        awk 'NR == FNR { token[NR - 1] = $0; next } { print $1, token[$2] }' "$tokens" - >"$pool"
    export BENCH_REFUND_POOL=$pool
    wrk_run refund-request "$label ($(wc -l <"$pool") paid orders)" /orders/0/refund -s "$BENCH_DIR/refund-request.lua"
    sleep 1   # requests in flight when wrk stopped finish
    created=$(check_value created) not201=$(check_value not_201) repeats=$(check_value repeats)
    written=$(bench_query "SELECT COUNT(*) FROM ly_refund WHERE state = 'requested' AND $(bench_numbers order_number)")
    extra="one refund per paid order: ${created:-?} answers 201, $written refunds requested"
    [ "${repeats:-0}" = 0 ] || extra+="; REPEATED orders: $repeats (raise BENCH_NOTIFY_ORDERS)"
    if [ "${not201:-?}" != 0 ] && [ "${repeats:-0}" = 0 ]; then
        extra+="; answers ≠ 201: ${not201:-?}"
        check_failed "POST /orders/<id>/refund: ${not201:-?} answers were not 201 (first: $(bench_check | sed -n 's/^first answer not 201: //p'))"
    fi
    # Requests in flight when wrk stopped are answered after it counts: at most one per connection.
    if [ -z "${created:-}" ] || [ "$written" -lt "$created" ] || [ "$written" -gt $((created + CONNECTIONS)) ]; then
        check_failed "POST /orders/<id>/refund: ${created:-?} answers 201 but $written refunds requested"
    fi
    RESULTS+=("$(row "$label" "$extra")")
}

students_now >"$STUDENTS_BEFORE"
paylink_run
notify_run
refund_request_run

step "removing the bench users' data"
bench_cleanup
if students_now | cmp -s - "$STUDENTS_BEFORE"; then
    NOTES+=("bench data removed; ly_course.students back to its values from before the runs")
else
    check_failed "bench data removed, but ly_course.students differs from before the runs: $(students_now | diff "$STUDENTS_BEFORE" - | grep '^[<>]' | paste -sd ' ' -) (< before, > now)"
fi
left=$(bench_query "SELECT (SELECT COUNT(*) FROM ly_users WHERE id = $BENCH_USER OR id BETWEEN $POOL_FIRST AND $POOL_LAST)
                           + (SELECT COUNT(*) FROM ly_order WHERE $BENCH_USERS)")
[ "$left" = 0 ] || check_failed "$left bench users or orders are left after the cleanup"

# ---------------------------------------------------------------- the table
echo
echo "luffy-pay bench: wrk -t$THREADS -c$CONNECTIONS -d$DURATION through nginx ($BASE_URL), $(nproc) cores," \
     "load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
# shellcheck disable=SC2059
printf "$ROW_FORMAT  %s\n" endpoint req/s p50 p99 non-2xx "app VmRSS" checks
printf '%s\n' "${RESULTS[@]}"
for s in "${SKIPPED[@]}"; do echo "$s"; done
for n in "${NOTES[@]}"; do echo "- $n"; done
for f in "${FAILED[@]}"; do echo "CHECK FAILED: $f"; done
echo "(app VmRSS read from /proc/PID/status right after each run; raw output: ${LOG_DIR#"$ROOT"/}/bench-*.txt)"

# ---------------------------------------------------------------- the database's ceiling
# Each endpoint's figure beside what the database alone sustains for the same statements
# (scripts/bench/ceiling.sh, README "The database's ceiling"), measured now, after the runs.
# The ceiling's endpoint of each run that has one.
CEILING_MAP='orders post-order
orders-coupon post-order-coupon
orders-credit post-order-credit
notify notify
order-list user-order
coupon-enable coupon-enable
cancel cancel'
ceiling_endpoints=()   # empty: every endpoint
if [ -n "$ONLY" ]; then
    while read -r endpoint file; do
        if wanted "$file"; then ceiling_endpoints+=("$endpoint"); fi
    done <<<"$CEILING_MAP"
fi
echo
ceiling_rc=0
if ! wanted ceiling && [ ${#ceiling_endpoints[@]} = 0 ]; then
    echo "(the ceiling is not measured: BENCH_ONLY=$ONLY names no run that has one)"
else
    CEILING_SECONDS=${CEILING_SECONDS:-10} "$BENCH_DIR/ceiling.sh" "${ceiling_endpoints[@]}" \
        >"$LOG_DIR/bench-ceiling-run.txt" 2>&1 || ceiling_rc=$?
    if [ $ceiling_rc = 0 ]; then
        printf '%-34s %9s %9s %9s %7s %s\n' endpoint req/s p99 ceiling ratio statements/request
        while read -r endpoint file; do
            wanted "$file" || continue
            [ -s "$LOG_DIR/bench-$file.txt" ] || continue
            awk -v endpoint="$endpoint" '
                FNR == NR { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                            if (v["endpoint"] == endpoint) { ceiling = v["per_second"]; statements = v["statements"] } next }
                $1 == "99%" { p99 = $2 }
                $1 == "Requests/sec:" { rps = $2 }
                END { if (ceiling > 0) printf "%-34s %9.0f %9s %9d %7.2f %d\n", endpoint, rps, p99, ceiling, rps / ceiling, statements }
            ' "$LOG_DIR/bench-ceiling.txt" "$LOG_DIR/bench-$file.txt"
        done <<<"$CEILING_MAP"
        echo "(ceiling: luffy-pay-ceiling, the same statements from the app's number of connections, no HTTP; ${LOG_DIR#"$ROOT"/}/bench-ceiling.txt)"
    else
        echo "CHECK FAILED: the ceiling run failed (exit $ceiling_rc): $(tail -n2 "$LOG_DIR/bench-ceiling-run.txt" | paste -sd ' ' -)"
    fi
fi

brownout_rc=0
if wanted brownout; then echo; "$BENCH_DIR/brownout.sh" dev || brownout_rc=$?; fi

# ---------------------------------------------------------------- the refund worker
refund_rc=0
if wanted refund-worker; then echo; "$BENCH_DIR/refund-worker.sh" dev || refund_rc=$?; fi

# ---------------------------------------------------------------- the daily reconciliation
reconcile_rc=0
if wanted reconcile; then echo; "$BENCH_DIR/reconcile.sh" dev || reconcile_rc=$?; fi

# The books after everything the bench did and removed (brownout.sh's user included).
echo
audit_rc=0
audit after || audit_rc=$?
[ $audit_rc = 0 ] || { grep -v '^audit: ' "$LOG_DIR/bench-audit-after.txt" | head -n 20 || true; }
echo "luffy-pay audit of the dev stack after the bench (exit $audit_rc): $(tail -n1 "$LOG_DIR/bench-audit-after.txt")"
[ $brownout_rc = 0 ] || check_failed "scripts/bench/brownout.sh exited $brownout_rc"
[ $refund_rc = 0 ] || check_failed "scripts/bench/refund-worker.sh exited $refund_rc"
[ $reconcile_rc = 0 ] || check_failed "scripts/bench/reconcile.sh exited $reconcile_rc"
[ $ceiling_rc = 0 ] || check_failed "scripts/bench/ceiling.sh exited $ceiling_rc"
[ $audit_rc = 0 ] || check_failed "luffy-pay audit exits $audit_rc after the bench (${LOG_DIR#"$ROOT"/}/bench-audit-after.txt)"
[ ${#FAILED[@]} = 0 ] || die "${#FAILED[@]} check(s) failed: the figures above do not measure what they say (CHECK FAILED)"
