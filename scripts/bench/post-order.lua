-- wrk script: POST /orders with two courses (1 and 3), no coupon, no credit, each request as
-- another bench user: a user with an unpaid order of a course may not order it again (400
-- course_in_unpaid_order), so every user of the pool orders once and every request is a real
-- order (201). Tokens: one per line (scripts/bench/gen-tokens.py), one user each, sent as
-- scripts/bench/pool.lua says (repeats: the run then needs more users, BENCH_ORDER_USERS).
-- Every answer must be 201: others are counted and the first one is printed.
-- Env: BENCH_ORDER_TOKENS (the file), BENCH_LUA_THREADS (wrk -t).
local body = '{"course_ids":[1,3],"pay_type":0,"user_coupon_id":-1,"credit":0}'
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "pool.lua").script {
    file_env = "BENCH_ORDER_TOKENS",
    format = function(token)
        return wrk.format("POST", "/orders",
            { ["Content-Type"] = "application/json", ["Authorization"] = "jwt " .. token }, body)
    end,
    good = function(status, body) return status == 201 end,
    names = { pool = "users", good = "created", bad = "not_201", expected = "201" },
}
