// SPDX-License-Identifier: ISC
//
// docs/api.md section 4, chat over Socket.IO through nginx: chat_message with
// and without an acknowledgement, chat_response to every socket of every member
// (the sender's other sockets too) and to nobody else, error acks and the error
// event, the room/message aliases, client_id idempotency, REST posts pushed to
// sockets, rooms created while connected, 200 rapid messages arriving complete
// and in order, and the message rate limit shared by REST and Socket.IO, and a
// burst fanned out to 40 sockets (more than one busy flush, so later flushes
// are paced) arriving complete and in order at each.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { RFC3339_MS, call, newRoom, newUser, post } from './lib/api.mjs';
import { ack, closeAll, connect, gotIds, responses, until } from
    './lib/sio.mjs';

const MSG_KEYS = ['client_id', 'content', 'id', 'media_url', 'room_id',
	'sender', 'sender_id', 'sender_username', 'timestamp'];

let st;
let U;
let a;
let b;
let c;
let room;	// a, b
let side;	// a, c: its messages are barriers for c
let a1;		// a over WebSocket
let a2;		// a over polling
let b1;		// b, upgrading
let c1;		// c, not a member of "room"
before(async () => {
	st = await startStack();
	U = st.url;
	[a, b, c] = [await newUser(U), await newUser(U), await newUser(U)];
	room = await newRoom(U, a, [b.email]);
	side = await newRoom(U, a, [c.email]);
	a1 = await connect(U, a, { transport: 'websocket' });
	a2 = await connect(U, a, { transport: 'polling' });
	b1 = await connect(U, b, { transport: 'upgrade' });
	c1 = await connect(U, c, { transport: 'websocket' });
});
after(async () => {
	closeAll();
	await st?.stop();
});

const text = () => `m ${randomBytes(6).toString('hex')}`;
const list = (user, roomId, q = '') => call(U, 'GET',
    `/chat/chat_rooms/${roomId}/messages${q}`, { token: user.token });

// Post into "side" over REST and wait until c1 and a1 have it: every
// message of a lower id meant for them has arrived by then, since the
// daemon pushes in id order over one ordered connection.
async function barrier() {
	const r = await post(U, a, side.id, 'barrier');
	assert.equal(r.status, 201, r.text);
	await gotIds(c1, [r.body.id]);
	await gotIds(a1, [r.body.id]);
	return r.body;
}

describe('chat_message with an acknowledgement', () => {
	test('ack {"status":"received","message"} with the full message',
	    async () => {
		const content = text();
		const t0 = Date.now();
		const r = await ack(a1, 'chat_message', { room_id: room.id,
			content });
		assert.equal(r.status, 'received', JSON.stringify(r));
		assert.deepEqual(Object.keys(r).sort(), ['message', 'status']);
		const m = r.message;
		assert.deepEqual(Object.keys(m).sort(), MSG_KEYS);
		assert.match(m.id, /^\d+$/);
		assert.equal(m.room_id, room.id);
		assert.equal(m.sender, a.email);
		assert.equal(m.sender_id, a.id);
		assert.equal(m.sender_username, a.username);
		assert.equal(m.content, content);
		assert.equal(m.media_url, null);
		assert.equal(m.client_id, null);
		assert.match(m.timestamp, RFC3339_MS);
		assert.ok(Math.abs(Date.parse(m.timestamp) - t0) < 60000);
		// Stored exactly as REST stores it.
		const l = await list(b, room.id, '?limit=1');
		assert.deepEqual(l.body, [m]);
	});

	test('every socket of every member gets chat_response, others none',
	    async () => {
		const r = await ack(a1, 'chat_message', { room_id: room.id,
			content: text() });
		assert.equal(r.status, 'received', JSON.stringify(r));
		const want = { room_id: room.id, message: r.message };
		for (const s of [a1, a2, b1]) {
			await gotIds(s, [r.message.id]);
			const got = responses(s, room.id).filter((x) =>
				x.message.id === r.message.id);
			assert.deepEqual(got, [want]);
		}
		await barrier();
		assert.deepEqual(responses(c1, room.id), []);
	});

	test('a second socket of the receiver gets it too', async () => {
		const b2 = await connect(U, b, { transport: 'polling' });
		const r = await ack(a2, 'chat_message', { room_id: room.id,
			content: text() });
		assert.equal(r.status, 'received', JSON.stringify(r));
		for (const s of [a1, a2, b1, b2])
			await gotIds(s, [r.message.id]);
		b2.close();
	});

	test('aliases "room" and "message"', async () => {
		const content = text();
		const r = await ack(b1, 'chat_message', { room: room.id,
			message: content });
		assert.equal(r.status, 'received', JSON.stringify(r));
		assert.equal(r.message.content, content);
		assert.equal(r.message.room_id, room.id);
		assert.equal(r.message.sender_id, b.id);
		await gotIds(a1, [r.message.id]);
	});

	test('media_url null is accepted like REST', async () => {
		const r = await ack(a1, 'chat_message', { room_id: room.id,
			content: 'with null media', media_url: null });
		assert.equal(r.status, 'received', JSON.stringify(r));
		assert.equal(r.message.media_url, null);
	});
});

describe('errors', () => {
	const isError = (r, what) => {
		assert.equal(r?.status, 'error', `${what}: ${JSON.stringify(r)}`);
		assert.equal(typeof r.detail, 'string', what);
		assert.ok(r.detail.length > 0, what);
	};

	test('a non-member sending: error ack, nothing stored or pushed',
	    async () => {
		const before = (await list(a, room.id)).body;
		const r = await ack(c1, 'chat_message', { room_id: room.id,
			content: 'intruder' });
		isError(r, 'non-member');
		assert.equal(r.message, undefined);
		await barrier();
		await gotIds(b1, [(await post(U, a, room.id, 'after')).body.id]);
		assert.ok(!b1.rec.of('chat_response').some((x) =>
			x.message.content === 'intruder'));
		const now = (await list(a, room.id)).body;
		assert.equal(now.length, before.length + 1);
		assert.ok(!now.some((m) => m.content === 'intruder'));
	});

	test('bad payloads: error ack each, and the socket stays usable',
	    async () => {
		const bad = {
			'unknown room': { room_id: '999999999', content: 'x' },
			'room id not digits': { room_id: 'abc', content: 'x' },
			'no room': { content: 'x' },
			'no content': { room_id: room.id },
			'empty content': { room_id: room.id, content: '' },
			'4097 characters': { room_id: room.id,
				content: 'x'.repeat(4097) },
			'content not a string': { room_id: room.id, content: 5 },
			'media_url not ours': { room_id: room.id, content: 'x',
				media_url: 'http://evil.example/x.png' },
			'client_id too long': { room_id: room.id, content: 'x',
				client_id: 'c'.repeat(65) },
			'a string payload': 'hello',
			'an array payload': [room.id, 'x'],
		};
		for (const [name, data] of Object.entries(bad))
			isError(await ack(a1, 'chat_message', data), name);
		const r = await ack(a1, 'chat_message', { room_id: room.id,
			content: 'x'.repeat(4096) });
		assert.equal(r.status, 'received', JSON.stringify(r));
	});

	test('without an ack callback errors come as the "error" event',
	    async () => {
		const n = c1.rec.of('error').length;
		c1.emit('chat_message', { room_id: room.id, content: 'no ack' });
		const e = await until(() => c1.rec.of('error')[n], 15000,
		    'the error event');
		assert.equal(typeof e.message, 'string', JSON.stringify(e));
		assert.ok(e.message.length > 0);
		c1.emit('chat_message', { room_id: side.id, content: '' });
		const e2 = await until(() => c1.rec.of('error')[n + 1], 15000,
		    'the second error event');
		assert.equal(typeof e2.message, 'string', JSON.stringify(e2));
		assert.ok(!(await list(a, room.id)).body.some((m) =>
			m.content === 'no ack'));
	});

	test('a good message without an ack is stored and pushed',
	    async () => {
		const content = text();
		const errs = a1.rec.of('error').length;
		a1.emit('chat_message', { room_id: room.id, content });
		const got = await until(() => responses(b1, room.id).find((x) =>
			x.message.content === content), 15000, 'the push');
		assert.equal(got.message.sender_id, a.id);
		assert.equal(a1.rec.of('error').length, errs);
	});
});

describe('client_id idempotency over the socket', () => {
	test('the same client_id twice: one message, one chat_response',
	    async () => {
		const cid = `cid-${randomBytes(6).toString('hex')}`;
		const m = { room_id: room.id, content: text(), client_id: cid };
		const r1 = await ack(a1, 'chat_message', m);
		const r2 = await ack(a1, 'chat_message', m);
		assert.equal(r1.status, 'received', JSON.stringify(r1));
		assert.equal(r2.status, 'received', JSON.stringify(r2));
		assert.equal(r1.message.client_id, cid);
		assert.deepEqual(r2.message, r1.message);
		// REST with the same client_id answers the same message.
		const r3 = await post(U, a, room.id, 'other text',
		    { client_id: cid });
		assert.equal(r3.status, 200, r3.text);
		assert.deepEqual(r3.body, r1.message);
		// A later message is a barrier for b1.
		const after = await ack(a1, 'chat_message', { room_id: room.id,
			content: text() });
		await gotIds(b1, [after.message.id]);
		assert.equal(b1.rec.ids().filter((id) =>
			id === r1.message.id).length, 1);
		const l = (await list(a, room.id, `?after=${
		    BigInt(r1.message.id) - 1n}`)).body;
		assert.equal(l.filter((x) => x.client_id === cid).length, 1);
	});

	test('the same client_id from another sender is another message',
	    async () => {
		const cid = `cid-${randomBytes(6).toString('hex')}`;
		const r1 = await ack(a1, 'chat_message', { room_id: room.id,
			content: 'from a', client_id: cid });
		const r2 = await ack(b1, 'chat_message', { room_id: room.id,
			content: 'from b', client_id: cid });
		assert.equal(r2.status, 'received', JSON.stringify(r2));
		assert.notEqual(r2.message.id, r1.message.id);
		assert.equal(r2.message.sender_id, b.id);
	});
});

describe('REST and rooms', () => {
	test('a REST post is pushed to every member socket', async () => {
		const r = await post(U, b, room.id, text());
		assert.equal(r.status, 201, r.text);
		for (const s of [a1, a2, b1]) {
			await gotIds(s, [r.body.id]);
			assert.deepEqual(responses(s, room.id).find((x) =>
				x.message.id === r.body.id),
			{ room_id: room.id, message: r.body });
		}
		await barrier();
		assert.ok(!c1.rec.ids().includes(r.body.id));
	});

	test('a room created while connected delivers at once', async () => {
		const fresh = await newRoom(U, a, [c.email]);
		const r = await post(U, a, fresh.id, 'first in the new room');
		assert.equal(r.status, 201, r.text);
		await gotIds(c1, [r.body.id]);
		await gotIds(a1, [r.body.id]);
		const s = await ack(c1, 'chat_message', { room_id: fresh.id,
			content: 'answer over the socket' });
		assert.equal(s.status, 'received', JSON.stringify(s));
		await gotIds(a2, [s.message.id]);
		// b is not a member of the new room.
		const bar = await post(U, a, room.id, 'barrier for b');
		await gotIds(b1, [bar.body.id]);
		assert.deepEqual(responses(b1, fresh.id), []);
	});

	test('a private chat created while connected delivers', async () => {
		const pc = await call(U, 'POST', '/chat/chat_rooms/',
		    { token: b.token, json: { name: 'pc', members: [c.email],
			is_private: true } });
		assert.ok([200, 201].includes(pc.status), pc.text);
		const r = await ack(b1, 'chat_message', { room_id: pc.body.id,
			content: 'private hello' });
		assert.equal(r.status, 'received', JSON.stringify(r));
		await gotIds(c1, [r.message.id]);
	});
});

describe('200 rapid messages from one sender', () => {
	test('arrive complete and in order at another member', async () => {
		const N = 200;
		const tag = randomBytes(3).toString('hex');
		const acks = [];
		for (let i = 0; i < N; i++)
			acks.push(ack(a1, 'chat_message', { room_id: room.id,
				content: `${tag} ${i}` }, 60000));
		const res = await Promise.all(acks);
		for (const [i, r] of res.entries()) {
			assert.equal(r.status, 'received', `${i}: ${
			    JSON.stringify(r)}`);
			assert.equal(r.message.content, `${tag} ${i}`);
		}
		const ids = res.map((r) => r.message.id);
		for (const s of [b1, a2]) {
			await gotIds(s, ids, 60000);
			const got = responses(s, room.id).filter((x) =>
				x.message.content.startsWith(`${tag} `));
			assert.deepEqual(got.map((x) => x.message.content),
			    res.map((r) => r.message.content));
			for (let i = 1; i < got.length; i++)
				assert.ok(BigInt(got[i].message.id) >
				    BigInt(got[i - 1].message.id), `order at ${i}`);
		}
	});
});

describe('a burst to 40 sockets of a member (paced flushes)', () => {
	test('every socket gets every message once, in order', async () => {
		const N = 60;
		const tag = randomBytes(3).toString('hex');
		const socks = [];
		for (let i = 0; i < 40; i++)
			socks.push(await connect(U, b, { transport: 'websocket' }));
		const acks = [];
		for (let i = 0; i < N; i++)
			acks.push(ack(a1, 'chat_message', { room_id: room.id,
				content: `${tag} ${i}` }, 60000));
		const res = await Promise.all(acks);
		const ids = res.map((r) => r.message.id);
		for (const s of socks) {
			await gotIds(s, ids, 60000);
			const got = responses(s, room.id).filter((x) =>
				x.message.content.startsWith(`${tag} `));
			assert.deepEqual(got.map((x) => x.message.id), ids);
		}
		for (const s of socks)
			s.close();
	});
});

describe('the message rate limit, REST and Socket.IO together', () => {
	let rl;
	before(async () => {
		rl = await startStack({ set: { msg_burst: 6, msg_rate: 0.01 } });
	});
	after(async () => {
		closeAll();
		await rl?.stop();
	});

	test('past the burst: "rate limited" ack, error event, REST 429',
	    async () => {
		const R = rl.url;
		const x = await newUser(R);
		const rm = await newRoom(R, x, []);
		const s = await connect(R, x);
		for (let i = 0; i < 3; i++) {
			const r = await ack(s, 'chat_message', { room_id: rm.id,
				content: `s${i}` });
			assert.equal(r.status, 'received', JSON.stringify(r));
		}
		for (let i = 0; i < 3; i++)
			assert.equal((await post(R, x, rm.id, `r${i}`)).status, 201);
		const r = await ack(s, 'chat_message', { room_id: rm.id,
			content: 'one too many' });
		assert.deepEqual(r, { status: 'error', detail: 'rate limited' });
		s.emit('chat_message', { room_id: rm.id, content: 'no ack' });
		const e = await until(() => s.rec.of('error')[0], 15000,
		    'the error event');
		assert.deepEqual(e, { message: 'rate limited' });
		const p = await post(R, x, rm.id, 'REST too');
		assert.equal(p.status, 429, p.text);
		const l = await call(R, 'GET', `/chat/chat_rooms/${rm.id}` +
		    '/messages', { token: x.token });
		assert.deepEqual(l.body.map((m) => m.content),
		    ['s0', 's1', 's2', 'r0', 'r1', 'r2']);
	});
});
