-- Copyright 2026 The ehttpd authors
-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- wrk script for bench/front.sh and bench/dp.sh: after the run, prints one line of
-- key=value pairs that the shell script reads back.

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    "wrk-result requests=%d seconds=%.3f rps=%.1f bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
