-- SPDX-License-Identifier: ISC
--
-- bench/wrk-login.lua: wrk logs in as the bench users bench0..bench99 in
-- turn (OAuth2 password form), each request one Argon2id verification.

local n = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

-- One request: the next user of this thread.
request = function()
	local i = n % 100
	n = n + 1
	return wrk.format(nil, nil, nil,
	    "username=bench" .. i .. "&password=bench-pass-" .. i)
end
