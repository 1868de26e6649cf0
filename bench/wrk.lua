-- One request shape for wrk, read from the environment the harness sets:
--   BENCH_METHOD, BENCH_BODY_FILE (optional), BENCH_HEADERS_FILE (one "Name: value" a line),
--   BENCH_UNIQUE ("1": replace @@N@@ in the body by a value unique to each request),
--   BENCH_OUT (where done() writes the summary as JSON).
local function slurp(path)
  if path == nil or path == "" then return nil end
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  return data
end

local threads = {}
local counter = 0
local template = nil

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = os.getenv("BENCH_METHOD") or "GET"
  local headers = slurp(os.getenv("BENCH_HEADERS_FILE"))
  if headers then
    for name, value in headers:gmatch("([^:\n]+):%s*([^\n]*)\n") do
      wrk.headers[name] = value
    end
  end
  local body = slurp(os.getenv("BENCH_BODY_FILE"))
  if os.getenv("BENCH_UNIQUE") == "1" then
    template = body
  else
    wrk.body = body
  end
end

if os.getenv("BENCH_UNIQUE") == "1" then
  function request()
    counter = counter + 1
    local body = template:gsub("@@N@@", "t" .. thread_id .. "n" .. counter)
    return wrk.format(nil, nil, nil, body)
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  out:close()
end
