-- wrk script: POST /admin/reconciliation/items/<id>/resolve {"note":"bench"} as the staff bench
-- user, each request for another open item of the bench day (a second resolve of an item would be
-- 409 item_not_open), so every request resolves one (200). Pool: one "item_id token" line per
-- item, sent as scripts/bench/pool.lua says. Every answer must be 200: others are counted and the
-- first one is printed (after the pool is used up, repeats answer 409 and are counted as bad).
-- Env: BENCH_ITEMS_POOL (the file), BENCH_LUA_THREADS (wrk -t).
local body = '{"note":"bench"}'
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "pool.lua").script {
    file_env = "BENCH_ITEMS_POOL",
    format = function(line)
        local id, token = assert(string.match(line, "^(%d+) (%S+)$"))
        return wrk.format("POST", "/admin/reconciliation/items/" .. id .. "/resolve",
            { ["Content-Type"] = "application/json", ["Authorization"] = "jwt " .. token }, body)
    end,
    good = function(status, body) return status == 200 end,
    names = { pool = "items", good = "resolved", bad = "not_200", expected = "200" },
}
