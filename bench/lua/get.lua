-- wrk script: closed-loop GETs of one path, counting statuses (a 429 or 500 must not pass as speed).
--
-- wrk ... -s get.lua URL -- PATH
-- Prints one line "BENCH_JSON {...}" like booking.lua.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  statuses = {}
end

function request()
  return wrk.format("GET", path)
end

function response(status, response_headers, response_body)
  local key = tostring(status)
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
