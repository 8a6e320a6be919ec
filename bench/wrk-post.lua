-- SPDX-License-Identifier: ISC
--
-- bench/wrk-post.lua: wrk posts a chat message to the URL's room with the
-- bearer token of BENCH_TOKEN, a new content each time and no client_id
-- (every request stores a new message).

local token = os.getenv("BENCH_TOKEN")
local n = 0

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"

-- One request: the next content of this thread.
request = function()
	n = n + 1
	return wrk.format(nil, nil, nil,
	    '{"content":"wrk message ' .. n .. ' aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}')
end
