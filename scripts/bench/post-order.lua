-- wrk script: POST /orders with two courses (1 and 3), no coupon, no credit, each request as
-- another bench user: a user with an unpaid order of a course may not order it again (400
-- course_in_unpaid_order), so every user of the pool orders once and every request is a real
-- order (201). Tokens: one per line (scripts/bench/gen-tokens.py), one user each. Thread t of T
-- sends lines t, t+T, t+2T, … in order; if they run out a thread starts over and counts the
-- repeats (400s: the run then needs more users, BENCH_ORDER_USERS).
-- Every answer must be 201: others are counted and the first one is printed.
-- Env: BENCH_ORDER_TOKENS (the file), BENCH_LUA_THREADS (wrk -t).
local threads = {}
local counter = 0

function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    local nthreads = tonumber(os.getenv("BENCH_LUA_THREADS")) or 1
    local path = os.getenv("BENCH_ORDER_TOKENS")
    local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
    local body = '{"course_ids":[1,3],"pay_type":0,"user_coupon_id":-1,"credit":0}'
    requests_ = {}
    local line_no = 0
    for line in file:lines() do
        if line_no % nthreads == tid and line ~= "" then
            -- formatted once here (before wrk's clock starts), sent as is later
            requests_[#requests_ + 1] = wrk.format("POST", "/orders",
                { ["Content-Type"] = "application/json", ["Authorization"] = "jwt " .. line }, body)
        end
        line_no = line_no + 1
    end
    file:close()
    n = #requests_
    assert(n > 0, "no tokens for thread " .. tid)
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
    local sent, repeats, created, bad, users, sample = 0, 0, 0, 0, 0, ""
    for _, thread in ipairs(threads) do
        sent = sent + thread:get("sent")
        repeats = repeats + thread:get("repeats")
        created = created + thread:get("created")
        bad = bad + thread:get("bad")
        users = users + thread:get("n")
        if sample == "" then sample = thread:get("sample") end
    end
    print(string.format("bench-check: users=%d sent=%d created=%d not_201=%d repeats=%d",
                        users, sent, created, bad, repeats))
    if sample ~= "" then print("bench-check: first answer not 201: " .. sample) end
end
