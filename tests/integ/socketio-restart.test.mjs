// SPDX-License-Identifier: ISC
//
// docs/testing.md 4.4 item 2 through nginx: the push daemon is killed (-9, then
// SIGTERM) and restarted while stock socket.io-client sockets of every
// transport are connected and REST keeps posting. The clients reconnect by
// themselves with auth.last_message_id (an auth function returning the
// newest id seen) and must end up with every message id exactly once, in
// order, with no gap; a client whose token expired during the outage is
// refused "unauthorized" and recovers with a fresh token. REST keeps
// answering while the daemon is down (is_online reads false). Also:
// clients that connect with last_message_id while REST floods the room
// get every newer id exactly once (catch-up and live push meeting).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startStackOwnDaemon } from './lib/pushd.mjs';
import { call, JWT_AUD, JWT_ISS, newUser, post, signJwt } from
    './lib/api.mjs';
import { client, connected, until } from './lib/sio.mjs';

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
let st;
let U;
let a;
let b;
let room;
const socks = [];
before(async () => {
	st = await startStackOwnDaemon({ set: { token_leeway: 0 } });
	U = st.url;
	[a, b] = [await newUser(U), await newUser(U)];
	const r = await call(U, 'POST', '/chat/chat_rooms/', { token: a.token,
		json: { name: 'pc', members: [b.email], is_private: true } });
	assert.equal(r.status, 201, r.text);
	room = r.body;
});
after(async () => {
	for (const s of socks)
		s.close();
	await st?.stop();
});

// A client of b that reconnects by itself and asks for what it missed.
// "token" is a function giving the token to use at each CONNECT.
function resilient(transport, lastId, token = () => b.token) {
	const st0 = { last: lastId, unauthorized: 0 };
	const s = client(U, (cb) => cb({ token: token(),
		last_message_id: st0.last }), { transport, reconnection: true,
		reconnectionDelay: 200, reconnectionDelayMax: 1000,
		randomizationFactor: 0.5 });
	s.on('chat_response', (r) => {
		const id = r?.message?.id;
		if (typeof id === 'string' && BigInt(id) > BigInt(st0.last))
			st0.last = id;
	});
	s.on('connect_error', (e) => {
		if (e.message === 'unauthorized')
			st0.unauthorized++;
	});
	s.state = st0;
	socks.push(s);
	return s;
}

// b's entry in a's private chat list.
async function bEntry() {
	const r = await call(U, 'GET', '/chat/private_chats/',
	    { token: a.token });
	assert.equal(r.status, 200, r.text);
	return r.body.find((x) => x.id === room.id);
}

describe('push daemon restart', () => {
	test('kill -9 and SIGTERM: every message exactly once, in order',
	    async () => {
		const m0 = await post(U, a, room.id, 'before the clients');
		assert.equal(m0.status, 201, m0.text);
		const clients = [];
		for (const tr of ['websocket', 'polling', 'upgrade', 'websocket'])
			clients.push(resilient(tr, m0.body.id));
		// A token that expires during the outage; refreshed (a new
		// login) when the daemon refuses it.
		const now = Math.floor(Date.now() / 1000);
		const expMs = (now + 4) * 1000;
		let etoken = signJwt(st.secret(), { iss: JWT_ISS, aud: JWT_AUD,
			sub: b.id, iat: now, exp: now + 4,
			jti: randomBytes(16).toString('hex') });
		const e = resilient('websocket', m0.body.id, () => etoken);
		e.on('connect_error', async (err) => {
			if (err.message !== 'unauthorized')
				return;
			const l = await call(U, 'POST', '/auth/login', { json: {
				email: b.email, password: b.password } });
			etoken = l.body.access_token;
			e.connect();
		});
		for (const s of [...clients, e])
			await connected(s);

		// The publisher: one REST message per 100 ms until told.
		const posted = [];
		const bad = [];
		let run = true;
		const publisher = (async () => {
			for (let i = 0; run; i++) {
				const r = await post(U, a, room.id, `p ${i}`);
				if (r.status === 201)
					posted.push(r.body.id);
				else
					bad.push(`${r.status} ${r.text}`);
				await sleep(100);
			}
		})();
		const all = [...clients, e];
		const gotAll = (ms, what) => until(() => all.every((s) =>
			s.state.last === posted.at(-1)), ms, what,
		() => all.map((s) => `${s.io.engine?.transport?.name}:` +
		    `${s.rec.ids().length}`).join(' ') + ` of ${posted.length}`);
		await until(() => posted.length >= 5, 15000, 'five posts');
		await gotAll(15000, 'the first messages');

		// kill -9, stay down until e's token has expired.
		const k = await st.pushd.kill('SIGKILL');
		assert.equal(k.sig, 'SIGKILL');
		const down = posted.length;
		await until(() => Date.now() > expMs + 500 &&
		    posted.length >= down + 10, 20000, 'posts while down');
		const entry = await bEntry();
		assert.equal(entry.is_online, false, 'daemon down: offline');
		await st.pushd.start();
		await until(() => all.every((s) => s.connected) &&
		    e.state.unauthorized > 0, 30000, 'reconnection',
		() => all.map((s) => `${s.connected}`).join(' '));
		await gotAll(30000, 'catch-up after kill -9');

		// A graceful stop and restart.
		const t = await st.pushd.kill('SIGTERM');
		assert.equal(t.code, 0, st.pushd.output());
		const down2 = posted.length;
		await until(() => posted.length >= down2 + 5, 20000,
		    'posts while down');
		await st.pushd.start();
		await until(() => all.every((s) => s.connected), 30000,
		    'reconnection after SIGTERM');
		const live = posted.length;
		await until(() => posted.length >= live + 5, 20000,
		    'live posts');
		run = false;
		await publisher;
		await gotAll(30000, 'every message');

		assert.deepEqual(bad, [], 'REST kept posting');
		for (const [i, s] of all.entries()) {
			const ids = s.rec.of('chat_response')
			    .filter((r) => r.room_id === room.id)
			    .map((r) => r.message.id);
			assert.deepEqual(ids, posted, `client ${i}: ` +
			    'every id once, in order');
			// One catch_up per connection (first one included,
			// since last_message_id was given), each complete.
			const cu = s.rec.of('catch_up');
			assert.ok(cu.length >= 3, `client ${i}: ${cu.length}`);
			assert.ok(cu.every((x) => x.complete === true),
			    JSON.stringify(cu));
			assert.ok(s.engineOpens >= 3, `client ${i} reconnected`);
		}
		for (const s of clients)
			assert.equal(s.state.unauthorized, 0);
		assert.ok(e.state.unauthorized >= 1);
		// The REST view agrees: b is online again.
		const entry2 = await bEntry();
		assert.equal(entry2.is_online, true);
	});
});

describe('catch-up racing live messages', () => {
	test('connecting during a flood: every newer id exactly once',
	    async () => {
		const [x, y] = [await newUser(U), await newUser(U)];
		const r = await call(U, 'POST', '/chat/chat_rooms/', {
			token: x.token, json: { name: 'race', members: [y.email] } });
		assert.equal(r.status, 201, r.text);
		const rid = r.body.id;
		const newest = async () => {
			const l = await call(U, 'GET', `/chat/chat_rooms/${rid}` +
			    '/messages?limit=1', { token: y.token });
			return l.body[0]?.id ?? '0';
		};
		// Four REST posters at full speed.
		let run = true;
		const posters = [0, 1, 2, 3].map(async (k) => {
			for (let i = 0; run; i++) {
				const p = await post(U, x, rid, `f${k}.${i}`);
				assert.equal(p.status, 201, p.text);
			}
		});
		// Clients join one after another, each from the newest id
		// REST showed it (possibly not yet pushed by the daemon).
		const joined = [];
		for (let i = 0; i < 8; i++) {
			const from = await newest();
			const s = client(U, { token: y.token,
				last_message_id: from }, { transport: i % 2 ?
				'polling' : 'websocket' });
			socks.push(s);
			await connected(s);
			joined.push({ s, from });
			await sleep(100);
		}
		await sleep(300);
		run = false;
		await Promise.all(posters);
		const all = [];
		for (let before; ;) {
			const l = await call(U, 'GET', `/chat/chat_rooms/${rid}` +
			    `/messages?limit=100${before ? `&before=${before}` : ''}`,
			{ token: y.token });
			if (l.body.length === 0)
				break;
			all.unshift(...l.body.map((m) => m.id));
			before = l.body[0].id;
		}
		for (const [i, { s, from }] of joined.entries()) {
			const want = all.filter((id) => BigInt(id) > BigInt(from));
			await until(() => s.rec.ids().includes(all.at(-1)), 30000,
			    `client ${i} gets the last message`);
			assert.deepEqual(s.rec.ids(), want, `client ${i} from ${from}`);
			const cu = s.rec.of('catch_up');
			assert.equal(cu.length, 1);
			assert.equal(cu[0].complete, true);
			s.close();
		}
	});
});
