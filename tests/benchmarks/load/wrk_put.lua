-- wrk script for the direct REST PUT to nginx: the same request the gateway
-- sends upstream (method, JSON body, headers), so that "direct" is the
-- upstream's share of a gateway call.
--
-- Usage: WRK_RESULT=out.json wrk -t1 -c1 -d5s -s wrk_put.lua URL
-- Writes one JSON object to $WRK_RESULT when the run is done: request and
-- error counts, latency percentiles and the latency histogram, in
-- microseconds (wrk's resolution).

wrk.method = "PUT"
wrk.body = os.getenv("WRK_BODY") or '{"first_name":"Ada"}'
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WRK_API_KEY") or "benchmark-key")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["User-Agent"] = "usergateway/0.1.0"
wrk.headers["X-Request-Id"] = "2f6a1c3e-4b5d-4e7f-8a9b-0c1d2e3f4a5b"

function done(summary, latency, requests)
  local path = os.getenv("WRK_RESULT")
  if path == nil then return end
  local out = assert(io.open(path, "w"))
  local e = summary.errors
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
  -- The whole histogram, [microseconds, count] per non-empty bucket, so
  -- that several runs can be pooled into exact percentiles.
  out:write('"histogram_us":[')
  for i = 1, #latency do
    local value, count = latency(i)
    out:write(string.format('%s[%d,%d]', i > 1 and ',' or '', value, count))
  end
  out:write(']}\n')
  out:close()
end
