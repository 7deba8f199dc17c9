-- wrk script: GET /payments/alipay/query/<order_number> during a gateway brownout
-- (scripts/bench/brownout.sh). A connection whose last answer was 503 gateway_busy waits
-- BENCH_RETRY_MS before its next query, as a client does that retries, rather than flooding the
-- app with queries it has just been told to hold back. Counts the answers by status and the 503s
-- without a Retry-After header.
-- Env: BENCH_TOKEN (the owner's JWT), BENCH_QUERY_ORDER (order number), BENCH_RETRY_MS (200).
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    local path = "/payments/alipay/query/" .. os.getenv("BENCH_QUERY_ORDER")
    req = wrk.format("GET", path, { ["Authorization"] = "jwt " .. os.getenv("BENCH_TOKEN") })
    retry_ms = tonumber(os.getenv("BENCH_RETRY_MS")) or 200
    last = 0
    s200, s400, s502, s503, other, no_retry_after = 0, 0, 0, 0, 0, 0
end

function request()
    return req
end

function delay()
    if last == 503 then return retry_ms end
    return 0
end

function response(status, headers, body)
    last = status
    if status == 200 then s200 = s200 + 1
    elseif status == 400 then s400 = s400 + 1
    elseif status == 502 then s502 = s502 + 1
    elseif status == 503 then
        s503 = s503 + 1
        if headers["Retry-After"] == nil then no_retry_after = no_retry_after + 1 end
    else other = other + 1 end
end

function done(summary, latency, requests)
    local t = { s200 = 0, s400 = 0, s502 = 0, s503 = 0, other = 0, no_retry_after = 0 }
    for _, thread in ipairs(threads) do
        for key, _ in pairs(t) do t[key] = t[key] + thread:get(key) end
    end
    print(string.format("bench-check: answers_200=%d answers_400=%d answers_502=%d answers_503=%d answers_other=%d busy_without_retry_after=%d",
                        t.s200, t.s400, t.s502, t.s503, t.other, t.no_retry_after))
end
