-- wrk script: GET BENCH_GET_PATH as a pool of users, each request as the next user of the pool
-- (one JWT a line, scripts/bench/gen-tokens.py), sent as scripts/bench/pool.lua says: on a big
-- database every request reads another user's index pages, as real traffic does, instead of one
-- user's hot rows. Used by scripts/bench/scale.sh for the order list; every answer must be 200.
-- Env: BENCH_GET_TOKENS (the file), BENCH_GET_PATH (e.g. /user/order?page=1&size=5),
--      BENCH_LUA_THREADS (wrk -t).
local path = os.getenv("BENCH_GET_PATH")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "pool.lua").script {
    file_env = "BENCH_GET_TOKENS",
    format = function(token) return wrk.format("GET", path, { ["Authorization"] = "jwt " .. token }) end,
    good = function(status, body) return status == 200 end,
    names = { pool = "users", good = "ok", bad = "not_200", expected = "200" },
}
