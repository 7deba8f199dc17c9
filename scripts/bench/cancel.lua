-- wrk script: PUT /orders/<id> (cancel) as the buyer, each request for another unpaid order of the
-- pool (no pay link issued, so no gateway step: the cancel's database work), so every request is
-- a real cancel (200). Pool: one "order_id token" line per order, sent as scripts/bench/pool.lua
-- says (repeats: the run then needs more orders, BENCH_CANCEL_ORDERS). Every answer must be 200:
-- others are counted and the first one is printed.
-- Env: BENCH_CANCEL_POOL (the file), BENCH_LUA_THREADS (wrk -t).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "pool.lua").script {
    file_env = "BENCH_CANCEL_POOL",
    format = function(line)
        local id, token = assert(string.match(line, "^(%d+) (%S+)$"))
        return wrk.format("PUT", "/orders/" .. id, { ["Authorization"] = "jwt " .. token })
    end,
    good = function(status, body) return status == 200 end,
    names = { pool = "orders", good = "cancelled", bad = "not_200", expected = "200" },
}
