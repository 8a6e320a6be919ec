// SPDX-License-Identifier: ISC
//
// docs/api.md section 2, rooms: creating rooms (members by email or username,
// creator implicit, unknown members), private chats (one per pair from
// either side), listing, reading a room, the private chat list, and the
// single 404 for rooms that do not exist or are not the caller's.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { RFC3339_MS, call, newRoom, newUser, post, uniq } from
    './lib/api.mjs';

let st;
let U;
let a;
let b;
let c;
before(async () => {
	st = await startStack();
	U = st.url;
	[a, b, c] = [await newUser(U), await newUser(U), await newUser(U)];
});
after(async () => { await st?.stop(); });

const NOROOM = { detail: 'Chat room not found or access denied' };

function assertRoom(r, { name, isPrivate = false, members }) {
	assert.match(r.id, /^\d+$/);
	if (name !== undefined)
		assert.equal(r.name, name);
	assert.equal(r.is_private, isPrivate);
	assert.match(r.created_at, RFC3339_MS);
	assert.deepEqual([...r.members].sort(), [...members].sort());
}

describe('create a room', () => {
	test('members by email and by username, creator implicit', async () => {
		const name = uniq('room');
		const r = await call(U, 'POST', '/chat/chat_rooms/', {
			token: a.token, json: { name, members: [b.email, c.username] } });
		assert.equal(r.status, 201, r.text);
		assertRoom(r.body, { name, members: [a.email, b.email, c.email] });
		assert.deepEqual(r.body.messages, []);
	});

	test('members: [] is a room of one', async () => {
		const r = await call(U, 'POST', '/chat/chat_rooms/', {
			token: a.token, json: { name: 'solo', members: [] } });
		assert.equal(r.status, 201, r.text);
		assertRoom(r.body, { name: 'solo', members: [a.email] });
	});

	test('listing the creator too is harmless', async () => {
		const r = await newRoom(U, a, [a.email, a.username, b.email]);
		assertRoom(r, { members: [a.email, b.email] });
	});

	test('a member given in another case is found', async () => {
		const r = await newRoom(U, a, [b.email.toUpperCase()]);
		assertRoom(r, { members: [a.email, b.email] });
	});

	test('unknown members: 422 naming them, nothing created', async () => {
		const before = await call(U, 'GET', '/chat/chat_rooms/',
		    { token: a.token });
		const ghost1 = `${uniq('ghost')}@example.com`;
		const ghost2 = uniq('nobody');
		const r = await call(U, 'POST', '/chat/chat_rooms/', {
			token: a.token,
			json: { name: 'x', members: [b.email, ghost1, ghost2] } });
		assert.equal(r.status, 422, r.text);
		assert.ok(r.text.includes(ghost1), r.text);
		assert.ok(r.text.includes(ghost2), r.text);
		const after_ = await call(U, 'GET', '/chat/chat_rooms/',
		    { token: a.token });
		assert.equal(after_.body.length, before.body.length);
	});

	test('bad shapes: 422', async () => {
		for (const json of [
			{ members: [] },
			{ name: 5, members: [] },
			{ name: 'x', members: 'b' },
			{ name: 'x', members: [5] },
			{ name: 'x', members: [], is_private: 'yes' },
		]) {
			const r = await call(U, 'POST', '/chat/chat_rooms/',
			    { token: a.token, json });
			assert.equal(r.status, 422, `${JSON.stringify(json)}: ${r.text}`);
			assert.ok(Array.isArray(r.body?.detail), r.text);
		}
	});

	test('without a token: 401', async () => {
		const r = await call(U, 'POST', '/chat/chat_rooms/',
		    { json: { name: 'x', members: [] } });
		assert.equal(r.status, 401, r.text);
		assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
	});
});

describe('private chats', () => {
	test('created once per pair, from either side', async () => {
		const x = await newUser(U);
		const y = await newUser(U);
		const r1 = await call(U, 'POST', '/chat/chat_rooms/', { token: x.token,
			json: { name: 'dm', members: [y.email], is_private: true } });
		assert.equal(r1.status, 201, r1.text);
		assertRoom(r1.body, { isPrivate: true, members: [x.email, y.email] });
		const r2 = await call(U, 'POST', '/chat/chat_rooms/', { token: x.token,
			json: { name: 'dm again', members: [y.username],
				is_private: true } });
		assert.equal(r2.status, 200, r2.text);
		assert.equal(r2.body.id, r1.body.id);
		const r3 = await call(U, 'POST', '/chat/chat_rooms/', { token: y.token,
			json: { name: 'dm back', members: [x.email, y.email],
				is_private: true } });
		assert.equal(r3.status, 200, r3.text);
		assert.equal(r3.body.id, r1.body.id);
		assert.equal(r3.body.is_private, true);
	});

	test('any other member count: 422', async () => {
		for (const members of [[b.email, c.email], [], [a.email]]) {
			const r = await call(U, 'POST', '/chat/chat_rooms/', {
				token: a.token,
				json: { name: 'p', members, is_private: true } });
			assert.equal(r.status, 422, `${members}: ${r.text}`);
		}
	});

	test('a public room with the same pair is another room', async () => {
		const x = await newUser(U);
		const y = await newUser(U);
		const p = await call(U, 'POST', '/chat/chat_rooms/', { token: x.token,
			json: { name: 'dm', members: [y.email], is_private: true } });
		const q = await newRoom(U, x, [y.email]);
		assert.notEqual(q.id, p.body.id);
		assert.equal(q.is_private, false);
	});

	test('GET /chat/private_chats/: shape and most recent first',
	    async () => {
		const x = await newUser(U);
		const y = await newUser(U);
		const z = await newUser(U);
		const mk = async (o) => (await call(U, 'POST', '/chat/chat_rooms/',
		    { token: x.token, json: { name: 'dm', members: [o.email],
			    is_private: true } })).body;
		const py = await mk(y);
		const pz = await mk(z);
		await newRoom(U, x, [y.email]); // public: not listed
		let r = await call(U, 'GET', '/chat/private_chats/',
		    { token: x.token });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.body.length, 2);
		for (const e of r.body) {
			assert.equal(typeof e.is_online, 'boolean');
			assert.ok(e.last_seen === null ||
			    typeof e.last_seen === 'string');
			assert.equal(e.last_message, null);
		}
		const ey = r.body.find((e) => e.id === py.id);
		assert.equal(ey.other_user_email, y.email);
		assert.deepEqual(ey.other_user, { id: y.id,
			username: y.username, email: y.email });
		const m = await post(U, x, py.id, 'hello y');
		assert.equal(m.status, 201, m.text);
		r = await call(U, 'GET', '/chat/private_chats', { token: x.token });
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(r.body.map((e) => e.id), [py.id, pz.id]);
		assert.equal(r.body[0].last_message.content, 'hello y');
		assert.equal(r.body[0].last_message.id, m.body.id);
		await post(U, z, pz.id, 'hello x');
		r = await call(U, 'GET', '/chat/private_chats/', { token: y.token });
		assert.deepEqual(r.body.map((e) => e.id), [py.id]);
		assert.equal(r.body[0].other_user_email, x.email);
		r = await call(U, 'GET', '/chat/private_chats/', { token: x.token });
		assert.deepEqual(r.body.map((e) => e.id), [pz.id, py.id]);
	});
});

describe('list and read rooms', () => {
	test('the list holds exactly the caller\'s rooms', async () => {
		const x = await newUser(U);
		const y = await newUser(U);
		const r1 = await newRoom(U, x, [y.email]);
		const r2 = await newRoom(U, y, [x.username]);
		const r3 = await newRoom(U, y, []);
		for (const path of ['/chat/chat_rooms/', '/chat/chat_rooms']) {
			const r = await call(U, 'GET', path, { token: x.token });
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(r.body.map((e) => e.id).sort(),
			    [r1.id, r2.id].sort());
			for (const e of r.body) {
				assert.equal(e.messages, undefined);
				assert.ok(Array.isArray(e.members));
			}
		}
		const ry = await call(U, 'GET', '/chat/chat_rooms/',
		    { token: y.token });
		assert.deepEqual(ry.body.map((e) => e.id).sort(),
		    [r1.id, r2.id, r3.id].sort());
	});

	test('GET a room: members and its latest 50 messages', async () => {
		const room = await newRoom(U, a, [b.email]);
		const ids = [];
		for (let i = 0; i < 55; i++)
			ids.push((await post(U, i % 2 ? a : b, room.id,
			    `m${i}`)).body.id);
		for (const path of [`/chat/chat_rooms/${room.id}`,
			`/chat/chat_rooms/${room.id}/`]) {
			const r = await call(U, 'GET', path, { token: b.token });
			assert.equal(r.status, 200, r.text);
			assertRoom(r.body, { name: room.name,
				members: [a.email, b.email] });
			assert.deepEqual(r.body.messages.map((m) => m.id),
			    ids.slice(5));
			assert.equal(r.body.messages[49].content, 'm54');
		}
	});

	test('not a member, or no such room: the same 404', async () => {
		const room = await newRoom(U, a, [b.email]);
		const r1 = await call(U, 'GET', `/chat/chat_rooms/${room.id}`,
		    { token: c.token });
		assert.equal(r1.status, 404, r1.text);
		assert.deepEqual(r1.body, NOROOM);
		const r2 = await call(U, 'GET', '/chat/chat_rooms/999999999',
		    { token: c.token });
		assert.equal(r2.status, 404, r2.text);
		assert.deepEqual(r2.body, NOROOM);
		for (const path of [`/chat/chat_rooms/${room.id}/messages`,
			'/chat/chat_rooms/999999999/messages']) {
			const g = await call(U, 'GET', path, { token: c.token });
			assert.equal(g.status, 404, g.text);
			assert.deepEqual(g.body, NOROOM);
			const p = await call(U, 'POST', path, { token: c.token,
				json: { content: 'intrusion' } });
			assert.equal(p.status, 404, p.text);
			assert.deepEqual(p.body, NOROOM);
		}
		const msgs = await call(U, 'GET',
		    `/chat/chat_rooms/${room.id}/messages`, { token: a.token });
		assert.deepEqual(msgs.body, []);
	});

	test('someone else\'s private chat is out of reach', async () => {
		const p = await call(U, 'POST', '/chat/chat_rooms/', { token: a.token,
			json: { name: 'dm', members: [b.email], is_private: true } });
		assert.ok(p.status === 201 || p.status === 200, p.text);
		const r = await call(U, 'GET', `/chat/chat_rooms/${p.body.id}`,
		    { token: c.token });
		assert.deepEqual(r.body, NOROOM);
		const pc = await call(U, 'GET', '/chat/private_chats/',
		    { token: c.token });
		assert.ok(!pc.body.some((e) => e.id === p.body.id));
	});

	test('every room route wants a valid token', async () => {
		const room = await newRoom(U, a, []);
		for (const [method, path] of [
			['GET', '/chat/chat_rooms/'],
			['GET', `/chat/chat_rooms/${room.id}`],
			['GET', `/chat/chat_rooms/${room.id}/messages`],
			['POST', `/chat/chat_rooms/${room.id}/messages`],
			['GET', '/chat/private_chats/'],
		]) {
			for (const token of [undefined, 'x.y.z']) {
				const r = await call(U, method, path, { token,
					json: method === 'POST' ?
					    { content: 'x' } : undefined });
				assert.equal(r.status, 401,
				    `${method} ${path}: ${r.text}`);
			}
		}
	});
});
