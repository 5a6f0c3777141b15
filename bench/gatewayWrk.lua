-- wrk script for `npm run bench:gateway`: POSTs BENCH_BODY as JSON and prints one JSON line with
-- the counts and latency percentiles (microseconds) when the run is done.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end

-- BENCH_DEBUG=1: the first non-2xx answer's status and body on stderr (the bench prints it).
if os.getenv("BENCH_DEBUG") then
  local shown = false
  response = function(status, headers, body)
    if status > 299 and not shown then
      io.stderr:write("first non-2xx answer: " .. status .. " " .. string.sub(body or "", 1, 300) .. "\n")
      shown = true
    end
  end
end
