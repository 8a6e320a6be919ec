// SPDX-License-Identifier: ISC
// test-timeout: 150
//
// docs/testing.md 4.4 item 2 at a larger scale than socketio-restart: 200 stock
// socket.io-client sockets through nginx, half long-polling and half
// WebSocket, while one member posts over REST every 100 ms and another
// sends chat_message over its own socket every 200 ms, across a kill -9 of
// the push daemon (lib/storm.mjs says what is checked). The 2,000-client
// run is tests/soak/storm.test.mjs (make soak).

import { after, before, test } from 'node:test';
import { startStack } from './lib/stack.mjs';
import { reconnectStorm } from './lib/storm.mjs';

let st;
before(async () => { st = await startStack(); });
after(async () => { await st?.stop(); });

test('200 clients (polling and WebSocket) across a kill -9 of the daemon',
    async (t) => {
	await reconnectStorm(t, st, { n: 200, restEvery: 100,
		sockEvery: 200 });
});
