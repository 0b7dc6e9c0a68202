-- wrk script: sends <depth> requests (default 16) in one write; wrk counts each response.
-- Latency percentiles are meaningless with pipelining (wrk times the batch), so run.sh ignores them here.
init = function(args)
  local depth = tonumber(args[1]) or 16
  local batch = {}
  for i = 1, depth do
    batch[i] = wrk.format()
  end
  request_batch = table.concat(batch)
end

request = function()
  return request_batch
end
