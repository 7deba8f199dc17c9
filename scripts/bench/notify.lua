-- wrk script: POST /payments/alipay/notify, one distinct signed notification per request
-- (scripts/bench/gen-notify.py wrote them, one URL-encoded form body per line, one per order),
-- sent as scripts/bench/pool.lua says, so no body is sent twice while bodies last (a repeat is an
-- "already paid" fast path, not a settlement: the run then needs more bodies, BENCH_NOTIFY_ORDERS).
-- Every answer must be exactly `success`: others are counted and the first one is printed.
-- Env: BENCH_NOTIFY_BODIES (the file), BENCH_LUA_THREADS (wrk -t).
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8" }
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "pool.lua").script {
    file_env = "BENCH_NOTIFY_BODIES",
    format = function(form) return wrk.format("POST", "/payments/alipay/notify", headers, form) end,
    good = function(status, body) return body == "success" end,
    names = { pool = "bodies", good = "success", bad = "not_success", expected = "'success'" },
}
