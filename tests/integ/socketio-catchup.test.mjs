// SPDX-License-Identifier: ISC
//
// docs/api.md section 4, catch-up through nginx with catchup_max set to 5: a
// client connecting with auth.last_message_id receives the messages of its
// rooms it missed as chat_response, oldest first, then one catch_up event
// {"complete","last_message_id"}, then live messages, none missing or
// repeated; past the cap it pages the rest over REST with "after".

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post } from './lib/api.mjs';
import { closeAll, connect, until } from './lib/sio.mjs';

const CAP = 5;
let st;
let U;
let a;
let b;
let c;
let r1;		// a, b
let r2;		// a, b
let r3;		// a, c: b must never see these
before(async () => {
	st = await startStack({ set: { catchup_max: CAP } });
	U = st.url;
	[a, b, c] = [await newUser(U), await newUser(U), await newUser(U)];
	r1 = await newRoom(U, a, [b.email]);
	r2 = await newRoom(U, b, [a.email]);
	r3 = await newRoom(U, a, [c.email]);
});
after(async () => {
	closeAll();
	await st?.stop();
});

// Post "n" messages alternating between r1 and r2 (and one into r3 each
// time); resolves to the r1/r2 messages in id order.
async function postMany(n, tag) {
	const out = [];
	for (let i = 0; i < n; i++) {
		const r = await post(U, a, i % 2 ? r2.id : r1.id, `${tag} ${i}`);
		assert.equal(r.status, 201, r.text);
		out.push(r.body);
		assert.equal((await post(U, a, r3.id, `${tag} hidden ${i}`))
		    .status, 201);
	}
	return out;
}

// The newest message id b can see right now.
async function newestFor(user) {
	let best = 0n;
	for (const room of [r1, r2]) {
		const l = await call(U, 'GET', `/chat/chat_rooms/${room.id}` +
		    '/messages?limit=1', { token: user.token });
		for (const m of l.body)
			if (BigInt(m.id) > best)
				best = BigInt(m.id);
	}
	return String(best);
}

// The events of socket "s" that matter here, as compact strings.
const trace = (s) => s.rec.all.filter((e) => e.ev === 'chat_response' ||
	e.ev === 'catch_up').map((e) => (e.ev === 'catch_up' ?
	`catch_up:${e.args[0]?.complete}:${e.args[0]?.last_message_id}` :
	`m:${e.args[0]?.message?.id}`));

describe('catch-up', () => {
	test('missed messages oldest first, then catch_up complete', async () => {
		const last = await newestFor(b);
		const missed = await postMany(3, 'short');
		const s = await connect(U, b, { auth: { token: b.token,
			last_message_id: last } });
		await until(() => s.rec.of('catch_up').length > 0, 15000,
		    'catch_up', () => JSON.stringify(trace(s)));
		assert.deepEqual(trace(s), [...missed.map((m) => `m:${m.id}`),
			`catch_up:true:${missed.at(-1).id}`]);
		for (const [i, r] of s.rec.of('chat_response').entries())
			assert.deepEqual(r, { room_id: missed[i].room_id,
				message: missed[i] });
		// Then live messages, after the catch_up event.
		const live = await postMany(2, 'live');
		await until(() => s.rec.of('chat_response').length === 5, 15000,
		    'live messages', () => JSON.stringify(trace(s)));
		assert.deepEqual(trace(s).slice(4), live.map((m) => `m:${m.id}`));
		s.close();
	});

	test('past the cap: 5 messages, complete false, REST pages the rest',
	    async () => {
		const last = await newestFor(b);
		const missed = await postMany(8, 'long');
		const s = await connect(U, b, { transport: 'polling',
			auth: { token: b.token, last_message_id: last } });
		await until(() => s.rec.of('catch_up').length > 0, 15000,
		    'catch_up', () => JSON.stringify(trace(s)));
		const first = missed.slice(0, CAP);
		assert.deepEqual(trace(s), [...first.map((m) => `m:${m.id}`),
			`catch_up:false:${first.at(-1).id}`]);
		// The client pages each room over REST from that id.
		const upTo = s.rec.of('catch_up')[0].last_message_id;
		const rest = [];
		for (const room of [r1, r2]) {
			const l = await call(U, 'GET', `/chat/chat_rooms/${
			    room.id}/messages?after=${upTo}&limit=100`,
			{ token: b.token });
			assert.equal(l.status, 200, l.text);
			rest.push(...l.body);
		}
		rest.sort((x, y) => (BigInt(x.id) < BigInt(y.id) ? -1 : 1));
		assert.deepEqual(rest, missed.slice(CAP));
		const live = await postMany(1, 'live2');
		await until(() => s.rec.of('chat_response').length === CAP + 1,
		    15000, 'the live message', () => JSON.stringify(trace(s)));
		assert.equal(trace(s).at(-1), `m:${live[0].id}`);
		s.close();
	});

	test('nothing missed: catch_up complete and no chat_response',
	    async () => {
		const last = await newestFor(b);
		const s = await connect(U, b, { auth: { token: b.token,
			last_message_id: last } });
		const cu = await until(() => s.rec.of('catch_up')[0], 15000,
		    'catch_up');
		assert.equal(cu.complete, true);
		assert.deepEqual(Object.keys(cu).sort(),
		    ['complete', 'last_message_id']);
		assert.deepEqual(s.rec.of('chat_response'), []);
		const live = await postMany(1, 'live3');
		await until(() => s.rec.of('chat_response').length === 1, 15000,
		    'the live message');
		assert.equal(s.rec.of('chat_response')[0].message.id, live[0].id);
		s.close();
	});

	test('a connected socket sees no replay when another one catches up',
	    async () => {
		const watcher = await connect(U, b);
		const last = await newestFor(b);
		const missed = await postMany(2, 'w');
		const s = await connect(U, b, { auth: { token: b.token,
			last_message_id: last } });
		await until(() => s.rec.of('catch_up').length > 0, 15000,
		    'catch_up');
		const live = await postMany(1, 'w-live');
		await until(() => watcher.rec.ids().includes(live[0].id), 15000,
		    'the watcher gets the live message');
		assert.deepEqual(watcher.rec.ids(),
		    [...missed, ...live].map((m) => m.id));
		assert.deepEqual(watcher.rec.of('catch_up'), []);
		s.close();
		watcher.close();
	});
});
