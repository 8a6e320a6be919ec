// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// The push daemon's own bounds (TESTING.md 4.3, "Bounds to implement and
// assert"), straight on its Unix socket: max_connections (the connection
// past it is closed before any answer while the others stay served, and a
// freed slot is usable again; through nginx the refusal is a JSON 503),
// handshake_timeout (a client that sends nothing, half a request, or a
// request one byte at a time is closed), the Socket.IO CONNECT timeout and
// the Engine.IO ping timeout (a client that stops answering pings is
// closed, one that answers stays).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call, newUser } from './lib/api.mjs';
import { Direct } from './lib/direct.mjs';
import { until } from './lib/sio.mjs';

const CAP = 50;
let st;
let sock;
let a;
const open = [];
before(async () => {
	st = await startStack({ workers: 2, set: { max_connections: CAP,
		handshake_timeout: 1000, ping_interval: 1000,
		ping_timeout: 1000 } });
	sock = join(st.var, 'run/push.sock');
	a = await newUser(st.url);
});
after(async () => {
	for (const d of open)
		d.close();
	await st?.stop();
});

function direct(opts) {
	const d = new Direct(sock, opts);
	open.push(d);
	return d;
}

describe('max_connections', () => {
	test(`connection ${CAP + 1} is refused, the ${CAP} others stay`,
	    async () => {
		const held = [];
		for (let i = 0; i < CAP; i++)
			held.push(direct());
		const opens = await Promise.all(held.map((d) => d.opened));
		assert.ok(opens.every((o) => o && typeof o.sid === 'string'));
		const acks = await Promise.all(held.map((d) =>
			d.connect({ token: a.token })));
		assert.ok(acks.every((m) => /^40/.test(m)), `${acks}`);
		const extra = direct();
		assert.equal(await extra.opened, false, 'over the cap: opened');
		assert.ok(extra.closed);
		// Through nginx: the upstream refusal becomes a JSON 503.
		const r = await call(st.url, 'GET',
		    '/socket.io/?EIO=4&transport=polling');
		assert.equal(r.status, 503, r.text);
		assert.equal(typeof r.body?.detail, 'string');
		// The held connections are still served: pings keep coming.
		const p0 = held.map((d) => d.pings);
		await until(() => held.every((d, i) => d.pings >= p0[i] + 2),
		    20000, 'two more pings on every held connection');
		assert.ok(held.every((d) => !d.closed));
		// A freed slot is usable again.
		held[0].close();
		await until(async () => {
			const d = direct();
			const o = await d.opened;
			if (!o || !/^40/.test(await d.connect({ token: a.token })))
				return false;
			held[0] = d;
			return true;
		}, 15000, 'a connection after one was closed');
		for (const d of held)
			d.close();
	});
});

describe('handshake_timeout', () => {
	// A raw connection to the daemon that writes "chunks" one every
	// "every" ms; resolves to whether the daemon closed it within 15 s.
	function raw(chunks, every) {
		return new Promise((res) => {
			const c = net.connect(sock);
			let i = 0;
			let timer;
			const t = setTimeout(() => { c.destroy(); res(false); },
			    15000);
			c.on('connect', () => {
				const next = () => {
					if (i < chunks.length)
						c.write(chunks[i++]);
					timer = setTimeout(next, every);
				};
				next();
			});
			c.on('data', () => {});
			c.on('error', () => {});
			c.on('close', () => {
				clearTimeout(t);
				clearTimeout(timer);
				res(true);
			});
		});
	}
	const req = 'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n' +
	    'Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';

	test('nothing sent: closed', async () => {
		assert.equal(await raw([], 100), true);
	});
	test('half a request: closed', async () => {
		assert.equal(await raw([req], 100), true);
	});
	test('one byte every 200 ms, never done: closed', async () => {
		assert.equal(await raw([...req.repeat(4)], 200), true);
	});
});

describe('Socket.IO connect and ping timeouts', () => {
	test('no Socket.IO CONNECT after the Engine.IO open: closed',
	    async () => {
		const d = direct();
		assert.ok(await d.opened);
		await until(() => d.closed, 15000, 'the close');
	});

	test('a client that stops answering pings is closed', async () => {
		const quiet = direct({ noPong: true });
		const polite = direct();
		assert.ok(await quiet.opened);
		assert.ok(await polite.opened);
		assert.match(await quiet.connect({ token: a.token }), /^40/);
		assert.match(await polite.connect({ token: a.token }), /^40/);
		await until(() => quiet.closed, 15000, 'the silent client closed');
		assert.ok(quiet.pings >= 1);
		assert.equal(polite.closed, false);
		polite.close();
	});
});
