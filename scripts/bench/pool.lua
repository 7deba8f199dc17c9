-- scripts/bench/pool.lua — what the wrk scripts that send each line of a file once share
-- (post-order.lua, notify.lua, refund-request.lua). Thread t of T takes lines t, t+T, t+2T, … of
-- the file, formats each as its request once (before wrk's clock starts) and sends them in
-- order; if they run out it starts over and counts the repeats. Each answer is good or bad by the
-- script's rule; done() prints one `bench-check:` line with the counts (scripts/bench.sh reads
-- them) and the first bad answer.
-- Used as: dofile(<this file>).script{ file_env = "…", format = function(line) … end,
--   good = function(status, body) … end, names = { pool = "users", good = "created",
--   bad = "not_201", expected = "201" } }
local pool = {}

function pool.script(spec)
    local threads = {}
    local counter = 0

    function setup(thread)
        thread:set("tid", counter)
        counter = counter + 1
        table.insert(threads, thread)
    end

    function init(args)
        local nthreads = tonumber(os.getenv("BENCH_LUA_THREADS")) or 1
        local path = os.getenv(spec.file_env)
        local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
        requests_ = {}
        local line_no = 0
        for line in file:lines() do
            if line_no % nthreads == tid and line ~= "" then
                requests_[#requests_ + 1] = spec.format(line)
            end
            line_no = line_no + 1
        end
        file:close()
        n = #requests_
        assert(n > 0, "no lines of " .. spec.file_env .. " for thread " .. tid)
        sent = 0
        repeats = 0
        good = 0
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
        if spec.good(status, body) then
            good = good + 1
        else
            bad = bad + 1
            if sample == "" then sample = status .. " " .. string.sub(body or "", 1, 200) end
        end
    end

    function done(summary, latency, requests)
        local total = { sent = 0, repeats = 0, good = 0, bad = 0, n = 0 }
        local first = ""
        for _, thread in ipairs(threads) do
            for key in pairs(total) do total[key] = total[key] + thread:get(key) end
            if first == "" then first = thread:get("sample") end
        end
        local names = spec.names
        print(string.format("bench-check: %s=%d sent=%d %s=%d %s=%d repeats=%d", names.pool, total.n, total.sent,
                            names.good, total.good, names.bad, total.bad, total.repeats))
        if first ~= "" then print("bench-check: first answer not " .. names.expected .. ": " .. first) end
    end
end

return pool
