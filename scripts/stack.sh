#!/usr/bin/env bash
# scripts/stack.sh NAME ACTION — a local luffy-pay stack: MariaDB + app + sandbox + nginx.
#
#   NAME    dev (make up/down) | test (make test)
#   ACTION  up | down | status | info | summary | token USER_ID
#           db-stop | db-start | app-stop | app-start | app-pid
#           sandbox-stop | sandbox-start | sandbox-pid
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
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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
        *)    die "unknown stack '$STACK' (dev or test)" ;;
    esac
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
        dev) KEYS_DIR=$ROOT/keys/dev ;;
        *)   KEYS_DIR=$STACK_DIR/keys ;;
    esac
    APP_BIN=$ROOT/.build/release/luffy-pay
    SANDBOX_BIN=$ROOT/.build/release/alipay-sandbox
    BASE_URL=http://127.0.0.1:$NGINX_PORT
    # A front end on another origin that may call the API (LUFFY_CORS_ORIGINS, README "CORS"):
    # nothing of the stack listens there; a Vue dev server may (dev), the CORS test does (test).
    FRONT_ORIGIN=http://127.0.0.1:$FRONT_PORT
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
        mariadbd|nginx|luffy-pay|alipay-sandbox) ;;
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
    for sock in "$DB_SOCKET" "$APP_SOCKET" "$SANDBOX_SOCKET"; do   # sun_path holds 107 bytes
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
    # The tests run the refund worker themselves (`luffy-pay refunds run`), so that a refund stays
    # where a test left it; the dev stack's `serve` runs it (README, "Refund worker").
    if [ "$STACK" = test ]; then env_default LUFFY_REFUND_INTERVAL 0; fi
    # The reconciliation service (docs/RECONCILIATION.md): the test stack's is due all day and asks
    # again every second, so that its test sees it retry and complete within seconds.
    if [ "$STACK" = test ]; then
        env_default LUFFY_RECONCILE_AT 00:00
        env_default LUFFY_RECONCILE_RETRY 1
    fi

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
    local text
    text=$(sed -e '/^[[:space:]]*listen[[:space:]]*\[::\]/d' \
               -e "s|^\([[:space:]]*\)listen[[:space:]].*|\1listen 127.0.0.1:$NGINX_PORT;|" \
               "$ROOT/nginx/luffy-pay.conf")
    # shellcheck disable=SC2016  # nginx's variables, literally
    text=${text//'set $luffy_shop_orders_url "/shop/orders";'/"set \$luffy_shop_orders_url \"$(env_get LUFFY_SHOP_ORDERS_URL)\";"}
    # shellcheck disable=SC2016
    text=${text//'set $luffy_shop_home_url   "/shop/";'/"set \$luffy_shop_home_url \"$(env_get LUFFY_SHOP_HOME_URL)\";"}
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
    render_server_block >"$new/luffy-pay.conf"
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
    port_open "$SANDBOX_PORT" && die "port $SANDBOX_PORT (sandbox) is taken by another process: cannot start nginx of stack $STACK"
    step "starting nginx on 127.0.0.1:$NGINX_PORT"
    svc_launch nginx nginx -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" \
        -e "$LOG_DIR/nginx-error.log" -g 'daemon off;'
    if ! wait_for "nginx" 20 port_open "$NGINX_PORT" || ! svc_pid nginx >/dev/null; then
        show_log "$LOG_DIR/nginx-error.log"; die "nginx did not start"
    fi
}

nginx_stop() { svc_stop nginx QUIT 10; }

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
    [[ "$user" =~ ^[0-9]+$ ]] || die "usage: stack.sh $STACK token USER_ID (a number)"
    [ -f "$ENV_FILE" ] || die "the $STACK stack was never started: start it with $start"
    [ -x "$APP_BIN" ] || die "no ${APP_BIN#"$ROOT"/}: build it first ($start)"
    svc_pid mariadb >/dev/null || die "the $STACK stack is down (its MariaDB is not running): start it with $start"
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
