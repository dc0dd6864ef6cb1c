-- wrk script for benchmarks/bench_wrk.py and bench_faculty.py: POST the exact slash-command
-- request Mattermost sends, rotating over one form per student (a file with one url-encoded
-- body per line, given after `--`), and print the result as one JSON line for the benchmark
-- to parse. The token (in the Authorization header as in the form) is the second argument,
-- or, for a deployment of several courses, each line's own: "<token>\t<form>".
--
-- Why pre-format: wrk.format() in request() would cost the generator CPU per request;
-- building every request once in init() keeps wrk far below a core.

local requests_ = {}
local index = 0

init = function(args)
  local function format(token, body)
    local headers = {
      ["Accept"] = "application/json",
      ["User-Agent"] = "Mattermost-Bot/1.1",
      ["Accept-Encoding"] = "gzip",
      ["Authorization"] = "Token " .. token,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }
    return wrk.format("POST", wrk.path, headers, body)
  end
  for line in io.lines(args[1]) do
    local token, body = line:match("^([^\t]+)\t(.+)$")
    if token then
      requests_[#requests_ + 1] = format(token, body)
    elseif #line > 0 then
      requests_[#requests_ + 1] = format(args[2], line)
    end
  end
  -- each thread starts at its own place, so threads do not walk in step
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
