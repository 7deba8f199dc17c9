-- wrk script: POST /orders with two courses (1 and 3), each request as another bench user: a user
-- with an unpaid order of a course may not order it again (400 course_in_unpaid_order), so every
-- user of the pool orders once and every request is a real order (201). Lines: "token" (no
-- coupon) or "token coupon_log_id" (that coupon of the user's); BENCH_ORDER_CREDIT credits spent
-- (default 0). Tokens: scripts/bench/gen-tokens.py, one user each, sent as scripts/bench/pool.lua
-- says (repeats: the run then needs more users, BENCH_ORDER_USERS).
-- Every answer must be 201: others are counted and the first one is printed.
-- Env: BENCH_ORDER_TOKENS (the file), BENCH_ORDER_CREDIT, BENCH_LUA_THREADS (wrk -t).
local credit = tonumber(os.getenv("BENCH_ORDER_CREDIT")) or 0
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "pool.lua").script {
    file_env = "BENCH_ORDER_TOKENS",
    format = function(line)
        local token, coupon = assert(string.match(line, "^(%S+)%s*(%d*)$"))
        local body = string.format('{"course_ids":[1,3],"pay_type":0,"user_coupon_id":%s,"credit":%d}',
                                   coupon ~= "" and coupon or "-1", credit)
        return wrk.format("POST", "/orders",
            { ["Content-Type"] = "application/json", ["Authorization"] = "jwt " .. token }, body)
    end,
    good = function(status, body) return status == 201 end,
    names = { pool = "users", good = "created", bad = "not_201", expected = "201" },
}
