-- wrk script: closed-loop POSTs of one form (the day's free times page), with the session's cookie,
-- counting statuses; a 200 whose body lacks the marker (no list of free times) counts as "200-unmarked",
-- so an error page answered with 200 can never pass as speed.
--
-- wrk ... -s form.lua URL -- PATH BODY COOKIE MARKER [HX_TARGET]
-- Prints one line "BENCH_JSON {...}" like bench/lua/get.lua, so booking_bench.wrk.run_wrk reads it.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = args[3],
    ["Accept-Language"] = "en",
  }
  if args[5] ~= nil and args[5] ~= "" then
    headers["HX-Request"] = "true"
    headers["HX-Target"] = args[5]
  end
  marker = args[4]
  prepared = wrk.format("POST", args[1], headers, args[2])
  statuses = {}
end

function request()
  return prepared
end

function response(status, response_headers, response_body)
  local key = tostring(status)
  if status == 200 and not string.find(response_body, marker, 1, true) then
    key = "200-unmarked"
  end
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      totals[code] = (totals[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(totals) do
    table.insert(parts, string.format('"%s":%d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"statuses":{%s},"next_k":0,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","), latency:percentile(50), latency:percentile(99)))
end
