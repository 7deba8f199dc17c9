#!/usr/bin/env bash
# scripts/stack.sh NAME ACTION — a local luffy-pay stack: MariaDB + app + sandbox + nginx.
#
#   NAME    dev (make up/down) | test (make test)
#   ACTION  up | down | status | info | summary | token USER_ID
#           db-stop | db-start | app-stop | app-start | app-pid
#           sandbox-stop | sandbox-start | sandbox-pid
#   NAME    cluster (make cluster-up/down) | cluster-test (make cluster-test): three Galera nodes,
#           two app instances (deploy/CLUSTER.md); ACTION  up | down | status | info | summary |
#           token USER_ID | node-stop|node-kill|node-start|node-status N | app-stop|app-kill|
#           app-start|app-pid N | sandbox-stop | sandbox-start | sql N 'STATEMENT'
#
# Everything a stack owns lives in var/NAME/ (see docs/ARCHITECTURE.md):
#   luffy-pay.env       settings and secrets (LUFFY_CONFIG of every process of the stack)
#   mariadb-client.cnf  `mariadb --defaults-file=…` logs in as the app's user
#   mysql/              MariaDB datadir        run/  sockets and pid files
#   log/                app.log, sandbox.log, mariadb.log, nginx-error.log, nginx-access.log, …
#   nginx/              rendered nginx.conf and nginx's temp folders
#   keys/               (test stack) RSA dev keys; the dev stack's live in keys/dev/
# Processes are found through their pid files, and a pid only counts when it is the
# expected program and belongs to this stack folder; `down` stops each with its signal,
# waits, then KILLs it and its children. Nothing outside var/NAME/ is touched.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
shopt -u patsub_replacement 2>/dev/null || true   # `&` in ${var//x/y} stays literal

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------- the one place for ports
select_stack() {
    STACK=$1
    case "$STACK" in
        dev)  NGINX_PORT=8080  DB_PORT=3307  SANDBOX_PORT=8090  FRONT_PORT=8081
              DB_EXTRA_OPTS=() ;;
        # LUFFY_TEST_PORT_OFFSET moves every port of the test stack, so that test stacks of
        # several work trees of one machine can run side by side.
        test) local off=${LUFFY_TEST_PORT_OFFSET:-0}
              [[ $off =~ ^[0-9]{1,4}$ ]] || die "LUFFY_TEST_PORT_OFFSET must be a small number"
              NGINX_PORT=$((18080 + off)) DB_PORT=$((13307 + off)) SANDBOX_PORT=$((18090 + off))
              FRONT_PORT=$((18070 + off))
              # throwaway data: trade durability for speed
              DB_EXTRA_OPTS=(--innodb-flush-log-at-trx-commit=2) ;;
        # The cluster stacks (deploy/CLUSTER.md, "Ports"): nginx balances over both app instances
        # on NGINX_PORT and reaches instance 1 and 2 alone on APP1_PORT and APP2_PORT; node N
        # serves clients on NODE_BASE_PORT + N - 1 and Galera on GALERA_BASE_PORT + 10 (N - 1)
        # (+1 IST, +2 SST). The front end's origin is a port nothing of the stack listens on.
        cluster)
              NGINX_PORT=8080  APP1_PORT=8081  APP2_PORT=8082  SANDBOX_PORT=8090  FRONT_PORT=8083
              NODE_BASE_PORT=3311  GALERA_BASE_PORT=4567 ;;
        cluster-test)
              local off=${LUFFY_TEST_PORT_OFFSET:-0}
              [[ $off =~ ^[0-9]{1,4}$ ]] || die "LUFFY_TEST_PORT_OFFSET must be a small number"
              NGINX_PORT=$((28080 + off)) APP1_PORT=$((28081 + off)) APP2_PORT=$((28082 + off))
              SANDBOX_PORT=$((28090 + off)) FRONT_PORT=$((28083 + off))
              NODE_BASE_PORT=$((23311 + off)) GALERA_BASE_PORT=$((24567 + off)) ;;
        *)    die "unknown stack '$STACK' (dev, test, cluster or cluster-test)" ;;
    esac
    CLUSTER=0
    case "$STACK" in cluster*) CLUSTER=1 ;; esac
    STACK_DIR=$ROOT/var/$STACK
    RUN_DIR=$STACK_DIR/run
    LOG_DIR=$STACK_DIR/log
    DATA_DIR=$STACK_DIR/mysql
    NGINX_DIR=$STACK_DIR/nginx
    ENV_FILE=$STACK_DIR/luffy-pay.env
    CLIENT_CNF=$STACK_DIR/mariadb-client.cnf
    DB_SOCKET=$RUN_DIR/mysqld.sock
    APP_SOCKET=$RUN_DIR/app.sock
    SANDBOX_SOCKET=$RUN_DIR/sandbox.sock
    # RSA key pairs of the app and of the local "Alipay" (scripts/keys.sh, keys/README.md)
    case "$STACK" in
        dev|cluster) KEYS_DIR=$ROOT/keys/dev ;;
        *)           KEYS_DIR=$STACK_DIR/keys ;;
    esac
    APP_BIN=$ROOT/.build/release/luffy-pay
    SANDBOX_BIN=$ROOT/.build/release/alipay-sandbox
    BASE_URL=http://127.0.0.1:$NGINX_PORT
    # A front end on another origin that may call the API (LUFFY_CORS_ORIGINS, README "CORS"):
    # nothing of the stack listens there; a Vue dev server may (dev), the CORS test does (test).
    FRONT_ORIGIN=http://127.0.0.1:$FRONT_PORT
    [ "$CLUSTER" = 1 ] && select_cluster
    return 0
}

# Every process of a stack reads the stack's settings file and nothing else: drop LUFFY_*
# variables inherited from the caller (env would win over the file), keep LUFFY_CONFIG.
isolate_environment() {
    local v
    for v in $(compgen -v LUFFY_ || true); do unset "$v"; done
    export LUFFY_CONFIG=$ENV_FILE
}

# ---------------------------------------------------------------- small helpers
port_open() {   # something accepts TCP connections on 127.0.0.1:$1
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

pid_alive() {   # exists and is not a zombie
    local state
    [ -r "/proc/$1/stat" ] || return 1
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# The pid runs one of our programs and belongs to this stack (its command line or its
# environment names the stack folder) — guards against stale pid files and reused pids.
pid_ours() {
    local pid=$1 exe
    pid_alive "$pid" || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    exe=${exe% (deleted)}
    case "${exe##*/}" in
        mariadbd|nginx|luffy-pay|alipay-sandbox|rsync) ;;
        *) return 1 ;;
    esac
    grep -qaF "$STACK_DIR/" "/proc/$pid/cmdline" "/proc/$pid/environ" 2>/dev/null
}

descendants() {   # all children, grandchildren, … of $1
    local child
    for child in $(pgrep -P "$1" 2>/dev/null || true); do
        echo "$child"
        descendants "$child"
    done
}

# Wait up to $2 seconds for a condition command ($3…) to succeed.
wait_for() {
    local what=$1 secs=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    warn "timed out after ${secs}s waiting for $what"
    return 1
}

show_log() {   # last lines of a log, for failures
    [ -f "$1" ] || return 0
    say "---- last lines of ${1#"$ROOT"/} ----"
    tail -n "${2:-25}" "$1" >&2 || true
    say "----"
}

# ---------------------------------------------------------------- generic service control
# A service NAME has run/NAME.pid and log/NAME.log.
svc_pid() {   # print the pid of a running service of this stack, or fail
    local file=$RUN_DIR/$1.pid pid
    [ -f "$file" ] || return 1
    pid=$(head -n1 "$file" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && pid_ours "$pid" || return 1
    echo "$pid"
}

# svc_launch NAME CMD… — start CMD in the background (no stdin, output to its log, and no other
# descriptor of the caller: a lock some caller holds, like test.sh's, must not outlive it in a
# service) and record its pid. The subshell execs CMD, so $! is CMD itself.
svc_launch() {
    local name=$1 pid
    shift
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 2 ] && eval "exec $fd>&-"
        done
        exec "$@"
    ) </dev/null >>"$LOG_DIR/$name.log" 2>&1 &
    pid=$!
    echo "$pid" >"$RUN_DIR/$name.pid"
    # a start that dies at once is reported by the caller's readiness check
}

# svc_stop NAME SIGNAL GRACE_SECONDS
svc_stop() {
    local name=$1 sig=$2 grace=$3 pid kids
    if ! pid=$(svc_pid "$name"); then
        rm -f "$RUN_DIR/$name.pid"
        return 0
    fi
    say "stopping $name (pid $pid, SIG$sig)"
    kids=$(descendants "$pid")
    kill -s "$sig" "$pid" 2>/dev/null || true
    if ! wait_for "$name to exit" "$grace" eval "! pid_alive $pid"; then
        say "killing $name (pid $pid${kids:+ and children $(echo "$kids" | tr '\n' ' ')})"
        # shellcheck disable=SC2086
        kill -KILL "$pid" $kids 2>/dev/null || true
        wait_for "$name to die" 5 eval "! pid_alive $pid" || die "$name (pid $pid) survived SIGKILL"
    fi
    # children that outlived their parent (e.g. nginx workers after a KILLed master)
    local kid
    for kid in $kids; do
        if pid_alive "$kid"; then kill -KILL "$kid" 2>/dev/null || true; fi
    done
    rm -f "$RUN_DIR/$name.pid"
}

# Processes of this stack without (valid) pid file: a crashed script, a lost pid file.
stray_pids() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        pid_ours "$pid" && echo "$pid"
    done
    return 0
}

# ---------------------------------------------------------------- settings and secrets
env_get() {   # value of KEY in the settings file
    sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1
}

env_set() {   # KEY VALUE: (re)write a key the stack owns (paths, ports)
    local key=$1 value=$2 tmp
    if grep -q "^$key=" "$ENV_FILE"; then
        [ "$(env_get "$key")" = "$value" ] && return 0
        tmp=$(mktemp "$ENV_FILE.XXXXXX")
        awk -v k="$key" -v v="$value" 'index($0, k "=") == 1 { print k "=" v; next } { print }' \
            "$ENV_FILE" >"$tmp"
        chmod 600 "$tmp"
        mv "$tmp" "$ENV_FILE"
    else
        echo "$key=$value" >>"$ENV_FILE"
    fi
}

env_default() {   # KEY VALUE: add a key only when missing (secrets, tunables you may edit)
    grep -q "^$1=" "$ENV_FILE" || echo "$1=$2" >>"$ENV_FILE"
}

# nginx writes these URLs into its JSON (location = /alipay/links.json): http(s) or a path, and
# none of the characters that would end the string there or in nginx's syntax.
check_shop_url() {
    local value
    value=$(env_get "$1")
    case $value in
        http://* | https://* | /*) ;;
        *) die "$1=$value in ${ENV_FILE#"$ROOT"/}: expected an http(s) URL or a path" ;;
    esac
    local forbidden='[[:space:]"'\''\\$;{}]'
    if [[ $value =~ $forbidden ]]; then
        die "$1=$value in ${ENV_FILE#"$ROOT"/}: no blanks, quotes, \\, \$, ; or braces"
    fi
}

ensure_settings() {
    local sock
    for sock in "$DB_SOCKET" "$APP_SOCKET" "$SANDBOX_SOCKET" "$RUN_DIR/node3.sock"; do   # sun_path holds 107 bytes
        [ ${#sock} -le 100 ] || die "unix socket path too long (${#sock} bytes): $sock; use a shorter work tree path"
    done
    mkdir -p "$RUN_DIR" "$LOG_DIR" "$NGINX_DIR"
    if [ ! -f "$ENV_FILE" ]; then
        step "generating settings and secrets: ${ENV_FILE#"$ROOT"/}"
        (umask 077 && cat >"$ENV_FILE" <<EOF
# luffy-pay settings of the local '$STACK' stack (generated by scripts/stack.sh; git-ignored).
# Paths and ports are rewritten on every start; secrets are generated once; other keys
# (docs/ARCHITECTURE.md) may be added or edited here: restart the stack to apply them.
EOF
        )
    fi
    chmod 600 "$ENV_FILE"
    env_set LUFFY_DB_HOST 127.0.0.1
    env_set LUFFY_DB_PORT "$DB_PORT"
    env_set LUFFY_DB_SOCKET "$DB_SOCKET"
    env_set LUFFY_DB_USER luffy
    env_set LUFFY_DB_NAME luffycity
    env_set LUFFY_FCGI_SOCKET "$APP_SOCKET"
    env_set LUFFY_SQL_DIR "$ROOT/sql"
    env_default LUFFY_DB_PASSWORD "$(openssl rand -hex 16)"
    env_default LUFFY_JWT_SECRET "$(openssl rand -hex 32)"
    env_default LUFFY_LOG_LEVEL info

    # Alipay: the app pays through this stack's alipay-sandbox with generated dev keys. Key paths
    # and sockets are rewritten on every start; the app id, seller id and URLs are defaults you may
    # edit (e.g. Alipay's own sandbox gateway with real keys, see keys/README.md).
    "$ROOT/scripts/keys.sh" "$KEYS_DIR"
    env_default LUFFY_ALIPAY_APP_ID 9021000000000001
    env_default LUFFY_ALIPAY_SELLER_ID 2088000000000001
    env_default LUFFY_ALIPAY_GATEWAY "http://127.0.0.1:$SANDBOX_PORT/gateway.do"
    env_default LUFFY_ALIPAY_RETURN_URL "$BASE_URL/alipay"
    env_default LUFFY_ALIPAY_NOTIFY_URL "$BASE_URL/payments/alipay/notify"
    env_set LUFFY_ALIPAY_APP_PRIVATE_KEY "$KEYS_DIR/app_private_key.pem"
    env_set LUFFY_ALIPAY_PUBLIC_KEY "$KEYS_DIR/alipay_public_key.pem"
    env_set LUFFY_SANDBOX_FCGI_SOCKET "$SANDBOX_SOCKET"
    env_set LUFFY_SANDBOX_PRIVATE_KEY "$KEYS_DIR/alipay_private_key.pem"
    env_set LUFFY_SANDBOX_APP_PUBLIC_KEY "$KEYS_DIR/app_public_key.pem"
    # more threads than the app's workers and sweeper can hold in a brownout (docs/SANDBOX.md)
    env_default LUFFY_SANDBOX_THREADS 16
    env_default LUFFY_SANDBOX_NOTIFY_DELAYS 1,2,4,8,16
    # its trades and refunds survive a restart (docs/SANDBOX.md, "Refunds")
    env_set LUFFY_SANDBOX_STATE_FILE "$STACK_DIR/sandbox-trades.json"

    # The shop's front end (README, "CORS" and "The return page"): the origin allowed to call the
    # API from a browser, and the pages the return page's buttons lead to (the stand-ins in
    # nginx/html/shop; nginx gets them, see render_server_block).
    env_default LUFFY_CORS_ORIGINS "$FRONT_ORIGIN"
    env_default LUFFY_SHOP_ORDERS_URL "$BASE_URL/shop/orders"
    env_default LUFFY_SHOP_HOME_URL "$BASE_URL/shop/"
    check_shop_url LUFFY_SHOP_ORDERS_URL
    check_shop_url LUFFY_SHOP_HOME_URL
    # The course covers' base (README, "Configuration"): this stack's nginx serves placeholders there.
    env_default LUFFY_MEDIA_URL "$BASE_URL/media/"
    # The tests run the refund worker themselves (`luffy-pay refunds run`), so that a refund stays
    # where a test left it; the dev stack's `serve` runs it (README, "Refund worker").
    case "$STACK" in test|cluster-test) env_default LUFFY_REFUND_INTERVAL 0 ;; esac
    # The reconciliation service (docs/RECONCILIATION.md): the test stack's is due all day and asks
    # again every second, so that its test sees it retry and complete within seconds.
    if [ "$STACK" = test ]; then
        env_default LUFFY_RECONCILE_AT 00:00
        env_default LUFFY_RECONCILE_RETRY 1
    fi
    # The cluster tests have no reconciliation test: no bill fetched in their background.
    if [ "$STACK" = cluster-test ]; then env_default LUFFY_RECONCILE_AT off; fi

    # client settings for `mariadb --defaults-file=…` as the app's user
    (umask 077 && cat >"$CLIENT_CNF" <<EOF
[client]
user=$(env_get LUFFY_DB_USER)
password=$(env_get LUFFY_DB_PASSWORD)
socket=$DB_SOCKET
database=$(env_get LUFFY_DB_NAME)
default-character-set=utf8mb4
EOF
    )
}

# ---------------------------------------------------------------- MariaDB
db_root() {   # mariadb client as root (unix_socket authentication on the stack's socket)
    mariadb --no-defaults --socket="$DB_SOCKET" --user="$(id -un)" \
        --default-character-set=utf8mb4 "$@"
}

db_init() {
    [ -d "$DATA_DIR/mysql" ] && return 0
    step "initialising MariaDB datadir ${DATA_DIR#"$ROOT"/}"
    rm -rf "$DATA_DIR"
    local os_user extra=()
    os_user=$(id -un)
    [ "$os_user" = root ] || extra=(--auth-root-socket-user="$os_user")
    if ! mariadb-install-db --no-defaults --user="$os_user" --datadir="$DATA_DIR" \
            --auth-root-authentication-method=socket "${extra[@]}" --skip-test-db \
            >>"$LOG_DIR/mariadb-install.log" 2>&1; then
        show_log "$LOG_DIR/mariadb-install.log"
        rm -rf "$DATA_DIR"
        die "mariadb-install-db failed"
    fi
    rm -f "$STACK_DIR/.dev-data-loaded"
}

db_ready() { mariadb-admin --no-defaults --socket="$DB_SOCKET" --user="$(id -un)" ping >/dev/null 2>&1; }

db_start() {
    local pid
    if pid=$(svc_pid mariadb); then
        say "mariadb already running (pid $pid, port $DB_PORT)"
        return 0
    fi
    db_init
    port_open "$DB_PORT" && die "port $DB_PORT is taken by another process: cannot start MariaDB of stack $STACK"
    step "starting MariaDB on 127.0.0.1:$DB_PORT"
    rm -f "$DB_SOCKET" "$DB_SOCKET.lock"
    svc_launch mariadb mariadbd --no-defaults --user="$(id -un)" \
        --datadir="$DATA_DIR" --socket="$DB_SOCKET" --port="$DB_PORT" \
        --bind-address=127.0.0.1 --skip-name-resolve \
        --pid-file="$RUN_DIR/mariadb.pid" --log-error="$LOG_DIR/mariadb.log" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        "${DB_EXTRA_OPTS[@]}"
    if ! wait_for "MariaDB" 60 db_up_or_dead; then
        show_log "$LOG_DIR/mariadb.log"; die "MariaDB did not start"
    fi
    svc_pid mariadb >/dev/null || { show_log "$LOG_DIR/mariadb.log"; die "MariaDB exited"; }
}

db_up_or_dead() {   # stop waiting when the server answers or its process is gone
    local pid
    pid=$(head -n1 "$RUN_DIR/mariadb.pid" 2>/dev/null) || return 0
    pid_alive "$pid" || return 0
    db_ready
}

db_stop() { svc_stop mariadb TERM 60; }

# Database and users; re-run on every `up` (keeps the password in step with the settings).
db_setup() {
    local db user pw host
    db=$(env_get LUFFY_DB_NAME) user=$(env_get LUFFY_DB_USER) pw=$(env_get LUFFY_DB_PASSWORD)
    {
        echo "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"
        for host in localhost 127.0.0.1; do
            echo "CREATE USER IF NOT EXISTS '$user'@'$host' IDENTIFIED BY '$pw';"
            echo "ALTER USER '$user'@'$host' IDENTIFIED BY '$pw';"
            echo "GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'$host';"
        done
    } | db_root || die "creating database $db and user $user failed"
    # the app's credentials work over the socket and over TCP
    mariadb --defaults-file="$CLIENT_CNF" -e 'SELECT 1' >/dev/null \
        || die "cannot log in as $user over the socket"
    mariadb --defaults-file="$CLIENT_CNF" --protocol=TCP --host=127.0.0.1 --port="$DB_PORT" \
        -e 'SELECT 1' >/dev/null || die "cannot log in as $user over TCP"
}

# Dev data is loaded once per datadir (marker .dev-data-loaded), after the first successful
# migrate: later `up`s keep whatever you changed. Fresh data: make down; rm -rf var/dev.
db_load_dev_data() {
    local file=$ROOT/sql/dev-data.sql marker=$STACK_DIR/.dev-data-loaded
    [ -f "$marker" ] && return 0
    [ -f "$file" ] || { warn "no sql/dev-data.sql yet: no demo data"; return 0; }
    step "loading sql/dev-data.sql"
    db_root "$(env_get LUFFY_DB_NAME)" <"$file" || die "loading sql/dev-data.sql failed"
    touch "$marker"
}

# ---------------------------------------------------------------- the app
have_package() { [ -f "$ROOT/Package.swift" ]; }

app_build() {
    if ! have_package; then
        warn "no Package.swift yet: skipping build, migrate and the app"
        return 0
    fi
    step "swift build -c release"
    (cd "$ROOT" && swift build -c release) >&2 || die "swift build failed"
}

app_migrate() {
    [ -x "$APP_BIN" ] || return 0
    step "luffy-pay migrate"
    "$APP_BIN" migrate >&2 || die "luffy-pay migrate failed"
}

# The app and the sandbox are both FastCGI responders on a unix socket of the stack.
fcgi_ready() {   # fcgi_ready NAME SOCKET: the socket exists, or the process is gone (caller re-checks)
    local pid
    pid=$(head -n1 "$RUN_DIR/$1.pid" 2>/dev/null) || return 0
    pid_alive "$pid" || return 0
    [ -S "$2" ]
}

# fcgi_start NAME PROGRAM SOCKET GRACE_SECONDS BIN [ARGS…]: start it unless it runs (restart it
# when BIN was rebuilt since) and wait for its socket. The programs create it 0660 in their own
# group (LUFFY_FCGI_SOCKET_GROUP unset): nginx reaches it as root (`user root`) or, run by another
# user, as that same user.
fcgi_start() {
    local name=$1 program=$2 socket=$3 grace=$4 bin=$5 pid
    shift 4
    [ -x "$bin" ] || { warn "no ${bin#"$ROOT"/}: $program not started"; return 0; }
    if pid=$(svc_pid "$name"); then
        if [ "$bin" -nt "$RUN_DIR/$name.pid" ]; then
            say "$program was rebuilt: restarting it"
            svc_stop "$name" TERM "$grace"
        else
            say "$name already running (pid $pid)"
            return 0
        fi
    fi
    step "starting $program on ${socket#"$ROOT"/}"
    rm -f "$socket"
    svc_launch "$name" "$@"
    if ! wait_for "the $name's socket" 20 fcgi_ready "$name" "$socket" || ! svc_pid "$name" >/dev/null; then
        show_log "$LOG_DIR/$name.log"; die "$program did not start"
    fi
}

# The log file is the app's own (LUFFY_LOG_FILE, reopened on SIGHUP: README, "Logs"); stderr goes
# there too, for what is written before logging starts. Only `serve` gets it: the commands the
# tests run (token, sweep, audit) keep logging to their stderr.
app_start() { LUFFY_LOG_FILE="$LOG_DIR/app.log" fcgi_start app "luffy-pay serve" "$APP_SOCKET" 15 "$APP_BIN" serve; }
app_stop() { svc_stop app TERM 15; }

# ---------------------------------------------------------------- the Alipay sandbox
# alipay-sandbox is a FastCGI app like luffy-pay (docs/SANDBOX.md): it listens on
# run/sandbox.sock, nginx serves it on 127.0.0.1:$SANDBOX_PORT. Its trades and refunds are kept
# in sandbox-trades.json of the stack folder: a restart (also after a rebuild) keeps them.
sandbox_start() {
    LUFFY_SANDBOX_LOG_FILE="$LOG_DIR/sandbox.log" fcgi_start sandbox alipay-sandbox "$SANDBOX_SOCKET" 12 "$SANDBOX_BIN"
}

# TERM: requests in flight finish; pending notifications are lost (trades are in sandbox-trades.json).
sandbox_stop() { svc_stop sandbox TERM 12; }

# ---------------------------------------------------------------- nginx
# nginx/luffy-pay.conf rewritten for this stack: its listen lines, socket, html root, API contract,
# logs, and the shop's pages of the return page's buttons.
render_server_block() {
    local text media
    text=$(sed -e '/^[[:space:]]*listen[[:space:]]*\[::\]/d' \
               -e "s|^\([[:space:]]*\)listen[[:space:]].*|\1listen 127.0.0.1:$NGINX_PORT;|" \
               "$ROOT/nginx/luffy-pay.conf")
    # shellcheck disable=SC2016  # nginx's variables, literally
    text=${text//'set $luffy_shop_orders_url "/shop/orders";'/"set \$luffy_shop_orders_url \"$(env_get LUFFY_SHOP_ORDERS_URL)\";"}
    # shellcheck disable=SC2016
    text=${text//'set $luffy_shop_home_url   "/shop/";'/"set \$luffy_shop_home_url \"$(env_get LUFFY_SHOP_HOME_URL)\";"}
    # the placeholder covers of nginx/media on /media/, where the stack's LUFFY_MEDIA_URL points
    media=$(<"$ROOT/nginx/stack-media.conf.in")
    text=${text//'    # (here the local stacks serve /media/)'/${media//@MEDIA_DIR@/$ROOT/nginx/media}}
    text=${text//unix:\/run\/luffy-pay\/luffy-pay.sock/unix:$APP_SOCKET}
    text=${text//\/usr\/local\/share\/luffy-pay\/html/$ROOT/nginx/html}
    text=${text//\/usr\/local\/share\/luffy-pay\/openapi.yaml/$ROOT/docs/openapi.yaml}
    text=${text//\/var\/log\/nginx\/luffy-pay.access.log/$LOG_DIR/nginx-access.log}
    text=${text//\/var\/log\/nginx\/luffy-pay.error.log/$LOG_DIR/nginx-error.log}
    printf '%s\n' "$text"
}

render_main_conf() {
    local text user_directive=""
    [ "$(id -u)" -eq 0 ] && user_directive="user root;   # workers must reach the stack's files and socket"
    text=$(<"$ROOT/nginx/stack.conf.in")
    text=${text//@USER_DIRECTIVE@/$user_directive}
    text=${text//@RUN_DIR@/$RUN_DIR}
    text=${text//@LOG_DIR@/$LOG_DIR}
    text=${text//@NGINX_DIR@/$NGINX_DIR}
    text=${text//@SANDBOX_PORT@/$SANDBOX_PORT}
    text=${text//@SANDBOX_SOCKET@/$SANDBOX_SOCKET}
    printf '%s\n' "$text"
}

# Renders into $NGINX_DIR; returns 0 when the rendered files changed.
nginx_render() {
    local new=$NGINX_DIR/.render changed=1 f leftover
    mkdir -p "$NGINX_DIR/tmp" "$new"
    cp /etc/nginx/mime.types /etc/nginx/fastcgi_params "$new/"
    if [ "$CLUSTER" = 1 ]; then render_cluster_servers; else render_server_block; fi >"$new/luffy-pay.conf"
    render_main_conf >"$new/nginx.conf"
    leftover=$(grep -nE '@[A-Z_]+@|/run/luffy-pay/|/var/log/nginx/|/usr/local/share/luffy-pay/|listen +80|\[::\]' \
        "$new/nginx.conf" "$new/luffy-pay.conf" | grep -v '^[^:]*:[0-9]*:[[:space:]]*#' || true)
    [ -z "$leftover" ] || die "rendering nginx config left production values behind:"$'\n'"$leftover"
    for f in mime.types fastcgi_params luffy-pay.conf nginx.conf; do
        if ! cmp -s "$new/$f" "$NGINX_DIR/$f"; then
            mv "$new/$f" "$NGINX_DIR/$f"
            changed=0
        fi
    done
    rm -rf "$new"
    return $changed
}

nginx_cmd() {
    nginx -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" -e "$LOG_DIR/nginx-error.log" "$@"
}

# HUP is asynchronous: wait until the old workers are gone (they finish their requests first).
nginx_reload() {
    local master=$1 old w
    old=$(pgrep -P "$master" || true)
    kill -HUP "$master"
    for w in $old; do
        wait_for "old nginx worker $w to finish" 10 eval "! pid_alive $w" || return 0
    done
}

nginx_start() {
    local pid changed=1
    [ -d "$ROOT/nginx/html" ] || warn "no nginx/html yet: static pages will answer 404"
    nginx_render && changed=0
    if ! nginx_cmd -t -q >>"$LOG_DIR/nginx.log" 2>&1; then
        show_log "$LOG_DIR/nginx.log" 10; die "nginx config test failed (var/$STACK/nginx/nginx.conf)"
    fi
    if pid=$(svc_pid nginx); then
        if [ $changed -eq 0 ]; then
            say "nginx config changed: reloading (pid $pid)"
            nginx_reload "$pid"
        else
            say "nginx already running (pid $pid, port $NGINX_PORT)"
        fi
        return 0
    fi
    port_open "$NGINX_PORT" && die "port $NGINX_PORT is taken by another process: cannot start nginx of stack $STACK"
    if [ "$CLUSTER" = 1 ]; then
        local port
        for port in "$APP1_PORT" "$APP2_PORT"; do
            port_open "$port" && die "port $port is taken by another process: cannot start nginx of stack $STACK"
        done
    fi
    port_open "$SANDBOX_PORT" && die "port $SANDBOX_PORT (sandbox) is taken by another process: cannot start nginx of stack $STACK"
    step "starting nginx on 127.0.0.1:$NGINX_PORT"
    svc_launch nginx nginx -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" \
        -e "$LOG_DIR/nginx-error.log" -g 'daemon off;'
    if ! wait_for "nginx" 20 port_open "$NGINX_PORT" || ! svc_pid nginx >/dev/null; then
        show_log "$LOG_DIR/nginx-error.log"; die "nginx did not start"
    fi
}

nginx_stop() { svc_stop nginx QUIT 10; }

# ---------------------------------------------------------------- the cluster stacks
# `cluster` and `cluster-test` (deploy/CLUSTER.md): three MariaDB Galera nodes on 127.0.0.1, two
# app instances, the sandbox and nginx. Besides what every stack has, var/<stack>/ holds
#   node1/ node2/ node3/  each node's datadir (data/) and mariadbd's own pid file
#   app1.env app2.env     each instance's settings: luffy-pay.env with its own node order and
#                         socket (rewritten on every start: edit luffy-pay.env)
#   run/node{1,2,3}.sock run/app{1,2}.sock, log/node{1,2,3}.log log/app{1,2}.log
# luffy-pay.env itself lists the three nodes: `migrate`, `token`, `audit` run with it.
NODES=(1 2 3)
INSTANCES=(1 2)

select_cluster() {
    DB_PORT=$NODE_BASE_PORT
    DB_SOCKET=$RUN_DIR/node1.sock
    APP_SOCKET=$RUN_DIR/app1.sock
    APP1_SOCKET=$RUN_DIR/app1.sock APP2_SOCKET=$RUN_DIR/app2.sock
    # shellcheck disable=SC2034  # these and the node ones below: printed by cluster_info
    APP1_ENV=$STACK_DIR/app1.env APP2_ENV=$STACK_DIR/app2.env
    URL1=http://127.0.0.1:$APP1_PORT URL2=http://127.0.0.1:$APP2_PORT
    # shellcheck disable=SC2034
    NODE1_PORT=$NODE_BASE_PORT NODE2_PORT=$((NODE_BASE_PORT + 1)) NODE3_PORT=$((NODE_BASE_PORT + 2))
    # shellcheck disable=SC2034
    NODE1_SOCKET=$RUN_DIR/node1.sock NODE2_SOCKET=$RUN_DIR/node2.sock NODE3_SOCKET=$RUN_DIR/node3.sock
    # rsync SST fails when mariadbd runs as root (the joiner cannot write its datadir through
    # rsync's daemon): as root the nodes run as the mysql user, owning their folders.
    NODE_USER=$(id -un)
    [ "$(id -u)" -eq 0 ] && NODE_USER=mysql
}

check_node() { [[ "${1:-}" =~ ^[1-3]$ ]] || die "usage: stack.sh $STACK ${2:-node-…} N (N = 1, 2 or 3)"; }
check_instance() { [[ "${1:-}" =~ ^[12]$ ]] || die "usage: stack.sh $STACK ${2:-app-…} N (N = 1 or 2)"; }
node_dir() { echo "$STACK_DIR/node$1"; }
node_port() { echo $((NODE_BASE_PORT + $1 - 1)); }
node_socket() { echo "$RUN_DIR/node$1.sock"; }
galera_port() { echo $((GALERA_BASE_PORT + 10 * ($1 - 1))); }   # gmcast; +1 IST, +2 SST

running_nodes() {   # the nodes whose mariadbd runs (answering or not)
    local n
    for n in "${NODES[@]}"; do
        svc_pid "node$n" >/dev/null && echo "$n"
    done
    return 0
}

node_root() {   # node_root N [mariadb args…]: the root client on node N's socket
    local n=$1
    shift
    mariadb --no-defaults --socket="$(node_socket "$n")" --user="$(id -un)" \
        --default-character-set=utf8mb4 --connect-timeout=3 "$@"
}

node_status_value() {   # node_status_value N VARIABLE: a GLOBAL STATUS value, empty when no answer
    node_root "$1" -N -B -e "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | cut -f2
}

# Ready for the app (the contract of LUFFY_DB_NODES): in the primary component and Synced.
node_ready() {
    [ "$(node_root "$1" -N -B -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
        WHERE VARIABLE_NAME IN ('wsrep_ready', 'wsrep_local_state_comment', 'wsrep_cluster_status')
        ORDER BY VARIABLE_NAME" 2>/dev/null | tr '\n' ' ')" = "Primary Synced ON " ]
}

node_ready_or_dead() {   # stop waiting when the node is ready or its process is gone
    local pid
    pid=$(head -n1 "$RUN_DIR/node$1.pid" 2>/dev/null) || return 0
    pid_alive "$pid" || return 0
    node_ready "$1"
}

# As root, the node's folders, its socket folder and its logs belong to the mysql user.
node_owns() {
    local n=$1 f
    [ "$NODE_USER" = "$(id -un)" ] && return 0
    chown "$NODE_USER:" "$(node_dir "$n")"
    chgrp "$(id -gn "$NODE_USER")" "$RUN_DIR"
    chmod g+rwx "$RUN_DIR"
    for f in "$LOG_DIR/node$n.log" "$LOG_DIR/node$n-recover.log"; do
        touch "$f"
        chown "$NODE_USER:" "$f"
    done
}

node_init() {
    local n=$1 dir data
    dir=$(node_dir "$n")
    data=$dir/data
    mkdir -p "$dir"
    node_owns "$n"
    [ -d "$data/mysql" ] && return 0
    step "initialising node $n's datadir ${data#"$ROOT"/}"
    rm -rf "$data"
    local extra=()
    [ "$NODE_USER" = root ] || extra=(--auth-root-socket-user="$(id -un)")
    if ! mariadb-install-db --no-defaults --user="$NODE_USER" --datadir="$data" \
            --auth-root-authentication-method=socket "${extra[@]}" --skip-test-db \
            >>"$LOG_DIR/mariadb-install.log" 2>&1; then
        show_log "$LOG_DIR/mariadb-install.log"
        rm -rf "$data"
        die "mariadb-install-db failed for node $n"
    fi
    chown -R "$NODE_USER:" "$data"
}

# The options of node N (without --log-error). Galera on one host: each node has its own
# datadir, socket, client port, gmcast, IST and SST ports. The evs time-outs are raised (defaults
# 5 s and 15 s): on two shared cores a starved node must not be taken for a dead one, at the cost
# of a longer pause of the cluster's writes when a node really dies (deploy/CLUSTER.md).
node_args() {
    local n=$1 g m peers=""
    g=$(galera_port "$n")
    for m in "${NODES[@]}"; do peers+="${peers:+,}127.0.0.1:$(galera_port "$m")"; done
    NODE_ARGS=(--no-defaults --user="$NODE_USER" --datadir="$(node_dir "$n")/data"
        --socket="$(node_socket "$n")" --port="$(node_port "$n")" --bind-address=127.0.0.1
        --skip-name-resolve --pid-file="$(node_dir "$n")/mariadbd.pid"
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
        --innodb-flush-log-at-trx-commit=1 --binlog-format=ROW --innodb-autoinc-lock-mode=2
        --default-storage-engine=InnoDB
        --wsrep-on=ON --wsrep-provider=/usr/lib/galera/libgalera_smm.so
        --wsrep-cluster-name="luffy-$STACK" --wsrep-cluster-address="gcomm://$peers"
        --wsrep-node-name="node$n" --wsrep-node-address=127.0.0.1
        --wsrep-sst-method=rsync --wsrep-sst-receive-address="127.0.0.1:$((g + 2))"
        --wsrep-slave-threads=2
        --wsrep-provider-options="base_port=$g;gmcast.listen_addr=tcp://127.0.0.1:$g;ist.recv_addr=127.0.0.1:$((g + 1));evs.suspect_timeout=PT10S;evs.inactive_timeout=PT30S;evs.install_timeout=PT15S;gcache.size=512M;gcache.recover=yes")
}

# node_position N: POS_SEQNO[N] (and NODE_START_POSITION[N] after a crash) of a node that is down — from grastate.dat after
# a clean stop, from InnoDB (`mariadbd --wsrep-recover`) after a crash (seqno -1 there); -2 for a
# node that never joined. Kept for the rest of this run.
declare -A POS_SEQNO=() NODE_START_POSITION=()
node_position() {
    local n=$1 state seqno=-2 pos log
    [ -n "${POS_SEQNO[$n]:-}" ] && return 0
    state=$(node_dir "$n")/data/grastate.dat
    if [ -f "$state" ]; then
        seqno=$(sed -n 's/^seqno:[[:space:]]*//p' "$state")
    fi
    if [ "$seqno" = -1 ]; then
        log=$LOG_DIR/node$n-recover.log
        step "node $n stopped uncleanly: mariadbd --wsrep-recover"
        : >"$log"
        node_args "$n"
        if ! mariadbd "${NODE_ARGS[@]}" --wsrep-recover --log-error="$log" >>"$log" 2>&1; then
            show_log "$log"; die "mariadbd --wsrep-recover failed for node $n"
        fi
        pos=$(sed -n 's/.*WSREP: Recovered position: *//p' "$log" | tail -n1)
        [[ "$pos" =~ ^[0-9a-f-]{36}:-?[0-9]+$ ]] || { show_log "$log"; die "node $n: no position recovered"; }
        seqno=${pos##*:}
        say "node $n: recovered position $pos"
        NODE_START_POSITION[$n]=$pos
    fi
    [[ "$seqno" =~ ^-?[0-9]+$ ]] || seqno=-2
    POS_SEQNO[$n]=$seqno
}
most_advanced_down_node() {   # the down node with the highest position (the lowest N of equals)
    local n best=""
    for n in "${NODES[@]}"; do
        svc_pid "node$n" >/dev/null && continue
        node_position "$n"
        if [ -z "$best" ] || [ "${POS_SEQNO[$n]}" -gt "${POS_SEQNO[$best]}" ]; then best=$n; fi
    done
    BEST_NODE=$best
}

# The running nodes have noticed which nodes died: none claims a primary component bigger than
# the running nodes (a killed node stays in the view for evs.suspect_timeout).
view_settled() {
    local count=$# m status size
    for m in "$@"; do
        status=$(node_status_value "$m" wsrep_cluster_status)
        size=$(node_status_value "$m" wsrep_cluster_size)
        [ "$status" = Primary ] && [ -n "$size" ] && [ "$size" -gt "$count" ] && return 1
    done
    return 0
}

node_launch() {   # node_launch N [extra mariadbd options…]: start and wait until Synced
    local n=$1 g
    shift
    g=$(galera_port "$n")
    for port in "$(node_port "$n")" "$g" "$((g + 1))" "$((g + 2))"; do
        port_open "$port" && die "port $port is taken by another process: cannot start node $n of stack $STACK"
    done
    rm -f "$(node_socket "$n")" "$(node_socket "$n").lock"
    node_args "$n"
    svc_launch "node$n" mariadbd "${NODE_ARGS[@]}" --log-error="$LOG_DIR/node$n.log" "$@"
    if ! wait_for "node $n to be Synced" 600 node_ready_or_dead "$n" || ! svc_pid "node$n" >/dev/null; then
        show_log "$LOG_DIR/node$n.log" 40; die "node $n did not start"
    fi
}

# node-start N: bootstraps when no node runs (only the most advanced node may), makes a lone
# survivor primary again (pc.bootstrap) when the others died, and otherwise joins: IST from a
# donor's gcache when it holds the missing write sets, else a full SST.
node_start() {
    local n=$1 pid m running=() primary="" best extra=()
    if pid=$(svc_pid "node$n"); then
        say "node $n already running (pid $pid)"
        return 0
    fi
    node_init "$n"
    mapfile -t running < <(running_nodes)
    node_position "$n"
    [ -n "${NODE_START_POSITION[$n]:-}" ] && extra=(--wsrep-start-position="${NODE_START_POSITION[$n]}")
    if [ ${#running[@]} -eq 0 ]; then
        most_advanced_down_node
        best=$BEST_NODE
        if [ "${POS_SEQNO[$best]}" -gt "${POS_SEQNO[$n]}" ]; then
            # Only node $best may bootstrap. A node-start of it may be waiting for our lock (the
            # tests start several nodes at once): let it run, then join what it started.
            say "no node runs and node $best has later commits (seqno ${POS_SEQNO[$best]}) than node $n (${POS_SEQNO[$n]}): waiting up to 60 s for node $best to be started"
            flock -u 9
            wait_for "node $best to be started" 60 node_ready "$best" \
                || die "node $best has the latest commits and must bootstrap the cluster: start it first (stack.sh $STACK node-start $best, or up), then node $n"
            lock_stack
            node_start "$n"
            return
        fi
        local state
        state=$(node_dir "$n")/data/grastate.dat
        if [ -f "$state" ]; then
            sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$state"
            chown "$NODE_USER:" "$state"
        fi
        step "node $n: bootstrapping the cluster (--wsrep-new-cluster, seqno ${POS_SEQNO[$n]})"
        node_launch "$n" --wsrep-new-cluster "${extra[@]}"
        return 0
    fi
    if ! wait_for "nodes ${running[*]} to drop the dead nodes from their view" 90 view_settled "${running[@]}"; then
        die "nodes ${running[*]} still count dead nodes in the cluster: try again"
    fi
    for m in "${running[@]}"; do
        [ "$(node_status_value "$m" wsrep_cluster_status)" = Primary ] && primary=$m
    done
    if [ -z "$primary" ]; then
        # The survivors lost quorum (two of three died): they refuse reads and writes (1047)
        # until told to form a primary component. Safe only from the most advanced node.
        local last best_last=-1
        for m in "${running[@]}"; do
            last=$(node_status_value "$m" wsrep_last_committed)
            if [[ "$last" =~ ^[0-9]+$ ]] && [ "$last" -gt "$best_last" ]; then best=$m best_last=$last; fi
        done
        [ -n "${best:-}" ] || die "nodes ${running[*]} run but do not answer: stop them (node-stop) and start again"
        if [ "${POS_SEQNO[$n]}" -gt "$best_last" ]; then
            die "node $n has later commits (seqno ${POS_SEQNO[$n]}) than the running node $best ($best_last): stop nodes ${running[*]} (node-stop), then node-start $n"
        fi
        step "node $best is not primary (quorum lost): pc.bootstrap=YES there (seqno $best_last)"
        node_root "$best" -e "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'" \
            || die "pc.bootstrap on node $best failed"
        wait_for "node $best to be primary and Synced" 60 node_ready "$best" || die "node $best did not become primary"
        primary=$best
    fi
    step "node $n: joining the primary component (node $primary's; seqno ${POS_SEQNO[$n]})"
    local log=$LOG_DIR/node$n.log lines transfer="none"
    lines=$(wc -l <"$log")
    node_launch "$n" "${extra[@]}"
    # what this start's log says: the SST script runs for an IST too, and says which it was
    # (grep -c reads to the end: `tail | grep -q` under pipefail may fail with tail's SIGPIPE)
    if [ "$(tail -n +"$((lines + 1))" "$log" | grep -c 'rsync SST completed on joiner')" -gt 0 ]; then
        transfer="full SST (rsync)"
    elif [ "$(tail -n +"$((lines + 1))" "$log" | grep -c 'rsync IST completed on joiner')" -gt 0 ]; then
        transfer="IST"
    fi
    say "node $n is Synced (state transfer: $transfer)"
}

node_stop() { svc_stop "node$1" TERM 120; }

node_kill() {   # kill -9: a crash (the tests' node failures)
    local n=$1 pid kids
    pid=$(svc_pid "node$n") || { say "node $n is not running"; return 0; }
    kids=$(descendants "$pid")
    say "killing node $n (pid $pid, SIGKILL)"
    # shellcheck disable=SC2086
    kill -KILL "$pid" $kids 2>/dev/null || true
    wait_for "node $n to die" 10 eval "! pid_alive $pid" || die "node $n (pid $pid) survived SIGKILL"
    rm -f "$RUN_DIR/node$n.pid"
}

node_state() {   # what node-status prints: wsrep_local_state_comment, or `down`
    local value
    if ! svc_pid "node$1" >/dev/null; then echo down; return 0; fi
    value=$(node_status_value "$1" wsrep_local_state_comment)
    echo "${value:-starting}"
}

nodes_up() {
    local n
    if [ -z "$(running_nodes)" ]; then
        most_advanced_down_node
        node_start "$BEST_NODE"
    fi
    for n in "${NODES[@]}"; do
        svc_pid "node$n" >/dev/null || node_start "$n"
    done
}

# Stopped one after the other, node 1 last: it leaves the cluster as its last member, with
# safe_to_bootstrap set, so that the next `up` bootstraps from it.
nodes_down() {
    local n
    for n in 3 2 1; do node_stop "$n"; done
}

# ---- the app instances
# The list of the nodes as instance N's LUFFY_DB_NODES: node N first, then the others in turn.
node_list() {
    local first=$1 i list=""
    for i in 0 1 2; do list+="${list:+,}$(node_socket $(((first - 1 + i) % 3 + 1)))"; done
    echo "$list"
}

instance_settings() {
    local n keys='LUFFY_DB_NODES|LUFFY_DB_HOST|LUFFY_DB_PORT|LUFFY_DB_SOCKET|LUFFY_FCGI_SOCKET'
    env_set LUFFY_DB_NODES "$(node_list 1)"
    for n in "${INSTANCES[@]}"; do
        (umask 077 && {
            echo "# app instance $n of the '$STACK' stack: generated from luffy-pay.env on every start (edit that one)"
            grep -Ev "^($keys)=|^#" "$ENV_FILE"
            echo "LUFFY_DB_NODES=$(node_list "$n")"
            # the single-node settings name the same first node, for a build without LUFFY_DB_NODES
            echo "LUFFY_DB_HOST=127.0.0.1"
            echo "LUFFY_DB_PORT=$(node_port "$n")"
            echo "LUFFY_DB_SOCKET=$(node_socket "$n")"
            echo "LUFFY_FCGI_SOCKET=$RUN_DIR/app$n.sock"
        } >"$STACK_DIR/app$n.env.new")
        mv "$STACK_DIR/app$n.env.new" "$STACK_DIR/app$n.env"
    done
}

instance_start() {
    local n=$1
    LUFFY_CONFIG=$STACK_DIR/app$n.env LUFFY_LOG_FILE=$LOG_DIR/app$n.log \
        fcgi_start "app$n" "luffy-pay serve (instance $n)" "$RUN_DIR/app$n.sock" 15 "$APP_BIN" serve
}

instance_stop() { svc_stop "app$1" TERM 15; }

instance_kill() {
    local n=$1 pid
    pid=$(svc_pid "app$n") || { say "app instance $n is not running"; return 0; }
    say "killing app instance $n (pid $pid, SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for "app instance $n to die" 10 eval "! pid_alive $pid" || die "app $n (pid $pid) survived SIGKILL"
    rm -f "$RUN_DIR/app$n.pid"
}

# ---- nginx: the server block three times (nginx/cluster.conf.in)
render_cluster_servers() {
    local text head server upstreams n port
    text=$(render_server_block)
    head=${text%%"upstream luffy_pay_app {"*}
    server=$(printf '%s\n' "$text" | sed -n '/^server {/,$p')
    upstreams=$(<"$ROOT/nginx/cluster.conf.in")
    upstreams=${upstreams//@APP1_SOCKET@/$APP1_SOCKET}
    upstreams=${upstreams//@APP2_SOCKET@/$APP2_SOCKET}
    printf '%s\n%s\n\n' "$head" "$upstreams"
    # balanced: a request nginx could not hand to one instance goes to the other (nginx/cluster.conf.in)
    printf '%s\n' "$server" | sed '0,/fastcgi_next_upstream   off;.*/s//fastcgi_next_upstream   error;   # the other instance when one is down: nginx\/cluster.conf.in/'
    for n in "${INSTANCES[@]}"; do
        port=APP${n}_PORT
        printf '\n# instance %s alone\n' "$n"
        printf '%s\n' "$server" | sed -e "s|listen 127.0.0.1:$NGINX_PORT;|listen 127.0.0.1:${!port};|" \
            -e "s|fastcgi_pass luffy_pay_app;|fastcgi_pass luffy_pay_app$n;|"
    done
}

# ---- actions of the cluster stacks
cluster_up() {
    local n port
    # nginx's ports first: the dev stack uses 8080 and 8090 too (one of the two runs at a time)
    if ! svc_pid nginx >/dev/null; then
        for port in "$NGINX_PORT" "$APP1_PORT" "$APP2_PORT" "$SANDBOX_PORT"; do
            port_open "$port" && die "port $port is taken by another process (the dev stack? make down): cannot start stack $STACK"
        done
    fi
    "$ROOT/scripts/deps.sh"
    app_build
    ensure_settings
    instance_settings
    nodes_up
    db_setup
    app_migrate
    if [ -x "$APP_BIN" ]; then db_load_dev_data; fi
    for n in "${INSTANCES[@]}"; do instance_start "$n"; done
    sandbox_start
    nginx_start
    step "stack $STACK is up: $BASE_URL/ (instances alone: $URL1/ and $URL2/)"
}

cluster_down() {
    local n pid
    nginx_stop
    sandbox_stop
    for n in "${INSTANCES[@]}"; do instance_stop "$n"; done
    nodes_down
    for pid in $(stray_pids); do
        warn "stopping stray process $pid of stack $STACK: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
        kill -TERM "$pid" 2>/dev/null || true
        wait_for "pid $pid" 10 eval "! pid_alive $pid" || kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$APP1_SOCKET" "$APP2_SOCKET"
    say "stack $STACK is down (data stays in ${STACK_DIR#"$ROOT"/}/node{1,2,3})"
}

cluster_status() {
    local n pid rc=0 name
    for n in "${NODES[@]}"; do
        if pid=$(svc_pid "node$n"); then
            printf '%-8s running  pid %s  %s, %s, cluster size %s\n' "node$n" "$pid" \
                "$(node_state "$n")" "$(node_status_value "$n" wsrep_cluster_status)" \
                "$(node_status_value "$n" wsrep_cluster_size)"
        else
            printf '%-8s stopped\n' "node$n"
            rc=1
        fi
    done
    for name in app1 app2 sandbox nginx; do
        if pid=$(svc_pid "$name"); then
            printf '%-8s running  pid %s\n' "$name" "$pid"
        else
            printf '%-8s stopped\n' "$name"
            rc=1
        fi
    done
    return $rc
}

cluster_info() {
    local k
    stack_info
    for k in URL1 URL2 APP1_PORT APP2_PORT APP1_ENV APP2_ENV APP1_SOCKET APP2_SOCKET \
             NODE1_PORT NODE2_PORT NODE3_PORT NODE1_SOCKET NODE2_SOCKET NODE3_SOCKET \
             GALERA_BASE_PORT; do
        printf '%s=%q\n' "$k" "${!k}"
    done
    for k in "${NODES[@]}"; do printf 'NODE%s_LOG=%q\n' "$k" "$LOG_DIR/node$k.log"; done
}

cluster_summary() {
    local token="(no app binary yet)" rel=${STACK_DIR#"$ROOT"/} n
    if [ -x "$APP_BIN" ]; then
        token=$("$APP_BIN" token 1 2>/dev/null) || token="(luffy-pay token 1 failed: is user 1 in the data?)"
    fi
    cat <<EOF

luffy-pay '$STACK' stack: three Galera nodes, two app instances (deploy/CLUSTER.md)
  site         $BASE_URL/  (balanced over both instances)
  instance 1   $URL1/  (node 1 first: $rel/app1.env)
  instance 2   $URL2/  (node 2 first: $rel/app2.env)
  health       $BASE_URL/healthz, $URL1/healthz, $URL2/healthz
  API example  curl -H "Authorization: jwt \$(make -s token STACK=$STACK)" '$BASE_URL/user/order?page=1&size=5'
  sandbox      http://127.0.0.1:$SANDBOX_PORT/gateway.do  (local Alipay: docs/SANDBOX.md)
  demo token   user 1 (make token STACK=$STACK USER=<id> for others):
               $token
  settings     $rel/luffy-pay.env  (secrets; edit, then make cluster-down && make cluster-up)
EOF
    for n in "${NODES[@]}"; do
        printf '  node %s       MariaDB 127.0.0.1:%s, socket %s, Galera %s  %s\n' "$n" "$(node_port "$n")" \
            "$rel/run/node$n.sock" "$(galera_port "$n")" "$(node_state "$n")"
    done
    cat <<EOF
               shell: scripts/stack.sh $STACK sql N 'SELECT …'  or  mariadb --defaults-file=$rel/mariadb-client.cnf (node 1)
  faults       scripts/stack.sh $STACK node-kill|node-stop|node-start|node-status N, app-kill|app-stop|app-start N
  logs         $rel/log/  (app1.log, app2.log, node1.log … node3.log, nginx-error.log)
  stop         make cluster-down  (the data in $rel/node{1,2,3} stays)
EOF
}

cluster_sql() {   # sql N 'STATEMENT': as root on node N, in the shop's database, tab-separated
    local n=$1
    shift
    [ $# -ge 1 ] || die "usage: stack.sh $STACK sql N 'STATEMENT'"
    svc_pid "node$n" >/dev/null || die "node $n is not running"
    node_root "$n" -N -B "$(env_get LUFFY_DB_NAME)" -e "$*"
}

cluster_main() {
    local action=$1 n=${2:-}
    shift
    case "$action" in
        node-*|sql) check_node "$n" "$action"; shift ;;
        app-stop|app-kill|app-start|app-pid) check_instance "$n" "$action"; shift ;;
    esac
    case "$action" in
        up)            lock_stack; cluster_up ;;
        down)          lock_stack; cluster_down ;;
        status)        cluster_status ;;
        info)          cluster_info ;;
        summary)       cluster_summary ;;
        token)         stack_token "$@" ;;
        node-start)    lock_stack; ensure_settings; node_start "$n" ;;
        node-stop)     lock_stack; node_stop "$n" ;;
        node-kill)     node_kill "$n" ;;
        node-status)   node_state "$n" ;;
        app-start)     lock_stack; instance_start "$n" ;;
        app-stop)      lock_stack; instance_stop "$n" ;;
        app-kill)      instance_kill "$n" ;;
        app-pid)       svc_pid "app$n" ;;
        sandbox-stop)  lock_stack; sandbox_stop ;;
        sandbox-start) lock_stack; sandbox_start ;;
        sandbox-pid)   svc_pid sandbox ;;
        sql)           cluster_sql "$n" "$@" ;;
        *)             usage ;;
    esac
}

# ---------------------------------------------------------------- actions
stack_up() {
    "$ROOT/scripts/deps.sh"
    app_build
    ensure_settings
    db_start
    db_setup
    app_migrate
    if [ -x "$APP_BIN" ]; then db_load_dev_data; fi
    app_start
    sandbox_start
    nginx_start
    step "stack $STACK is up: $BASE_URL/"
}

stack_down() {
    local pid
    nginx_stop
    sandbox_stop
    app_stop
    db_stop
    for pid in $(stray_pids); do
        warn "stopping stray process $pid of stack $STACK: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
        kill -TERM "$pid" 2>/dev/null || true
        wait_for "pid $pid" 10 eval "! pid_alive $pid" || kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$APP_SOCKET"
    say "stack $STACK is down (data stays in ${DATA_DIR#"$ROOT"/})"
}

stack_status() {
    local name pid rc=0
    for name in mariadb app sandbox nginx; do
        if pid=$(svc_pid "$name"); then
            printf '%-8s running  pid %s\n' "$name" "$pid"
        else
            printf '%-8s stopped\n' "$name"
            case "$name" in
                sandbox) [ -x "$SANDBOX_BIN" ] && rc=1 ;;
                app) [ -x "$APP_BIN" ] && rc=1 ;;
                *) rc=1 ;;
            esac
        fi
    done
    return $rc
}

stack_info() {   # shell-quoted facts about the stack, for other scripts (eval)
    local k
    for k in STACK STACK_DIR ENV_FILE CLIENT_CNF BASE_URL NGINX_PORT DB_PORT DB_SOCKET FRONT_ORIGIN \
             SANDBOX_PORT APP_SOCKET APP_BIN SANDBOX_BIN SANDBOX_SOCKET KEYS_DIR LOG_DIR; do
        printf '%s=%q\n' "$k" "${!k}"
    done
}

# What `make up` prints: where things are and how to use them.
stack_summary() {
    local token="(no app binary yet)" rel=${STACK_DIR#"$ROOT"/} cors=""
    [ -f "$ENV_FILE" ] && cors=$(env_get LUFFY_CORS_ORIGINS)
    if [ -x "$APP_BIN" ]; then
        token=$("$APP_BIN" token 1 2>/dev/null) || token="(luffy-pay token 1 failed: is user 1 in the data?)"
    fi
    cat <<EOF

luffy-pay '$STACK' stack
  site         $BASE_URL/
  health       $BASE_URL/healthz
  API example  curl -H "Authorization: jwt \$(make -s token)" '$BASE_URL/user/order?page=1&size=5'
EOF
    [ -x "$SANDBOX_BIN" ] && cat <<EOF
  sandbox      http://127.0.0.1:$SANDBOX_PORT/gateway.do  (local Alipay: docs/SANDBOX.md; log/sandbox.log)
  keys         ${KEYS_DIR#"$ROOT"/}/  (dev keys of the app and of the sandbox: keys/README.md)
EOF
    cat <<EOF
  demo token   user 1 (make token USER=<id> for others):
               $token
  shop pages   $BASE_URL/shop/  (stand-ins for the shop's front end: README, "The return page")
               my orders of user 1: $BASE_URL/shop/orders#token=<the demo token>
  CORS         origins of browser front ends: ${cors:-none} (LUFFY_CORS_ORIGINS)
  settings     $rel/luffy-pay.env  (secrets; edit, then make down && make up)
  database     MariaDB 127.0.0.1:$DB_PORT, socket $rel/run/mysqld.sock, database luffycity
               shell: mariadb --defaults-file=$rel/mariadb-client.cnf
  logs         $rel/log/  (app.log, mariadb.log, nginx-error.log, nginx-access.log)
  stop         make down  (the data in $rel/mysql stays)
EOF
}

# A stack that is down is said in one line (README, "Two commands"): the token needs its MariaDB.
stack_token() {
    local user=${1:-} start="make up"
    [ "$STACK" = dev ] || start="scripts/stack.sh $STACK up"
    [ "$STACK" = cluster ] && start="make cluster-up"
    [[ "$user" =~ ^[0-9]+$ ]] || die "usage: stack.sh $STACK token USER_ID (a number)"
    [ -f "$ENV_FILE" ] || die "the $STACK stack was never started: start it with $start"
    [ -x "$APP_BIN" ] || die "no ${APP_BIN#"$ROOT"/}: build it first ($start)"
    if [ "$CLUSTER" = 1 ]; then
        [ -n "$(running_nodes)" ] || die "the $STACK stack is down (no node is running): start it with $start"
    else
        svc_pid mariadb >/dev/null || die "the $STACK stack is down (its MariaDB is not running): start it with $start"
    fi
    "$APP_BIN" token "$user"
}

# Serialise actions on one stack (two shells running `make up` at once).
lock_stack() {
    mkdir -p "$STACK_DIR"
    exec 9>"$STACK_DIR/.lock"
    flock -w 300 9 || die "stack $STACK is busy (another stack.sh holds var/$STACK/.lock)"
}

main() {
    [ $# -ge 2 ] || usage
    select_stack "$1"
    isolate_environment
    local action=$2
    shift 2
    if [ "$CLUSTER" = 1 ]; then
        cluster_main "$action" "$@"
        return
    fi
    case "$action" in
        up)        lock_stack; stack_up ;;
        down)      lock_stack; stack_down ;;
        status)    stack_status ;;
        info)      stack_info ;;
        token)     stack_token "$@" ;;
        summary)   stack_summary ;;
        db-stop)   lock_stack; db_stop ;;
        db-start)  lock_stack; ensure_settings; db_start ;;
        app-stop)  lock_stack; app_stop ;;
        app-start) lock_stack; app_start ;;
        app-pid)   svc_pid app ;;
        sandbox-stop)  lock_stack; sandbox_stop ;;
        sandbox-start) lock_stack; sandbox_start ;;
        sandbox-pid)   svc_pid sandbox ;;
        *)         usage ;;
    esac
}

main "$@"
