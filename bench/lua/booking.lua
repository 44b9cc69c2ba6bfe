-- wrk script: closed-loop POSTs where request k books cell k of the grid (booking_bench/slots.py),
-- so concurrent requests never want the same practitioner, room or device at the same time.
--
-- wrk ... -s booking.lua URL -- DATA_FILE MODE FIRST_K PATH THREADS
--   MODE: app (POST /appointments), raw (baseline; names the resources), refused (fully booked starts)
--   FIRST_K: where the sequence starts (the warm-up's next_k, so a measurement books fresh cells)
-- Prints one line "BENCH_JSON {...}" with the status counts and the next free k.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  data = dofile(args[1])
  mode = args[2]
  k = tonumber(args[3]) + thread_index
  path = args[4]
  -- Thread i takes k = FIRST_K + i, + THREADS, ...: threads never share a cell.
  step = tonumber(args[5])
  last_k = -1
  statuses = {}
  headers = { ["Content-Type"] = "application/json" }
end

local function cell(n)
  local clinics, days = #data.clinics, #data.days
  local c = n % clinics
  local rest = math.floor(n / clinics)
  local d = rest % days
  rest = math.floor(rest / days)
  local t = rest % data.n_triples
  local s = math.floor(rest / data.n_triples)
  if s >= #data.starts then
    error("booking " .. n .. " is past the grid's capacity")
  end
  return c + 1, d + 1, t + 1, s + 1
end

local function body(n)
  if mode == "refused" then
    local starts_at = data.refused_starts[(n % #data.refused_starts) + 1]
    return string.format(
      '{"clinic_id":"%s","treatment_id":"%s","areas":["face"],"starts_at":"%s","patient":%s,"consent":%s}',
      data.refused_clinic, data.refused_treatment, starts_at, data.patient, data.consent)
  end
  local c, d, t, s = cell(n)
  local starts_at = data.days[d] .. "T" .. data.starts[s] .. ":00" .. data.offsets[d]
  local resources = ""
  if mode == "raw" then
    local triple = data.triples[c][t]
    resources = string.format(',"practitioner_id":"%s","room_id":"%s","device_id":"%s"',
      triple[1], triple[2], triple[3])
  end
  return string.format(
    '{"clinic_id":"%s","treatment_id":"%s","areas":["face"],"starts_at":"%s"%s,"patient":%s,"consent":%s}',
    data.clinics[c], data.treatments[c], starts_at, resources, data.patient, data.consent)
end

function request()
  local payload = body(k)
  last_k = k
  k = k + step
  return wrk.format("POST", path, headers, payload)
end

function response(status, response_headers, response_body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local totals, next_k = {}, 0
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      totals[code] = (totals[code] or 0) + count
    end
    next_k = math.max(next_k, thread:get("last_k") + 1)
  end
  local parts = {}
  for code, count in pairs(totals) do
    table.insert(parts, string.format('"%s":%d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"statuses":{%s},"next_k":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","), next_k, latency:percentile(50), latency:percentile(99)))
end
