-- wrk script: GET /payments/alipay/<order_number> as the bench user, cycling through a pool of
-- its unpaid orders (scripts/bench.sh creates them). Request k of thread t (of T) asks for order
-- (t + k·T) mod POOL: every order in turn, a different row each request, no two threads in step.
-- Env: BENCH_TOKEN (the bench user's JWT), BENCH_PAYLINK_PREFIX (order number without its last
-- 8 digits), BENCH_PAYLINK_BASE (first sequence number), BENCH_PAYLINK_COUNT (pool size),
-- BENCH_LUA_THREADS (wrk -t).
local threads = {}
local counter = 0

function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    prefix = os.getenv("BENCH_PAYLINK_PREFIX")
    base = tonumber(os.getenv("BENCH_PAYLINK_BASE"))
    count = tonumber(os.getenv("BENCH_PAYLINK_COUNT"))
    nthreads = tonumber(os.getenv("BENCH_LUA_THREADS")) or 1
    headers = { ["Authorization"] = "jwt " .. os.getenv("BENCH_TOKEN") }
    k = 0
    bad = 0
    sample = ""
end

function request()
    local i = (tid + k * nthreads) % count
    k = k + 1
    return wrk.format("GET", "/payments/alipay/" .. prefix .. string.format("%08d", base + i), headers)
end

function response(status, headers, body)
    if status ~= 200 then
        bad = bad + 1
        if sample == "" then sample = status .. " " .. string.sub(body or "", 1, 200) end
    end
end

function done(summary, latency, requests)
    local bad, sample = 0, ""
    for _, thread in ipairs(threads) do
        bad = bad + thread:get("bad")
        if sample == "" then sample = thread:get("sample") end
    end
    print(string.format("bench-check: answers_not_200=%d", bad))
    if sample ~= "" then print("bench-check: first such answer: " .. sample) end
end
