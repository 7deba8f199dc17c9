#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: wrk through nginx against the dev stack (started if needed).
#   GET /user/order?page=1&size=5 with the demo token of user 1, GET /healthz,
#   POST /orders (2 courses, no coupon; scripts/bench/post-order.lua) as a dedicated bench user
#   whose orders are deleted afterwards, and GET /coupon/enable?course_ids=1,3 as user 1.
# Prints req/s, p50, p99 and the app's resident memory (VmRSS) after each run.
# Knobs: BENCH_DURATION (20s), BENCH_CONNECTIONS (32), BENCH_THREADS (2).
# wrk's full output goes to var/dev/log/bench-*.txt.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-20s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
STACK_SH=$ROOT/scripts/stack.sh

"$STACK_SH" dev up
eval "$("$STACK_SH" dev info)"
TOKEN=$("$STACK_SH" dev token 1)
AUTH="Authorization: jwt $TOKEN"

# A benchmark of error responses measures nothing: each target must answer 200 first.
check_target() {
    local path=$1 code
    shift
    [ "${1:-}" = -s ] && return 0    # a scripted request (POST): wrk's non-2xx count shows errors
    code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$BASE_URL$path") || code=000
    [ "$code" = 200 ] || die "GET $path answers $code, not 200: nothing to benchmark"
}

vm_rss() {
    local pid
    pid=$("$STACK_SH" dev app-pid) || { echo "?"; return; }
    awk '/^VmRSS:/ { print $2 " " $3 }' "/proc/$pid/status"
}

RESULTS=()
run() {   # run NAME PATH [wrk header args…]
    local name=$1 path=$2 out
    shift 2
    check_target "$path" "$@"
    out=$LOG_DIR/bench-$name.txt
    step "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency $path"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$BASE_URL$path" >"$out"
    RESULTS+=("$(awk -v path="$path" -v rss="$(vm_rss)" '
        $1 == "50%"            { p50 = $2 }
        $1 == "99%"            { p99 = $2 }
        $1 == "Requests/sec:"  { rps = $2 }
        /Non-2xx or 3xx/       { bad = $NF }
        /Socket errors/        { err = $0; sub(/^ *Socket errors: */, "", err) }
        END { printf "%-32s %10s %9s %9s %8s %10s", path, rps, p50, p99, bad + 0, rss
              if (err != "") printf "  socket errors: %s", err
              printf "\n" }' "$out")")
}

# POST /orders runs as user 900 ("bench"), so user 1's order list keeps its size; the bench
# user and its orders are removed afterwards.
bench_sql() { mariadb --defaults-file="$CLIENT_CNF" luffycity -e "$1"; }
bench_cleanup() {
    bench_sql "DELETE oc FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id WHERE o.user_id = 900;
               DELETE FROM ly_order WHERE user_id = 900; DELETE FROM ly_idempotency_key WHERE user_id = 900;
               DELETE FROM ly_users WHERE id = 900;"
}
bench_cleanup
bench_sql "INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
             is_active, date_joined, mobile, money, credit, avatar, nickname)
           VALUES (900, '!', NULL, 0, 'bench', '', '', 'bench@luffycity.test', 0, 1, NOW(6), '19900000900', 0, 0, NULL, 'bench');"
trap bench_cleanup EXIT
BENCH_TOKEN=$("$STACK_SH" dev token 900)
export BENCH_TOKEN

run user-order '/user/order?page=1&size=5' -H "$AUTH"
run healthz '/healthz'
run coupon-enable '/coupon/enable?course_ids=1,3' -H "$AUTH"
run post-order '/orders' -s "$ROOT/scripts/bench/post-order.lua"

echo
echo "luffy-pay bench: wrk -t$THREADS -c$CONNECTIONS -d$DURATION through nginx ($BASE_URL), $(nproc) cores"
printf '%-32s %10s %9s %9s %8s %10s\n' endpoint req/s p50 p99 non-2xx "app VmRSS"
printf '%s\n' "${RESULTS[@]}"
echo "(app VmRSS read from /proc/PID/status right after each run; raw output: ${LOG_DIR#"$ROOT"/}/bench-*.txt)"
