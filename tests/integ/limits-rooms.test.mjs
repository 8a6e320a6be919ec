// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// The room bounds of docs/testing.md 4.3 through nginx, with rooms_per_user_max
// 3 and room_members_max 4: a creator or member already in 3 rooms makes a
// create 422 naming them as sent, with nothing half-created for anyone;
// an existing private chat is still returned (200); concurrent creates on
// all workers never pass the bound; a socket of a user at the bound is in
// all of its rooms after CONNECT; more than 4 members is 422.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post, uniq } from './lib/api.mjs';
import { closeAll, connect, gotIds } from './lib/sio.mjs';

const ROOMS = 3;
const MEMBERS = 4;
let st;
let U;
before(async () => {
	st = await startStack({ set: { rooms_per_user_max: ROOMS,
		room_members_max: MEMBERS } });
	U = st.url;
});
after(async () => {
	closeAll();
	await st?.stop();
});

const create = (user, json) => call(U, 'POST', '/chat/chat_rooms/',
    { token: user.token, json });
const users = async (n) => {
	const a = [];
	for (let i = 0; i < n; i++)
		a.push(await newUser(U));
	return a;
};
// What every one of "us" sees of their rooms, and the row counts.
const state = async (us) => ({
	lists: await Promise.all(us.map(async (u) => {
		const r = await call(U, 'GET', '/chat/chat_rooms/',
		    { token: u.token });
		assert.equal(r.status, 200, r.text);
		return r.body;
	})),
	rows: st.sql('SELECT count(*) FROM rooms; ' +
	    'SELECT count(*) FROM members;'),
});
const roomsOf = (u) => Number(st.sql('SELECT count(*) FROM members ' +
    `WHERE user_id = ${Number(u.id)};`));

describe('rooms per user', () => {
	let a;
	let b;
	let c;
	let d;
	let f;
	let priv;
	before(async () => {
		[a, b, c, d, f] = await users(5);
		// a: a group with b, a room of one, a private chat with c.
		await newRoom(U, a, [b.email]);
		await newRoom(U, a, []);
		const r = await create(a, { is_private: true,
			members: [c.email] });
		assert.equal(r.status, 201, r.text);
		priv = r.body.id;
		// f is put in 3 rooms by others.
		for (const u of [b, c, d])
			await newRoom(U, u, [f.username]);
		assert.equal(roomsOf(a), ROOMS);
		assert.equal(roomsOf(f), ROOMS);
	});

	test('the creator in 3 rooms: a 4th is 422 at ["body"], nothing ' +
	    'created', async () => {
		const s0 = await state([a, b, c, d, f]);
		for (const json of [{ name: 'g', members: [d.email] },
			{ name: 'solo', members: [] },
			{ is_private: true, members: [d.username] }]) {
			const r = await create(a, json);
			assert.equal(r.status, 422, r.text);
			assert.deepEqual(r.body.detail, [{ loc: ['body'],
				msg: `You are already in ${ROOMS} rooms, the most ` +
				    'allowed', type: 'value_error' }]);
		}
		assert.deepEqual(await state([a, b, c, d, f]), s0);
	});

	test('members in 3 rooms block a room listing them, named as sent ' +
	    'in order', async () => {
		const s0 = await state([a, b, c, d, f]);
		const r = await create(d, { name: 'x',
			members: [f.email.toUpperCase(), b.username, a.username] });
		assert.equal(r.status, 422, r.text);
		assert.deepEqual(r.body.detail, [{ loc: ['body', 'members'],
			msg: `Users already in ${ROOMS} rooms, the most allowed: ` +
			    `${f.email.toUpperCase()}, ${a.username}`,
			type: 'value_error' }]);
		// Creator and members full: both errors.
		const r2 = await create(a, { name: 'y', members: [f.email] });
		assert.equal(r2.status, 422, r2.text);
		assert.deepEqual(r2.body.detail.map((e) => e.loc),
		    [['body'], ['body', 'members']]);
		assert.ok(r2.body.detail[1].msg.endsWith(`: ${f.email}`),
		    r2.text);
		// A new private chat with a full user.
		const r3 = await create(d, { is_private: true,
			members: [a.email] });
		assert.equal(r3.status, 422, r3.text);
		assert.match(r3.body.detail[0].msg, new RegExp(a.email));
		assert.deepEqual(await state([a, b, c, d, f]), s0);
		assert.equal(roomsOf(a), ROOMS);
		assert.equal(roomsOf(f), ROOMS);
	});

	test('re-creating the existing private chat at the bound: 200, from ' +
	    'either side', async () => {
		const s0 = await state([a, c]);
		const r = await create(a, { is_private: true,
			members: [c.email] });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.body.id, priv);
		const r2 = await create(c, { is_private: true,
			members: [a.username] });
		assert.equal(r2.status, 200, r2.text);
		assert.equal(r2.body.id, priv);
		assert.deepEqual(await state([a, c]), s0);
	});

	test('a socket of a user at the bound is in all of its rooms',
	    async () => {
		const s = await connect(U, a);
		const lst = await call(U, 'GET', '/chat/chat_rooms/',
		    { token: a.token });
		assert.equal(lst.body.length, ROOMS);
		const ids = [];
		for (const room of lst.body) {
			// Someone else posts where there is someone else.
			const other = room.members.find((m) => m !== a.email);
			const by = [b, c].find((u) => u.email === other) ?? a;
			const r = await post(U, by, room.id, `to ${room.name}`);
			assert.equal(r.status, 201, r.text);
			ids.push(r.body.id);
		}
		await gotIds(s, ids);
		assert.deepEqual(new Set(s.rec.of('chat_response')
		    .map((m) => m.room_id)), new Set(lst.body.map((x) => x.id)));
		s.close();
	});
});

describe('concurrent creates', () => {
	test('12 at once by one user: exactly 3 created', async () => {
		const [x] = await users(1);
		const rs = await Promise.all(Array.from({ length: 12 },
		    (_, i) => create(x, { name: `c${i}`, members: [] })));
		const codes = rs.map((r) => r.status).sort();
		assert.deepEqual(codes, [...Array(ROOMS).fill(201),
			...Array(12 - ROOMS).fill(422)], rs.map((r) => r.text)
		    .join('\n'));
		assert.equal(roomsOf(x), ROOMS);
		const l = await call(U, 'GET', '/chat/chat_rooms/',
		    { token: x.token });
		assert.equal(l.body.length, ROOMS);
	});

	test('8 creators at once listing the same member: 3 rooms for them',
	    async () => {
		const [y, ...cs] = await users(9);
		const rs = await Promise.all(cs.map((u) => create(u,
		    { name: uniq('r'), members: [y.email] })));
		assert.equal(rs.filter((r) => r.status === 201).length, ROOMS,
		    rs.map((r) => r.text).join('\n'));
		for (const r of rs.filter((x) => x.status !== 201)) {
			assert.equal(r.status, 422, r.text);
			assert.equal(r.body.detail[0].msg, `Users already in ${ROOMS} ` +
			    `rooms, the most allowed: ${y.email}`);
		}
		assert.equal(roomsOf(y), ROOMS);
		assert.equal(Number(st.sql('SELECT count(*) FROM rooms r WHERE ' +
		    'NOT EXISTS (SELECT 1 FROM members m ' +
		    'WHERE m.room_id = r.id);')), 0);
	});
});

describe('members per room', () => {
	test(`${MEMBERS} with the creator: 201; ${MEMBERS + 1}: 422; a list of ` +
	    `${MEMBERS + 1}: 422 too_long`, async () => {
		const [o, ...m] = await users(5);
		const ok = await create(o, { name: 'four',
			members: m.slice(0, 3).map((u) => u.email) });
		assert.equal(ok.status, 201, ok.text);
		assert.equal(ok.body.members.length, MEMBERS);
		// Repeats and the creator fold before counting.
		const ok2 = await create(o, { name: 'folded', members: [o.email,
			m[0].email, m[0].username, m[1].email] });
		assert.equal(ok2.status, 201, ok2.text);
		const s0 = await state([o, ...m]);
		const r = await create(o, { name: 'five',
			members: m.map((u) => u.email) });
		assert.equal(r.status, 422, r.text);
		assert.deepEqual(r.body.detail, [{ loc: ['body', 'members'],
			msg: `A room has at most ${MEMBERS} members, the creator ` +
			    `included, not ${MEMBERS + 1}`, type: 'value_error' }]);
		const r2 = await create(o, { name: 'long', members: [m[0].email,
			m[0].email, m[0].email, m[0].email, m[0].email] });
		assert.equal(r2.status, 422, r2.text);
		assert.equal(r2.body.detail[0].type, 'too_long');
		assert.equal(r2.body.detail[0].ctx.max_length, MEMBERS);
		assert.deepEqual(await state([o, ...m]), s0);
	});
});
