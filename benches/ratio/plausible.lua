-- wrk script for benches/ratio/ingest_ratio.sh: Plausible-format pageviews to POST /api/event.
--
--   wrk -t1 -c32 -d10s --latency -s plausible.lua http://127.0.0.1:PORT -- OFFSET
--
-- Every request is a new client: X-Forwarded-For is built from a counter that starts at
-- OFFSET (give each run its own, so no address comes back in a later round). The address
-- is public (first octet from a list of allocated /8s, the other 24 bits the counter times
-- an odd constant mod 2^24, which never repeats for 2^24 requests), so the DB-IP lookup
-- does the work a real visitor costs, not the short walk of a private range.
-- Six paths (one a search URL) and five browser User-Agents rotate together (30 pairs);
-- the referrer is Google. The body is the tracker's, as text/plain.
--
-- done() prints one machine-readable line, counting answers by status, for the caller:
--   RATIO_RESULT requests=N sent=N status_202=N status_other=N errors=N duration_us=N p50_us=N p90_us=N p99_us=N max_us=N
-- `sent` counts requests written; when the duration ends wrk stops with up to one request
-- per connection unanswered, so the server may have accepted (sent - requests) more than
-- were acknowledged. It works for any -t: each thread's counts come back through thread:get().

local domain = "bench.gemeente.test"

local paths = {
    "/",
    "/afval",
    "/afval/afvalkalender",
    "/parkeren/vergunning-aanvragen",
    "/zoeken?q=afvalkalender",
    "/contact",
}

local agents = {
    -- Chrome 131 on Windows 10
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    -- Firefox 133 on Windows 10
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    -- Safari on iPhone, iOS 17.6
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    -- Edge 131 on Windows 10
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    -- Samsung Internet 26 on a Galaxy S24, Android 14
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
}

-- Allocated, routed /8s (RIPE, ARIN, APNIC, AFRINIC, SURFnet's 145): never 0, 10, 127 or multicast.
local first_octets = { 2, 5, 31, 37, 41, 45, 62, 77, 80, 81, 82, 84, 85, 86, 87, 89,
                       91, 94, 95, 145, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217 }

-- The bodies do not depend on the address: build them once.
local bodies = {}
for i, path in ipairs(paths) do
    bodies[i] = string.format(
        '{"n":"pageview","u":"https://%s%s","d":"%s","r":"https://www.google.com/"}',
        domain, path, domain)
end

-- Per thread (each wrk thread has its own Lua state).
local counter = 0
local limit = 16777216 -- 2^24 addresses before the low 24 bits would repeat
sent = 0
status_202 = 0
status_other = 0

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    local offset = tonumber(args[1] or "0") or 0
    counter = offset % limit
end

local function client_address(n)
    local low = (n * 2654435) % limit -- odd multiplier: a bijection on 24 bits
    local a = first_octets[(n % #first_octets) + 1]
    local b = math.floor(low / 65536)
    local c = math.floor(low / 256) % 256
    local d = low % 256
    return a .. "." .. b .. "." .. c .. "." .. d
end

function request()
    local n = counter
    counter = (counter + 1) % limit
    sent = sent + 1
    local i = (n % #paths) + 1
    return wrk.format("POST", "/api/event", {
        ["Content-Type"] = "text/plain",
        ["User-Agent"] = agents[(n % #agents) + 1],
        ["X-Forwarded-For"] = client_address(n),
    }, bodies[i])
end

function response(status, headers, body)
    if status == 202 then
        status_202 = status_202 + 1
    else
        status_other = status_other + 1
    end
end

function done(summary, latency, requests)
    local written, ok, other = 0, 0, 0
    for _, thread in ipairs(threads) do
        written = written + (thread:get("sent") or 0)
        ok = ok + (thread:get("status_202") or 0)
        other = other + (thread:get("status_other") or 0)
    end
    local e = summary.errors
    io.write(string.format(
        "RATIO_RESULT requests=%d sent=%d status_202=%d status_other=%d errors=%d duration_us=%d "
            .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
        summary.requests, written, ok, other, e.connect + e.read + e.write + e.timeout,
        summary.duration, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max))
end
