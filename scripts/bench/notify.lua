-- wrk script: POST /payments/alipay/notify, one distinct signed notification per request
-- (scripts/bench/gen-notify.py wrote them, one URL-encoded form body per line, one per order).
-- Thread t of T sends lines t, t+T, t+2T, … in order, so no body is sent twice while bodies
-- last; if they run out a thread starts over and counts the repeats (an "already paid" fast
-- path, not a settlement: the run then needs more bodies, BENCH_NOTIFY_ORDERS).
-- Every answer must be exactly `success`: others are counted and the first one is printed.
-- Env: BENCH_NOTIFY_BODIES (the file), BENCH_LUA_THREADS (wrk -t).
local threads = {}
local counter = 0

function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    local nthreads = tonumber(os.getenv("BENCH_LUA_THREADS")) or 1
    local path = os.getenv("BENCH_NOTIFY_BODIES")
    local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
    local headers = { ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8" }
    requests_ = {}
    local line_no = 0
    for line in file:lines() do
        if line_no % nthreads == tid and line ~= "" then
            -- formatted once here (before wrk's clock starts), sent as is later
            requests_[#requests_ + 1] = wrk.format("POST", "/payments/alipay/notify", headers, line)
        end
        line_no = line_no + 1
    end
    file:close()
    n = #requests_
    assert(n > 0, "no notification bodies for thread " .. tid)
    sent = 0
    repeats = 0
    ok = 0
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
    if body == "success" then
        ok = ok + 1
    else
        bad = bad + 1
        if sample == "" then sample = status .. " " .. string.sub(body or "", 1, 200) end
    end
end

function done(summary, latency, requests)
    local sent, repeats, ok, bad, bodies, sample = 0, 0, 0, 0, 0, ""
    for _, thread in ipairs(threads) do
        sent = sent + thread:get("sent")
        repeats = repeats + thread:get("repeats")
        ok = ok + thread:get("ok")
        bad = bad + thread:get("bad")
        bodies = bodies + thread:get("n")
        if sample == "" then sample = thread:get("sample") end
    end
    print(string.format("bench-check: bodies=%d sent=%d success=%d not_success=%d repeats=%d",
                        bodies, sent, ok, bad, repeats))
    if sample ~= "" then print("bench-check: first answer not 'success': " .. sample) end
end
