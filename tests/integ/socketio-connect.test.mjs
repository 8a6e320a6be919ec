// SPDX-License-Identifier: ISC
//
// docs/api.md section 4, connecting through nginx with the stock
// socket.io-client: WebSocket-only, polling-only and upgrading clients, the
// token in auth, in the query and in an Authorization header; every refusal is
// a Socket.IO CONNECT_ERROR "unauthorized" after a successful Engine.IO
// handshake; browser origins (own and configured allowed, others 403); idle
// connections that outlive several (short) ping intervals; and the same
// transports through the lighttpd stack.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { call, JWT_AUD, JWT_ISS, newRoom, newUser, signJwt } from
    './lib/api.mjs';
import { RawSio, ack, closeAll, connect, refused, until } from './lib/sio.mjs';

const PING_INTERVAL = 1000;
const ALLOWED = 'http://allowed.example:8080';
let st;
let U;
let a;
let roomA;
before(async () => {
	st = await startStack({ set: { ping_interval: PING_INTERVAL,
		ping_timeout: 1000, cors_origins: ALLOWED } });
	U = st.url;
	a = await newUser(U);
	roomA = await newRoom(U, a, []);
});
after(async () => {
	closeAll();
	await st?.stop();
});

// Send a message over socket "s" into "room" and check the ack and the
// chat_response the socket itself receives.
async function roundTrip(s, user, room) {
	const content = `rt ${randomBytes(4).toString('hex')}`;
	const r = await ack(s, 'chat_message', { room_id: room.id, content });
	assert.equal(r?.status, 'received', JSON.stringify(r));
	assert.equal(r.message.content, content);
	assert.equal(r.message.sender_id, user.id);
	await until(() => s.rec.of('chat_response').some((x) =>
		x?.message?.id === r.message.id), 15000,
	'the chat_response of the own message');
}

describe('transports and token carriers', () => {
	for (const transport of ['websocket', 'polling', 'upgrade']) {
		test(`${transport}: auth.token`, async () => {
			const s = await connect(U, a, { transport });
			assert.equal(s.engineOpens, 1);
			assert.equal(typeof s.id, 'string');
			if (transport === 'upgrade')
				await until(() => s.io.engine.transport.name ===
				    'websocket', 15000, 'the upgrade to WebSocket');
			else
				assert.equal(s.io.engine.transport.name, transport);
			await roundTrip(s, a, roomA);
			s.close();
		});
	}

	for (const transport of ['websocket', 'polling']) {
		test(`${transport}: ?token= query`, async () => {
			const s = await connect(U, a, { transport,
				auth: undefined, query: { token: a.token } });
			await roundTrip(s, a, roomA);
			s.close();
		});

		test(`${transport}: Authorization: Bearer header`, async () => {
			const s = await connect(U, a, { transport,
				auth: undefined, extraHeaders: {
					Authorization: `Bearer ${a.token}` } });
			await roundTrip(s, a, roomA);
			s.close();
		});
	}
});

describe('refusals: CONNECT_ERROR "unauthorized" after the handshake', () => {
	const now = () => Math.floor(Date.now() / 1000);
	const claims = (user, extra = {}) => ({ iss: JWT_ISS, aud: JWT_AUD,
		sub: user.id, iat: now(), exp: now() + 600,
		jti: randomBytes(16).toString('hex'), ...extra });
	const cases = {};
	before(async () => {
		const key = st.secret();
		const gone = await newUser(U);
		assert.equal((await call(U, 'GET', '/auth/users/me',
		    { token: gone.token })).status, 200);
		st.sql(`DELETE FROM users WHERE id = ${Number(gone.id)};`);
		const none = signJwt(key, claims(a), { alg: 'none', typ: 'JWT' });
		Object.assign(cases, {
			'no auth at all': undefined,
			'auth without token': {},
			'token not a string': { token: 12345 },
			'empty token': { token: '' },
			'garbage': { token: 'garbage' },
			'three dots of garbage': { token: 'a.b.c' },
			'expired': { token: signJwt(key, claims(a, {
				iat: now() - 7200, exp: now() - 3600 })) },
			'alg none, unsigned': { token: none.split('.')
			    .slice(0, 2).join('.') + '.' },
			'alg none, signed': { token: none },
			'forged with another key': { token: signJwt(
			    randomBytes(32).toString('hex'), claims(a)) },
			'user deleted': { token: gone.token },
			'sub naming no user': { token: signJwt(key,
			    claims(a, { sub: '999999999' })) },
			'no iss or aud': { token: signJwt(key, claims(a,
			    { iss: undefined, aud: undefined })) },
			'wrong aud': { token: signJwt(key,
			    claims(a, { aud: 'other' })) },
			'wrong iss': { token: signJwt(key,
			    claims(a, { iss: 'other' })) },
			'over 4 KiB, validly signed': { token: signJwt(key,
			    claims(a, { pad: 'x'.repeat(4200) })) },
		});
	});

	test('a token signed here with the service key is accepted', async () => {
		// Proves the forged cases fail for their flaw only.
		const s = await connect(U, a, { auth: { token: signJwt(
		    st.secret(), claims(a)) } });
		assert.ok(s.connected);
		s.close();
	});

	for (const transport of ['websocket', 'polling']) {
		test(`${transport}: each bad auth is refused`, async () => {
			for (const [name, auth] of Object.entries(cases)) {
				const { err, socket } = await refused(U, auth,
				    { transport });
				assert.equal(err.message, 'unauthorized',
				    `${name}: ${err.message} (${err.type ?? ''})`);
				assert.equal(socket.engineOpens, 1,
				    `${name}: Engine.IO handshake`);
				assert.ok(!socket.connected, name);
				socket.close();
			}
		});
	}

	for (const transport of ['websocket', 'polling']) {
		test(`${transport}: bad tokens in the query and the header`,
		    async () => {
			for (const opts of [{ query: { token: 'garbage' } },
				{ extraHeaders: { Authorization: 'Bearer x.y.z' } },
				{ extraHeaders: { Authorization: `Basic ${a.token}` } }]) {
				const { err, socket } = await refused(U, undefined,
				    { transport, ...opts });
				assert.equal(err.message, 'unauthorized',
				    JSON.stringify(opts));
				assert.equal(socket.engineOpens, 1);
				socket.close();
			}
		});
	}

	test('raw WebSocket: the exact CONNECT_ERROR packet', async () => {
		const r = await RawSio.connect(U, { token: 'garbage' });
		assert.equal(typeof r.open.sid, 'string');
		assert.equal(r.open.pingInterval, PING_INTERVAL);
		assert.equal(r.answer, '44{"message":"unauthorized"}');
		r.close();
	});

	test('raw polling: 200 handshake, then the CONNECT_ERROR packet',
	    async () => {
		const base = `${U}/socket.io/?EIO=4&transport=polling`;
		const h = await call(U, 'GET', '/socket.io/?EIO=4&transport=polling');
		assert.equal(h.status, 200, h.text);
		assert.equal(h.text[0], '0', h.text);
		const { sid } = JSON.parse(h.text.slice(1));
		const p = await fetch(`${base}&sid=${sid}`, { method: 'POST',
			headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
			body: '40{"token":"garbage"}' });
		assert.equal(p.status, 200);
		assert.equal(await p.text(), 'ok');
		const g = await fetch(`${base}&sid=${sid}`);
		assert.equal(g.status, 200);
		assert.equal(await g.text(), '44{"message":"unauthorized"}');
	});

	test('a good client still connects after the refusals', async () => {
		const s = await connect(U, a);
		await roundTrip(s, a, roomA);
		s.close();
	});
});

describe('browser origins (CORS, CSWSH)', () => {
	const hs = (origin) => call(U, 'GET', '/socket.io/?EIO=4&transport=polling',
	    { headers: origin === undefined ? {} : { Origin: origin } });

	test('polling: own and configured origins allowed, others 403',
	    async () => {
		const own = `http://127.0.0.1:${st.port}`;
		for (const o of [own, ALLOWED]) {
			const r = await hs(o);
			assert.equal(r.status, 200, `${o}: ${r.text}`);
			assert.equal(r.text[0], '0');
			// The page's own origin needs no CORS header.
			assert.equal(r.headers.get('access-control-allow-origin'),
			    o === own ? null : o);
			assert.equal(r.headers.get(
			    'access-control-allow-credentials'), null);
		}
		const none = await hs(undefined);
		assert.equal(none.status, 200);
		for (const o of ['http://evil.example', 'null',
			'http://127.0.0.1:1', `${ALLOWED}.evil.example`,
			'http://allowed.example']) {
			const r = await hs(o);
			assert.equal(r.status, 403, `${o}: ${r.status} ${r.text}`);
			assert.equal(r.headers.get('access-control-allow-origin'),
			    null, o);
		}
	});

	test('WebSocket: a foreign origin gets 403, the own one upgrades',
	    async () => {
		const bad = new RawSio(U, { headers: {
			Origin: 'http://evil.example' } });
		assert.equal(await bad.upgraded, 403);
		bad.close();
		const good = await RawSio.connect(U, { token: a.token }, {
			headers: { Origin: `http://127.0.0.1:${st.port}` } });
		assert.match(good.answer, /^40\{"sid":/);
		good.close();
	});
});

describe('idle connections outlive several ping intervals', () => {
	test('websocket, polling and upgraded clients stay connected',
	    async () => {
		const socks = [];
		for (const transport of ['websocket', 'polling', 'upgrade'])
			socks.push(await connect(U, a, { transport }));
		const gone = [];
		for (const s of socks)
			s.on('disconnect', (why) => gone.push(why));
		// Four pings each, about four seconds at 1 s intervals.
		await until(() => socks.every((s) => s.pings >= 4), 30000,
		    'four pings on every socket',
		    () => socks.map((s) => s.pings).join(','));
		assert.deepEqual(gone, []);
		for (const s of socks) {
			assert.ok(s.connected);
			assert.equal(s.engineOpens, 1, 'no reconnection');
			await roundTrip(s, a, roomA);
			s.close();
		}
	});
});

describe('through lighttpd too', () => {
	let lt;
	before(async () => {
		lt = await startStack({ web: 'lighttpd' });
	});
	after(async () => {
		closeAll();
		await lt?.stop();
	});

	test('every transport chats; a bad token is refused', async () => {
		const L = lt.url;
		const [x, y] = [await newUser(L), await newUser(L)];
		const room = await newRoom(L, x, [y.email]);
		const ys = await connect(L, y, { transport: 'polling' });
		for (const transport of ['websocket', 'polling', 'upgrade']) {
			const s = await connect(L, x, { transport });
			if (transport === 'upgrade')
				await until(() => s.io.engine.transport.name ===
				    'websocket', 15000, 'the upgrade to WebSocket');
			await roundTrip(s, x, room);
			const id = s.rec.ids().at(-1);
			await until(() => ys.rec.ids().includes(id), 15000,
			    'the other member gets it');
			s.close();
		}
		const { err, socket } = await refused(L, { token: 'garbage' });
		assert.equal(err.message, 'unauthorized');
		assert.equal(socket.engineOpens, 1);
		socket.close();
	});
});
