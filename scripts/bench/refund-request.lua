-- wrk script: POST /orders/<id>/refund {"reason":"bench"} as the buyer, each request for another
-- paid order of the notify run's pool (every course of the order, one refund each: a second
-- request for an order would be refused, refund_in_progress), so every request is a real refund
-- request (201). Pool: one "order_id token" line per order. Thread t of T sends lines t, t+T, …
-- in order; if they run out a thread starts over and counts the repeats (400s: the run then needs
-- more orders, BENCH_NOTIFY_ORDERS). Every answer must be 201: others are counted and the first
-- one is printed.
-- Env: BENCH_REFUND_POOL (the file), BENCH_LUA_THREADS (wrk -t).
local threads = {}
local counter = 0

function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    local nthreads = tonumber(os.getenv("BENCH_LUA_THREADS")) or 1
    local path = os.getenv("BENCH_REFUND_POOL")
    local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
    local body = '{"reason":"bench"}'
    requests_ = {}
    local line_no = 0
    for line in file:lines() do
        local id, token = string.match(line, "^(%d+) (%S+)$")
        if id and line_no % nthreads == tid then
            requests_[#requests_ + 1] = wrk.format("POST", "/orders/" .. id .. "/refund",
                { ["Content-Type"] = "application/json", ["Authorization"] = "jwt " .. token }, body)
        end
        line_no = line_no + 1
    end
    file:close()
    n = #requests_
    assert(n > 0, "no orders for thread " .. tid)
    sent = 0
    repeats = 0
    created = 0
    bad = 0
    sample = ""
end

function request()
    local i = sent % n + 1
    if sent >= n then repeats = repeats + 1 end
    sent = sent + 1
    return requests_[i]
end

function response(status, headers, body)
    if status == 201 then
        created = created + 1
    else
        bad = bad + 1
        if sample == "" then sample = status .. " " .. string.sub(body or "", 1, 200) end
    end
end

function done(summary, latency, requests)
    local sent, repeats, created, bad, orders, sample = 0, 0, 0, 0, 0, ""
    for _, thread in ipairs(threads) do
        sent = sent + thread:get("sent")
        repeats = repeats + thread:get("repeats")
        created = created + thread:get("created")
        bad = bad + thread:get("bad")
        orders = orders + thread:get("n")
        if sample == "" then sample = thread:get("sample") end
    end
    print(string.format("bench-check: orders=%d sent=%d created=%d not_201=%d repeats=%d",
                        orders, sent, created, bad, repeats))
    if sample ~= "" then print("bench-check: first answer not 201: " .. sample) end
end
