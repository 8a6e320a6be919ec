// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// The push daemon's own bounds (docs/testing.md 4.3, "Bounds to implement and
// assert"), straight on its Unix socket: max_connections (the connection
// past it is closed before any answer while the others stay served, and a
// freed slot is usable again; through nginx the refusal is a JSON 503),
// handshake_timeout (a client that sends nothing, half a request, or a
// request one byte at a time is closed), the Socket.IO CONNECT timeout and
// the Engine.IO ping timeout (a client that stops answering pings is
// closed, one that answers stays), and the upgrade timeout: a probe
// WebSocket of a polling session that sends nothing, or "2probe" and never
// "5", is closed after handshake_timeout while its polling session goes on
// (the probe alone is dropped, as eio.c does when a probe closes), and a
// full upgrade on a fresh session outlives the timeout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call, newUser } from './lib/api.mjs';
import { Direct } from './lib/direct.mjs';
import { until } from './lib/sio.mjs';
import WebSocket from 'ws';

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

describe('upgrade timeout', () => {
	const EP = '/socket.io/?EIO=4';
	const sessions = [];
	after(() => {
		for (const s of sessions)
			s.stop = true;
	});

	// One HTTP request to the daemon's Unix socket; resolves to
	// { status, text }.
	function req(method, path, body) {
		return new Promise((res, rej) => {
			const r = http.request({ socketPath: sock, method, path,
				agent: false, headers: body === undefined ? {}
				    : { 'Content-Type': 'text/plain' } }, (rs) => {
				let text = '';
				rs.setEncoding('utf8');
				rs.on('data', (d) => { text += d; });
				rs.on('end', () => res({ status: rs.statusCode,
					text }));
			});
			r.on('error', rej);
			r.end(body);
		});
	}

	// A polling session, Socket.IO-connected as "a", that polls in a
	// loop: its packets in s.pkts, pings answered with pongs; s.end
	// says why the loop stopped (a status other than 200, or "1").
	async function pollingSession() {
		const h = await req('GET', `${EP}&transport=polling`);
		assert.equal(h.status, 200, h.text);
		assert.equal(h.text[0], '0');
		const s = { sid: JSON.parse(h.text.slice(1)).sid, pkts: [],
			pings: 0, end: null, stop: false };
		const q = `${EP}&transport=polling&sid=${s.sid}`;
		s.post = async (body) => {
			const r = await req('POST', q, body);
			assert.equal(r.status, 200, r.text);
		};
		await s.post(`40${JSON.stringify({ token: a.token })}`);
		const get = async () => {
			const r = await req('GET', q);
			if (r.status !== 200)
				return `status ${r.status} ${r.text}`;
			for (const p of r.text.split('\x1e')) {
				s.pkts.push(p);
				if (p === '1')
					return 'closed by the server';
				if (p !== '2')
					continue;
				s.pings++;
				const o = await req('POST', q, '3');
				if (o.status !== 200)
					return `pong: status ${o.status} ${o.text}`;
			}
			if (r.text === '6') /* upgrading: answered at once */
				await new Promise((x) => setTimeout(x, 50));
			return null;
		};
		s.loop = (async () => {
			try {
				while (!s.stop && s.end === null)
					s.end = await get();
			} catch (e) {
				s.end = `${e}`;
			}
		})();
		sessions.push(s);
		await until(() => s.pkts.some((p) => /^40/.test(p)) || s.end,
		    10000, 'the CONNECT answer over polling');
		assert.equal(s.end, null);
		return s;
	}

	// A WebSocket to session "sid": { ws, msgs, closed, opened }.
	function probe(sid) {
		const p = { msgs: [], closed: false };
		p.ws = new WebSocket(`ws+unix://${sock}:${EP}` +
		    `&transport=websocket&sid=${sid}`, { perMessageDeflate: false });
		p.ws.on('message', (d) => p.msgs.push(d.toString()));
		p.ws.on('error', () => {});
		p.ws.on('close', () => { p.closed = true; });
		p.opened = new Promise((res) => {
			p.ws.on('open', () => res(true));
			p.ws.on('close', () => res(false));
		});
		open.push({ close: () => p.ws.terminate() });
		return p;
	}

	// The polling session still serves: more pings come and are
	// answered, and an event with an ack is answered over polling.
	async function stillPolling(s) {
		const p0 = s.pings;
		await until(() => s.pings >= p0 + 2 || s.end, 15000,
		    'two more pings over polling');
		assert.equal(s.end, null);
		await s.post('421["get_online_users"]');
		await until(() => s.pkts.some((p) => /^431\[/.test(p)) || s.end,
		    10000, 'the ack over polling');
		assert.equal(s.end, null);
		const ackd = JSON.parse(s.pkts.find((p) => /^431\[/.test(p))
		    .slice(3));
		assert.ok(ackd[0].some((u) => u.id === a.id), JSON.stringify(ackd));
		s.stop = true;
	}

	test('a probe that sends nothing is closed, polling goes on',
	    async () => {
		const s = await pollingSession();
		const p = probe(s.sid);
		assert.equal(await p.opened, true, 'the probe was refused');
		await until(() => p.closed || s.end, 15000, 'the probe closed');
		assert.equal(s.end, null, 'the session ended with its probe');
		assert.deepEqual(p.msgs, []);
		await stillPolling(s);
	});

	test('a probe that sends 2probe and never 5 is closed, polling goes on',
	    async () => {
		const s = await pollingSession();
		const p = probe(s.sid);
		assert.equal(await p.opened, true, 'the probe was refused');
		p.ws.send('2probe');
		await until(() => p.msgs.includes('3probe'), 10000, '3probe');
		await until(() => p.closed || s.end, 15000, 'the probe closed');
		assert.equal(s.end, null, 'the session ended with its probe');
		assert.deepEqual(p.msgs, ['3probe']);
		await stillPolling(s);
	});

	test('a full upgrade on a fresh session outlives the timeout',
	    async () => {
		const s = await pollingSession();
		const p = probe(s.sid);
		assert.equal(await p.opened, true, 'the probe was refused');
		p.ws.on('message', (d) => {
			if (d.toString() === '2')
				p.ws.send('3');
		});
		p.ws.send('2probe');
		await until(() => p.msgs.includes('3probe'), 10000, '3probe');
		p.ws.send('5');
		// Pings now come over the WebSocket; two of them span two
		// ping intervals, past handshake_timeout (equal to one).
		await until(() => p.msgs.filter((m) => m === '2').length >= 2 ||
		    p.closed, 15000, 'two pings over the WebSocket');
		assert.equal(p.closed, false);
		p.ws.send('421["get_online_users"]');
		await until(() => p.msgs.some((m) => /^431\[/.test(m)) ||
		    p.closed, 10000, 'the ack over the WebSocket');
		assert.equal(p.closed, false);
		// The polling loop's last GET was answered "6" (noop) and the
		// next is refused: the session is on the WebSocket now.
		s.stop = true;
		await s.loop;
		p.ws.terminate();
	});
});
