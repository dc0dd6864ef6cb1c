-- wrk script for benchmarks/bench_faculty.py: as wrk_forms.lua, but every course's /idl
-- has a token of its own, so each line is "<token>\t<url-encoded form>" and the request
-- carries that token in its Authorization header as well as in the form, exactly as
-- Mattermost sends it for that team. Requests are pre-formatted in init() (cheap wrk).

local requests_ = {}
local index = 0

init = function(args)
  for line in io.lines(args[1]) do
    local token, body = line:match("^([^\t]+)\t(.+)$")
    if token then
      local headers = {
        ["Accept"] = "application/json",
        ["User-Agent"] = "Mattermost-Bot/1.1",
        ["Accept-Encoding"] = "gzip",
        ["Authorization"] = "Token " .. token,
        ["Content-Type"] = "application/x-www-form-urlencoded",
      }
      requests_[#requests_ + 1] = wrk.format("POST", wrk.path, headers, body)
    end
  end
  index = math.random(#requests_) - 1
end

request = function()
  index = index % #requests_ + 1
  return requests_[index]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"wrk": 1, "requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"p999_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
