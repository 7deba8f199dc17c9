-- wrk script: POST /orders/<id>/refund {"reason":"bench"} as the buyer, each request for another
-- paid order of the notify run's pool (every course of the order, one refund each: a second
-- request for an order would be refused, refund_in_progress), so every request is a real refund
-- request (201). Pool: one "order_id token" line per order, sent as scripts/bench/pool.lua says
-- (repeats: the run then needs more orders, BENCH_NOTIFY_ORDERS). Every answer must be 201:
-- others are counted and the first one is printed.
-- Env: BENCH_REFUND_POOL (the file), BENCH_LUA_THREADS (wrk -t).
local body = '{"reason":"bench"}'
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "pool.lua").script {
    file_env = "BENCH_REFUND_POOL",
    format = function(line)
        local id, token = assert(string.match(line, "^(%d+) (%S+)$"))
        return wrk.format("POST", "/orders/" .. id .. "/refund",
            { ["Content-Type"] = "application/json", ["Authorization"] = "jwt " .. token }, body)
    end,
    good = function(status, body) return status == 201 end,
    names = { pool = "orders", good = "created", bad = "not_201", expected = "201" },
}
