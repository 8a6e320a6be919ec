// SPDX-License-Identifier: ISC
//
// One client process of the soak (tests/soak/soak.mjs forks several): it
// opens its share of raw Engine.IO WebSocket connections to the daemon's
// Unix socket, each a Socket.IO client of one of the given users (CONNECT
// with a real token), answers every ping, and reports to the parent over
// the IPC channel: when all are up, how many are still open, and how many
// received a given message id and when the last of them did. It keeps as
// little per connection as it can: the socket, the newest chat_response id
// and its arrival time.

import WebSocket from 'ws';

const [sock, countArg, tokensArg] = process.argv.slice(2);
const count = Number(countArg);
const tokens = JSON.parse(tokensArg);
const BATCH = 200;
const conns = [];

// Open connection "i"; resolves to true once Socket.IO accepted it.
function open(i) {
	return new Promise((res) => {
		const c = { ws: null, up: false, closed: false, lastId: 0n,
			lastAt: 0 };
		conns.push(c);
		const ws = new WebSocket(`ws+unix://${sock}:/socket.io/?EIO=4` +
		    '&transport=websocket', { perMessageDeflate: false });
		c.ws = ws;
		ws.on('message', (data) => {
			const m = data.toString();
			if (m === '2') {
				ws.send('3');
			} else if (m[0] === '0') {
				ws.send(`40${JSON.stringify({ token:
				    tokens[i % tokens.length] })}`);
			} else if (m.startsWith('40')) {
				c.up = true;
				res(true);
			} else if (m.startsWith('44')) {
				res(false);
			} else if (m.startsWith('42["chat_response"')) {
				const id = m.match(/"id":"(\d+)"/);
				if (id !== null) {
					c.lastId = BigInt(id[1]);
					c.lastAt = Date.now();
				}
			}
		});
		ws.on('error', () => {});
		ws.on('close', () => {
			c.closed = true;
			res(false);
		});
	});
}

const status = () => ({ open: conns.filter((c) => c.up && !c.closed).length,
	closed: conns.filter((c) => c.closed).length });

process.on('message', (msg) => {
	if (msg.type === 'status') {
		process.send({ type: 'status', ...status() });
	} else if (msg.type === 'got') {
		// The connections that received message msg.id (or a later
		// one), and when the last of them did.
		const id = BigInt(msg.id);
		const got = conns.filter((c) => c.lastId >= id);
		process.send({ type: 'got', n: got.length,
			last: got.reduce((x, c) => Math.max(x, c.lastAt), 0) });
	} else if (msg.type === 'exit') {
		for (const c of conns)
			c.ws.terminate();
		process.exit(0);
	}
});

let ok = 0;
for (let i = 0; i < count; i += BATCH) {
	const n = Math.min(BATCH, count - i);
	const r = await Promise.all(Array.from({ length: n },
	    (_, k) => open(i + k)));
	ok += r.filter(Boolean).length;
}
process.send({ type: 'ready', ok, failed: count - ok });
