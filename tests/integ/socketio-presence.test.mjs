// SPDX-License-Identifier: ISC
//
// docs/api.md section 4, presence through nginx: user_status on a user's first
// connect and last disconnect only, last_seen persisted, get_online_users
// with and without a room through the ack and as the online_users event,
// a cut connection going offline, and the REST is_online/last_seen fields
// that the workers read from the push daemon.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { RFC3339_MS, call, newRoom, newUser } from './lib/api.mjs';
import { RawSio, ack, closeAll, connect, until } from './lib/sio.mjs';

let st;
let U;
before(async () => {
	st = await startStack();
	U = st.url;
});
after(async () => {
	closeAll();
	await st?.stop();
});

const pub = (u) => ({ id: u.id, username: u.username, email: u.email });
const byId = (x, y) => (BigInt(x.id) < BigInt(y.id) ? -1 : 1);
const statusOf = (s, u) => s.rec.of('user_status').filter((x) =>
	x?.user_id === u.id);

describe('user_status', () => {
	test('first connect and last disconnect only', async () => {
		const [a, b, c] = [await newUser(U), await newUser(U),
			await newUser(U)];
		await newRoom(U, a, [b.email]);
		const a1 = await connect(U, a);
		const c1 = await connect(U, c);
		const t0 = Date.now();
		const b1 = await connect(U, b, { transport: 'polling' });
		const on = await until(() => statusOf(a1, b)[0], 15000,
		    'user_status online');
		assert.deepEqual(Object.keys(on).sort(), ['email', 'is_online',
			'last_seen', 'user_id']);
		assert.equal(on.user_id, b.id);
		assert.equal(on.email, b.email);
		assert.equal(on.is_online, true);
		assert.ok(on.last_seen === null ||
		    RFC3339_MS.test(on.last_seen), on.last_seen);
		// A second socket, then the first one leaves: b stays online.
		const b2 = await connect(U, b);
		b1.close();
		// Wait until the daemon has seen b1 go: b is still online.
		const r = await ack(a1, 'get_online_users', {});
		assert.ok(r.some((u) => u.id === b.id), JSON.stringify(r));
		b2.close();
		const off = await until(() => statusOf(a1, b)
		    .find((x) => !x.is_online), 15000, 'user_status offline');
		assert.equal(off.user_id, b.id);
		assert.equal(off.email, b.email);
		assert.match(off.last_seen, RFC3339_MS);
		const seen = Date.parse(off.last_seen);
		assert.ok(seen >= t0 - 2000 && seen <= Date.now() + 2000,
		    off.last_seen);
		// Events to a1 are ordered: the offline one came last, and
		// there was exactly one of each.
		assert.deepEqual(statusOf(a1, b).map((x) => x.is_online),
		    [true, false]);
		// c shares no room with b: nothing about b.
		const bar = await ack(c1, 'get_online_users', {});
		assert.ok(Array.isArray(bar));
		assert.deepEqual(statusOf(c1, b), []);
		// b's own status also reaches b's other rooms' members only.
		a1.close();
		c1.close();
	});

	test('a reconnecting user is announced online again', async () => {
		const [a, b] = [await newUser(U), await newUser(U)];
		await newRoom(U, a, [b.email]);
		const a1 = await connect(U, a);
		for (let i = 0; i < 2; i++) {
			const b1 = await connect(U, b);
			await until(() => statusOf(a1, b).length === 2 * i + 1,
			    15000, 'online');
			b1.close();
			await until(() => statusOf(a1, b).length === 2 * i + 2,
			    15000, 'offline');
		}
		assert.deepEqual(statusOf(a1, b).map((x) => x.is_online),
		    [true, false, true, false]);
		a1.close();
	});
});

describe('abrupt disconnects', () => {
	test('a WebSocket cut without a close packet goes offline', async () => {
		const [a, b] = [await newUser(U), await newUser(U)];
		await newRoom(U, a, [b.email]);
		const a1 = await connect(U, a);
		const r = await RawSio.connect(U, { token: b.token });
		assert.match(r.answer, /^40/);
		await until(() => statusOf(a1, b).length === 1, 15000, 'online');
		r.close();	// TCP reset, no Engine.IO or WebSocket close
		const off = await until(() => statusOf(a1, b)[1], 15000,
		    'user_status offline');
		assert.equal(off.is_online, false);
		assert.match(off.last_seen, RFC3339_MS);
		const list = await ack(a1, 'get_online_users', {});
		assert.ok(!list.some((u) => u.id === b.id), JSON.stringify(list));
		a1.close();
	});
});

describe('get_online_users', () => {
	let a;
	let b;
	let c;
	let d;
	let e;
	let r1;		// a, b, d
	let r2;		// a, c
	let a1;
	before(async () => {
		[a, b, c, d, e] = [await newUser(U), await newUser(U),
			await newUser(U), await newUser(U), await newUser(U)];
		r1 = await newRoom(U, a, [b.email, d.email]);
		r2 = await newRoom(U, a, [c.email]);
		// e is online but shares no room with a; d is offline.
		a1 = await connect(U, a);
		await connect(U, b, { transport: 'polling' });
		await connect(U, b);
		await connect(U, c);
		await connect(U, e);
	});

	test('with a room: the online members, each once', async () => {
		const r = await ack(a1, 'get_online_users', { room_id: r1.id });
		assert.ok(Array.isArray(r), JSON.stringify(r));
		assert.deepEqual([...r].sort(byId), [pub(a), pub(b)].sort(byId));
		const r2u = await ack(a1, 'get_online_users',
		    { room_id: r2.id });
		assert.deepEqual([...r2u].sort(byId),
		    [pub(a), pub(c)].sort(byId));
	});

	test('without a room: online users sharing a room', async () => {
		for (const arg of [{}, undefined]) {
			const r = arg === undefined ?
			    await a1.timeout(15000).emitWithAck('get_online_users') :
			    await ack(a1, 'get_online_users', arg);
			assert.ok(Array.isArray(r), JSON.stringify(r));
			const ids = r.map((u) => u.id);
			assert.equal(new Set(ids).size, ids.length, 'no repeats');
			for (const u of r)
				assert.deepEqual(Object.keys(u).sort(),
				    ['email', 'id', 'username']);
			const others = r.filter((u) => u.id !== a.id)
			    .sort(byId);
			assert.deepEqual(others, [pub(b), pub(c)].sort(byId));
		}
	});

	test('a room the caller is not in: error ack', async () => {
		const er = await ack(a1, 'get_online_users', { room_id: '999999999' });
		assert.equal(er?.status, 'error', JSON.stringify(er));
		assert.equal(typeof er.detail, 'string');
		const e1 = await connect(U, e);
		const r = await ack(e1, 'get_online_users', { room_id: r1.id });
		assert.equal(r?.status, 'error', JSON.stringify(r));
		e1.close();
	});

	test('without an ack: the online_users event', async () => {
		const n = a1.rec.of('online_users').length;
		a1.emit('get_online_users', { room_id: r1.id });
		const r = await until(() => a1.rec.of('online_users')[n], 15000,
		    'online_users');
		assert.deepEqual([...r].sort(byId), [pub(a), pub(b)].sort(byId));
		a1.emit('get_online_users');
		const r2x = await until(() => a1.rec.of('online_users')[n + 1],
		    15000, 'the second online_users');
		assert.deepEqual(r2x.filter((u) => u.id !== a.id).sort(byId),
		    [pub(b), pub(c)].sort(byId));
	});
});

describe('REST is_online and last_seen', () => {
	test('private_chats follows the other user', async () => {
		const [a, b] = [await newUser(U), await newUser(U)];
		const pc = await call(U, 'POST', '/chat/chat_rooms/',
		    { token: a.token, json: { name: 'pc', members: [b.email],
			is_private: true } });
		assert.equal(pc.status, 201, pc.text);
		const entry = async () => {
			const r = await call(U, 'GET', '/chat/private_chats/',
			    { token: a.token });
			assert.equal(r.status, 200, r.text);
			return r.body.find((x) => x.id === pc.body.id);
		};
		const e0 = await entry();
		assert.equal(e0.is_online, false);
		assert.equal(e0.last_seen, null);
		const b1 = await connect(U, b);
		// The daemon answers the workers; the push is not needed.
		const e1 = await until(async () => {
			const x = await entry();
			return x.is_online === true && x;
		}, 15000, 'is_online true');
		assert.equal(e1.other_user.id, b.id);
		const a1 = await connect(U, a);
		b1.close();
		await until(() => statusOf(a1, b).find((x) => !x.is_online),
		    15000, 'user_status offline');
		const e2 = await entry();
		assert.equal(e2.is_online, false);
		assert.match(e2.last_seen, RFC3339_MS);
		const off = statusOf(a1, b).find((x) => !x.is_online);
		assert.equal(e2.last_seen, off.last_seen);
		a1.close();
	});
});
