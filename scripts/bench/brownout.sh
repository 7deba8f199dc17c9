#!/usr/bin/env bash
# scripts/bench/brownout.sh [dev|test] — a slow Alipay gateway under load (the gateway bulkhead,
# README "Faults" and "Performance"), wrk through the stack's nginx, three at once for BENCH_DURATION:
#   BENCH_QUERY_CONNECTIONS (32) × GET /payments/alipay/query/<order> of a bench user's unpaid
#       order (scripts/bench/gateway-query.lua: a connection refused with 503 gateway_busy asks
#       again after BENCH_RETRY_MS, 200), every query a gateway call
#   BENCH_STREAM_CONNECTIONS (4) × GET /healthz, and as many × GET /user/order?page=1&size=5 of
#       user 1, with --latency: the p50 and p99 that the bulkhead must keep low
# once with the gateway answering (baseline), then in a brownout: the stack's alipay-sandbox holds
# every gateway answer LUFFY_ALIPAY_TIMEOUT + 3 s (POST /sandbox/brownout, docs/SANDBOX.md), so
# each query that gets a permit waits out the app's time-out. Prints one table; the brownout is
# switched off and the bench user's data removed whatever happens. The stack (dev by default;
# `test` honours LUFFY_TEST_PORT_OFFSET like make test) is started if needed and left running.
# wrk's full output goes to var/STACK/log/brownout-*.txt.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

STACK=${1:-dev}
DURATION=${BENCH_DURATION:-15s}
QUERY_CONNECTIONS=${BENCH_QUERY_CONNECTIONS:-32}
STREAM_CONNECTIONS=${BENCH_STREAM_CONNECTIONS:-4}
export BENCH_RETRY_MS=${BENCH_RETRY_MS:-200}
STACK_SH=$ROOT/scripts/stack.sh
BENCH_DIR=$ROOT/scripts/bench
BENCH_USER=901        # scripts/bench.sh uses 900
case "$STACK" in dev|test) ;; *) die "usage: scripts/bench/brownout.sh [dev|test]" ;; esac
command -v wrk >/dev/null || die "wrk is missing (scripts/deps.sh installs it)"

"$STACK_SH" "$STACK" up
eval "$("$STACK_SH" "$STACK" info)"
setting() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; }
GATEWAY_TIMEOUT=$(setting LUFFY_ALIPAY_TIMEOUT); GATEWAY_TIMEOUT=${GATEWAY_TIMEOUT:-5}
THREADS=$(setting LUFFY_THREADS); THREADS=${THREADS:-8}
PERMITS=$(setting LUFFY_GATEWAY_CONCURRENCY); PERMITS=${PERMITS:-$(( THREADS / 4 > 1 ? THREADS / 4 : 1 ))}
SANDBOX_URL=http://127.0.0.1:$SANDBOX_PORT
DELAY_MS=$(( (GATEWAY_TIMEOUT + 3) * 1000 ))
bench_sql() { mariadb --defaults-file="$CLIENT_CNF" luffycity -N -B -e "$1"; }

brownout() {   # brownout DELAY_MS: the sandbox's delay, checked
    local answer
    answer=$(curl -s --max-time 30 --data "delay_ms=$1" "$SANDBOX_URL/sandbox/brownout") || answer="(no answer)"
    [ "$answer" = "{\"delay_ms\":$1}" ] || die "POST $SANDBOX_URL/sandbox/brownout delay_ms=$1 answered $answer"
}

cleanup() {
    brownout 0 || true
    bench_sql "
        DELETE oc FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id WHERE o.user_id = $BENCH_USER;
        DELETE FROM ly_order WHERE user_id = $BENCH_USER;
        DELETE FROM ly_idempotency_key WHERE user_id = $BENCH_USER;
        DELETE FROM ly_users WHERE id = $BENCH_USER;" || warn "removing the bench user $BENCH_USER failed"
}

busy=$(pgrep -x wrk || true; pgrep -f pytest || true)
[ -z "$busy" ] || warn "other wrk or pytest processes are running (pids $(echo "$busy" | tr '\n' ' ')): the figures will be disturbed"

# The bench user and one unpaid order of course 1: every query of it asks the gateway.
trap cleanup EXIT
cleanup
bench_sql "INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
             is_active, date_joined, mobile, money, credit, avatar, nickname)
           VALUES ($BENCH_USER, '!', NULL, 0, 'bench-brownout', '', '', 'bench-brownout@luffycity.test', 0, 1, NOW(6),
                   '19900000901', 0, 0, NULL, 'bench-brownout');"
export BENCH_TOKEN
BENCH_TOKEN=$("$STACK_SH" "$STACK" token "$BENCH_USER")
USER1_TOKEN=$("$STACK_SH" "$STACK" token 1)
order=$(curl -s -H "Authorization: jwt $BENCH_TOKEN" -H 'Content-Type: application/json' \
        -d '{"course_ids":[1],"pay_type":0,"user_coupon_id":-1,"credit":0}' "$BASE_URL/orders")
BENCH_QUERY_ORDER=$(printf '%s' "$order" | sed -n 's/.*"order_number":"\([0-9]*\)".*/\1/p')
[ -n "$BENCH_QUERY_ORDER" ] || die "POST /orders as user $BENCH_USER answered: $order"
export BENCH_QUERY_ORDER
answer=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: jwt $BENCH_TOKEN" \
         "$BASE_URL/payments/alipay/query/$BENCH_QUERY_ORDER")
[ "$answer" = 400 ] || die "the query of $BENCH_QUERY_ORDER answers $answer, not 400 order_unpaid: is the sandbox up?"

ROW_FORMAT='%-34s %10s %9s %9s %9s  %s'
RESULTS=()

# phase NAME: the three wrk at once, then one row each
phase() {
    local name=$1 out=$LOG_DIR/brownout-$1 path
    step "$name: wrk -c$QUERY_CONNECTIONS query, -c$STREAM_CONNECTIONS /healthz, -c$STREAM_CONNECTIONS /user/order, $DURATION"
    # --timeout: a query holding a permit answers only after the app's gateway time-out
    wrk -t1 -c"$QUERY_CONNECTIONS" -d"$DURATION" --timeout 30s --latency -s "$BENCH_DIR/gateway-query.lua" \
        "$BASE_URL/" >"$out-query.txt" &
    local query_pid=$!
    wrk -t1 -c"$STREAM_CONNECTIONS" -d"$DURATION" --latency "$BASE_URL/healthz" >"$out-healthz.txt" &
    local healthz_pid=$!
    wrk -t1 -c"$STREAM_CONNECTIONS" -d"$DURATION" --latency -H "Authorization: jwt $USER1_TOKEN" \
        "$BASE_URL/user/order?page=1&size=5" >"$out-user-order.txt"
    wait "$healthz_pid" "$query_pid"
    for path in healthz user-order query; do
        RESULTS+=("$(awk -v label="$name ${path/-//}" -v fmt="$ROW_FORMAT" '
            $1 == "50%"            { p50 = $2 }
            $1 == "99%"            { p99 = $2 }
            $1 == "Latency" && NF >= 5 { max = $4 }
            $1 == "Requests/sec:"  { rps = $2 }
            /Non-2xx or 3xx/       { bad = "non-2xx " $NF }
            /^bench-check: /       { sub(/^bench-check: /, ""); bad = $0 }
            /Socket errors/        { err = $0; sub(/^ *Socket errors: */, "", err) }
            END { if (err != "") bad = bad (bad == "" ? "" : "; ") "socket errors: " err
                  printf fmt, label, rps, p50, p99, max, bad }' "$out-$path.txt")")
    done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
phase baseline
brownout "$DELAY_MS"
phase brownout
brownout 0

echo
echo "luffy-pay brownout bench ($STACK stack, $BASE_URL): $THREADS app threads, $PERMITS gateway permits," \
     "LUFFY_ALIPAY_TIMEOUT=${GATEWAY_TIMEOUT}s, sandbox delay ${DELAY_MS} ms in the brownout; $(nproc) cores," \
     "load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
# shellcheck disable=SC2059
printf "$ROW_FORMAT\n" "phase endpoint" req/s p50 p99 max answers
printf '%s\n' "${RESULTS[@]}"
echo "(query: 400 = order_unpaid, the gateway answered; 502 = gateway_unavailable after the time-out;" \
     "503 = gateway_busy at once. wrk counts a request once however long it waited and sends nothing" \
     "on that connection meanwhile, so a stall shows in max more than in p99; tests/integration/test_bulkhead.py" \
     "measures on a fixed schedule. Raw output: ${LOG_DIR#"$ROOT"/}/brownout-*.txt)"
