// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// docs/testing.md 4.3 "Connections per IP" and "10,000 one-byte frames":
// max_connections_per_addr (set to 5) straight over TCP (push_listen_tcp)
// and through nginx, where the address is the one nginx appends to
// X-Forwarded-For: connection 6 from one address gets 429 before any
// session while the 5 stay served, a closed one frees its slot, and
// neither X-Forwarded-For nor X-Real-IP sent by the client gets it past
// the cap; the refusals are logged once, not once each; the same behind
// lighttpd (proxy.forwarded). Then
// ws_frame_burst/ws_frame_rate (100, then 50 per second): a client
// flooding 10,000 one-byte frames (data or ping) is closed with 1008
// while others are served, and one at a steady 25 frames per second, past
// the burst, is never closed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort, startStack } from './lib/stack.mjs';
import { call, newRoom, newUser } from './lib/api.mjs';
import { Direct } from './lib/direct.mjs';
import { RawSio, ack, closeAll, connect, until } from './lib/sio.mjs';

const CAP = 5;
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
let st;
let tcp; // http://127.0.0.1:port of push_listen_tcp
let sock; // push_socket
let a;
const open = [];

before(async () => {
	const port = await freePort();
	st = await startStack({ workers: 2, set: {
		max_connections_per_addr: CAP,
		push_listen_tcp: `127.0.0.1:${port}`,
		ws_frame_burst: 100, ws_frame_rate: 50 } });
	tcp = `http://127.0.0.1:${port}`;
	sock = join(st.var, 'run/push.sock');
	a = await newUser(st.url);
});
after(async () => {
	for (const r of open)
		r.close();
	closeAll();
	await st?.stop();
});

// A raw Engine.IO WebSocket to "url" (the stack or push_listen_tcp);
// r.upgraded resolves to true or the HTTP status of a refusal.
function raw(url, headers = {}) {
	const r = new RawSio(url, { headers });
	open.push(r);
	return r;
}

// "n" held WebSockets to "url", each past its Engine.IO OPEN.
async function hold(url, n) {
	const held = [];
	for (let i = 0; i < n; i++)
		held.push(raw(url));
	assert.deepEqual(await Promise.all(held.map((r) => r.upgraded)),
	    held.map(() => true));
	await Promise.all(held.map((r) => r.next((m) => typeof m ===
	    'string' && m.startsWith('0'), 10000, 'OPEN')));
	return held;
}

// The held connections are still served: each answers a Socket.IO CONNECT.
async function served(held) {
	for (const r of held) {
		const n = r.msgs.length;
		r.send(`40${JSON.stringify({ token: a.token })}`);
		await until(() => r.msgs.slice(n).some((m) => /^40/.test(m)),
		    10000, 'the CONNECT answer');
	}
}

// Once a slot is free, a new connection to "url" opens (retried: the
// daemon sees the close a moment after the client).
async function freed(url) {
	return until(async () => {
		const r = raw(url);
		if (await r.upgraded === true)
			return r;
		r.close();
		return false;
	}, 10000, 'a connection after one was closed');
}

describe('max_connections_per_addr', () => {
	test(`TCP: connection ${CAP + 1} gets 429, a closed one frees a slot`,
	    async () => {
		const held = await hold(tcp, CAP);
		assert.equal(await raw(tcp).upgraded, 429);
		// A client's X-Forwarded-For means nothing over TCP.
		assert.equal(await raw(tcp, { 'X-Forwarded-For': '10.0.0.9',
			'X-Real-IP': '10.0.0.9' }).upgraded, 429);
		const r = await call(tcp, 'GET',
		    '/socket.io/?EIO=4&transport=polling');
		assert.equal(r.status, 429, r.text);
		assert.equal(r.headers.get('retry-after'), '1');
		assert.match(r.body?.detail, /too many connections/i);
		await served(held);
		held[0].close();
		held[0] = await freed(tcp);
		assert.equal(await raw(tcp).upgraded, 429);
		for (const h of held)
			h.close();
	});

	test('nginx: the client cannot pick its address', async () => {
		const U = st.url;
		// The TCP connections above are gone once these fit.
		const held = await until(async () => {
			try {
				return await hold(U, CAP);
			} catch {
				for (const r of open)
					r.close();
				return false;
			}
		}, 10000, `${CAP} connections through nginx`);
		assert.equal(await raw(U).upgraded, 429);
		for (const h of [{ 'X-Forwarded-For': '10.1.2.3' },
			{ 'X-Real-IP': '10.1.2.3' },
			{ 'X-Forwarded-For': '10.1.2.3, 10.4.5.6',
				'X-Real-IP': '10.4.5.6' }])
			assert.equal(await raw(U, h).upgraded, 429,
			    JSON.stringify(h));
		const r = await call(U, 'GET',
		    '/socket.io/?EIO=4&transport=polling', { headers: {
			'X-Forwarded-For': '10.7.7.7' } });
		assert.equal(r.status, 429, r.text);
		assert.match(r.body?.detail, /too many connections/i);
		// The same address over TCP shares the count.
		assert.equal(await raw(tcp).upgraded, 429);
		// On push_socket the address is the last X-Forwarded-For
		// entry (what the web server appends); without one, the
		// connection is not counted.
		const other = new Direct(sock);
		open.push(other);
		assert.ok(await other.opened, 'no X-Forwarded-For');
		const ws = new WebSocket(`ws+unix://${sock}:/socket.io/?EIO=4` +
		    '&transport=websocket', { headers: {
			'X-Forwarded-For': '127.0.0.1, 10.8.8.8' } });
		open.push({ close: () => ws.terminate() });
		assert.equal(await new Promise((res) => {
			ws.on('open', () => res(true));
			ws.on('unexpected-response', (q, s) => res(s.statusCode));
			ws.on('error', () => res(false));
		}), true, 'another address');
		await served(held);
		held[CAP - 1].close();
		held[CAP - 1] = await freed(U);
		for (const h of held)
			h.close();
		// One line for the burst of refusals, not one per refusal.
		const lines = st.output().split('\n').filter((l) =>
			l.includes('refused over max_connections_per_addr'));
		assert.equal(lines.length, 1, lines.join('\n'));
		assert.match(lines[0], /\d+ connection\(s\) refused .* 127\.0\.0\.1/);
	});
});

// A raw WebSocket through nginx that sends "n" one-byte client frames of
// opcode "op" in one write right after the upgrade. Resolves to
// { upgraded, code } once the connection ends: "code" is the status of
// the close frame the server sent, or null.
function flood(n, op) {
	const frame = Buffer.from([0x80 | op, 0x81, 1, 2, 3, 4, 0x36 ^ 1]);
	return new Promise((res) => {
		const c = net.connect(st.port, '127.0.0.1');
		let buf = Buffer.alloc(0);
		let upgraded = false;
		let code = null;
		c.on('connect', () => c.write('GET /socket.io/?EIO=4' +
		    '&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
		    'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
		    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
		    'Sec-WebSocket-Version: 13\r\n\r\n'));
		c.on('data', (d) => {
			buf = Buffer.concat([buf, d]);
			if (!upgraded) {
				const i = buf.indexOf('\r\n\r\n');
				if (i === -1)
					return;
				upgraded = / 101 /.test(buf.subarray(0, i));
				buf = buf.subarray(i + 4);
				c.write(Buffer.concat(Array(n).fill(frame)));
			}
			// Server frames are unmasked; find the close.
			while (buf.length >= 2) {
				let len = buf[1] & 0x7f;
				let hl = 2;
				if (len === 126) {
					if (buf.length < 4)
						break;
					len = buf.readUInt16BE(2);
					hl = 4;
				}
				if (buf.length < hl + len)
					break;
				if ((buf[0] & 0x0f) === 8 && len >= 2)
					code = buf.readUInt16BE(hl);
				buf = buf.subarray(hl + len);
			}
		});
		c.on('error', () => {});
		c.on('close', () => res({ upgraded, code }));
	});
}

describe('ws_frame_rate', () => {
	test('10,000 one-byte frames: closed with 1008, others served',
	    async () => {
		const room = await newRoom(st.url, a, []);
		const s = await connect(st.url, a);
		for (const op of [1, 9]) { // text, ping
			const f = flood(10000, op);
			const r = await ack(s, 'chat_message',
			    { room_id: room.id, content: `during ${op}` });
			assert.equal(r?.status, 'received', JSON.stringify(r));
			assert.deepEqual(await f, { upgraded: true,
				code: 1008 }, `opcode ${op}`);
		}
		const r = await ack(s, 'chat_message',
		    { room_id: room.id, content: 'after' });
		assert.equal(r?.status, 'received', JSON.stringify(r));
		const lines = st.output().split('\n').filter((l) =>
			l.includes('closed over ws_frame_rate'));
		assert.equal(lines.length, 1, lines.join('\n'));
		s.close();
	});

	test('25 frames a second for 6 s, past the burst: never closed',
	    async () => {
		const r = await RawSio.connect(st.url, { token: a.token });
		open.push(r);
		assert.match(r.answer, /^40/);
		for (let i = 0; i < 150; i++) {
			r.send('3'); // an Engine.IO pong: ignored
			await sleep(40);
		}
		await sleep(500);
		assert.equal(r.closed, false, `closed with ${r.closeCode}`);
		r.send('421["get_online_users",{}]');
		await r.next((m) => /^431\[/.test(m), 10000, 'the ack');
		r.close();
	});
});

// The same cap behind lighttpd, whose proxy.forwarded appends the address
// to X-Forwarded-For as nginx does: the client still cannot pick it.
describe('max_connections_per_addr behind lighttpd', () => {
	let lt;
	before(async () => {
		lt = await startStack({ web: 'lighttpd', workers: 1, set: {
			max_connections_per_addr: CAP } });
	});
	after(async () => { await lt?.stop(); });

	test(`connection ${CAP + 1} gets 429, forged headers too`,
	    async () => {
		const held = await hold(lt.url, CAP);
		assert.equal(await raw(lt.url).upgraded, 429);
		for (const h of [{ 'X-Forwarded-For': '10.1.2.3' },
			{ 'X-Real-IP': '10.1.2.3' },
			{ 'Forwarded': 'for=10.1.2.3' }])
			assert.equal(await raw(lt.url, h).upgraded, 429,
			    JSON.stringify(h));
		held[0].close();
		held[0] = await freed(lt.url);
		for (const h of held)
			h.close();
	});
});
