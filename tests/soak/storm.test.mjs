// SPDX-License-Identifier: ISC
// test-timeout: 240
//
// docs/testing.md 4.4 item 2, "Repeat with 2,000 clients", part of `make soak`
// (about 100 s on a loaded 2-core machine): the reconnect storm
// of lib/storm.mjs with 2,000 stock socket.io-client sockets through
// nginx, half long-polling and half WebSocket, across a kill -9 of the
// push daemon. They all come back within seconds of each other: nginx
// answers 502 (as a JSON 503) until the new daemon listens, the clients
// retry, and the daemon's accept backlog and accept loop take the burst.
// Every acknowledged message must be in SQLite and every client must end
// with exactly the room's ids. The writers post more slowly than in
// fault-pushd (every 500 and 1000 ms), since each message costs the 1,000
// polling clients a long-poll round trip each.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integ/lib/stack.mjs';
import { raiseFileLimit, reconnectStorm } from '../integ/lib/storm.mjs';

const N = 2000;
let st;
before(async () => {
	// About two descriptors per client here, four in nginx, one or
	// two in the daemon.
	const lim = raiseFileLimit();
	assert.ok(Number(lim) >= 3 * N, `open files limit ${lim}`);
	st = await startStack();
});
after(async () => { await st?.stop(); });

test(`${N} clients (polling and WebSocket) across a kill -9 of the daemon`,
    async (t) => {
	const fig = await reconnectStorm(t, st, { n: N, restEvery: 500,
		sockEvery: 1000, connectMs: 60000, reconnectMs: 120000 });
	assert.equal(fig.clients, N + 1);
});
