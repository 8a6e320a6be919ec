// SPDX-License-Identifier: ISC
//
// docs/api.md section 2, messages: posting (shape, content bounds, ignored
// fields), paging with limit/before/after and their 422s, and client_id
// idempotency. The room and its members are created through the API.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { RFC3339_MS, call, newRoom, newUser, post } from './lib/api.mjs';

let st;
let U;
let a;
let b;
before(async () => {
	st = await startStack();
	U = st.url;
	[a, b] = [await newUser(U), await newUser(U)];
});
after(async () => { await st?.stop(); });

const list = (user, roomId, query = '') => call(U, 'GET',
    `/chat/chat_rooms/${roomId}/messages${query}`, { token: user.token });

describe('post a message', () => {
	test('201 with the full message shape', async () => {
		const room = await newRoom(U, a, [b.email]);
		const t0 = Date.now();
		const r = await post(U, a, room.id, 'héllo wörld ✓');
		assert.equal(r.status, 201, r.text);
		const m = r.body;
		assert.deepEqual(Object.keys(m).sort(), ['client_id', 'content',
			'id', 'media_url', 'room_id', 'sender', 'sender_id',
			'sender_username', 'timestamp']);
		assert.match(m.id, /^\d+$/);
		assert.equal(m.room_id, room.id);
		assert.equal(m.sender, a.email);
		assert.equal(m.sender_id, a.id);
		assert.equal(m.sender_username, a.username);
		assert.equal(m.content, 'héllo wörld ✓');
		assert.equal(m.media_url, null);
		assert.equal(m.client_id, null);
		assert.match(m.timestamp, RFC3339_MS);
		assert.ok(Math.abs(Date.parse(m.timestamp) - t0) < 60000);
		const l = await list(b, room.id);
		assert.deepEqual(l.body, [m]);
	});

	test('sender and timestamp in the body are ignored', async () => {
		const room = await newRoom(U, a, [b.email]);
		const r = await post(U, a, room.id, 'x', { sender: b.email,
			sender_id: b.id, timestamp: '2000-01-01T00:00:00.000Z' });
		assert.equal(r.status, 201, r.text);
		assert.equal(r.body.sender, a.email);
		assert.equal(r.body.sender_id, a.id);
		assert.notEqual(r.body.timestamp, '2000-01-01T00:00:00.000Z');
	});

	test('ids increase across rooms', async () => {
		const r1 = await newRoom(U, a, []);
		const r2 = await newRoom(U, b, [a.email]);
		let last = 0n;
		for (let i = 0; i < 6; i++) {
			const m = await post(U, a, i % 2 ? r1.id : r2.id, `n${i}`);
			const id = BigInt(m.body.id);
			assert.ok(id > last);
			last = id;
		}
	});

	test('content bounds in characters', async () => {
		const room = await newRoom(U, a, []);
		for (const content of ['x', 'x'.repeat(4096), 'é'.repeat(4096),
			'😀'.repeat(4096)]) {
			const r = await post(U, a, room.id, content);
			assert.equal(r.status, 201, `${content.length}: ${r.text}`);
			assert.equal(r.body.content, content);
		}
		for (const content of ['', 'x'.repeat(4097), 'é'.repeat(4097),
			'😀'.repeat(4097)]) {
			const r = await post(U, a, room.id, content);
			assert.equal(r.status, 422, `${content.length}: ${r.text}`);
			assert.ok(Array.isArray(r.body?.detail));
		}
	});

	test('empty content is allowed with a media_url', async () => {
		// Upload arrives in a later issue: register a stored file the
		// way the upload route does, straight in the database.
		const name = `${randomBytes(16).toString('hex')}.png`;
		st.sql('INSERT INTO media (name, uploader_id, size, ' +
		    'content_type, created_at) VALUES ' +
		    `('${name}', ${Number(a.id)}, 1, 'image/png', 0);`);
		const room = await newRoom(U, a, []);
		const r = await post(U, a, room.id, '',
		    { media_url: `/media/${name}` });
		assert.equal(r.status, 201, r.text);
		assert.equal(r.body.media_url, `/media/${name}`);
		assert.equal(r.body.content, '');
	});

	test('a media_url that is not a stored upload: 422', async () => {
		const room = await newRoom(U, a, []);
		for (const media_url of ['https://evil.example/x.png',
			'/media/0123456789abcdef0123456789abcdef.png',
			'/media/../secret.key', 'javascript:alert(1)']) {
			const r = await post(U, a, room.id, 'x', { media_url });
			assert.equal(r.status, 422, `${media_url}: ${r.text}`);
		}
	});

	test('bad shapes: 422', async () => {
		const room = await newRoom(U, a, []);
		for (const json of [{}, { content: 5 }, { content: null },
			{ content: ['x'] }, { content: 'x', client_id: 5 },
			{ content: 'x', media_url: 7 }]) {
			const r = await call(U, 'POST',
			    `/chat/chat_rooms/${room.id}/messages`,
			    { token: a.token, json });
			assert.equal(r.status, 422, `${JSON.stringify(json)}: ${r.text}`);
		}
		assert.deepEqual((await list(a, room.id)).body, []);
	});

	test('SQL metacharacters are stored literally', async () => {
		const room = await newRoom(U, a, [b.email],
		    "r'); DROP TABLE rooms;--");
		const evil = ["' OR '1'='1", '1; DROP TABLE users;--', '%', '_',
			'\\', '"', '\u2019', 'a\'b"c`d'];
		for (const s of evil) {
			const r = await post(U, a, room.id, s);
			assert.equal(r.status, 201, r.text);
			assert.equal(r.body.content, s);
		}
		const l = await list(b, room.id);
		assert.deepEqual(l.body.map((m) => m.content), evil);
		const g = await call(U, 'GET', `/chat/chat_rooms/${room.id}`,
		    { token: b.token });
		assert.equal(g.body.name, "r'); DROP TABLE rooms;--");
		assert.equal((await call(U, 'GET', '/auth/users/me',
		    { token: a.token })).status, 200);
	});
});

describe('paging', () => {
	let room;
	let ids;
	before(async () => {
		room = await newRoom(U, a, [b.email]);
		ids = [];
		for (let i = 0; i < 120; i++)
			ids.push((await post(U, i % 3 ? a : b, room.id,
			    `p${i}`)).body.id);
	});
	const got = async (q) => {
		const r = await list(b, room.id, q);
		assert.equal(r.status, 200, `${q}: ${r.text}`);
		return r.body.map((m) => m.id);
	};

	test('no cursor: the newest 50, oldest first', async () => {
		assert.deepEqual(await got(''), ids.slice(70));
		assert.deepEqual(await got('?limit=10'), ids.slice(110));
		assert.deepEqual(await got('?limit=1'), ids.slice(119));
		assert.deepEqual(await got('?limit=100'), ids.slice(20));
	});

	test('before: the messages just older', async () => {
		assert.deepEqual(await got(`?before=${ids[60]}&limit=5`),
		    ids.slice(55, 60));
		assert.deepEqual(await got(`?before=${ids[3]}&limit=10`),
		    ids.slice(0, 3));
		assert.deepEqual(await got(`?before=${ids[0]}`), []);
		assert.deepEqual(await got(`?before=${ids[100]}`),
		    ids.slice(50, 100));
	});

	test('after: the messages just newer', async () => {
		assert.deepEqual(await got(`?after=${ids[60]}&limit=5`),
		    ids.slice(61, 66));
		assert.deepEqual(await got(`?after=${ids[116]}&limit=10`),
		    ids.slice(117));
		assert.deepEqual(await got(`?after=${ids[119]}`), []);
		assert.deepEqual(await got(`?after=${ids[9]}`), ids.slice(10, 60));
	});

	test('paging backwards visits every message once', async () => {
		let seen = await got('?limit=17');
		for (;;) {
			const page = await got(`?limit=17&before=${seen[0]}`);
			if (page.length === 0)
				break;
			seen = [...page, ...seen];
		}
		assert.deepEqual(seen, ids);
	});

	test('limit or cursor not an integer in range: 422', async () => {
		for (const q of ['?limit=0', '?limit=101', '?limit=-1',
			'?limit=abc', '?limit=1.5', '?limit=', '?limit=1e2',
			'?before=abc', '?after=abc', '?before=-5', '?after=1.5',
			'?before=', '?before=99999999999999999999999999999',
			'?limit=99999999999999999999999999999',
			'?before=0x10', '?limit=%00']) {
			const r = await list(b, room.id, q);
			assert.equal(r.status, 422, `${q}: ${r.text}`);
			assert.ok(Array.isArray(r.body?.detail), `${q}: ${r.text}`);
		}
	});

	test('the room view holds the same newest 50', async () => {
		const r = await call(U, 'GET', `/chat/chat_rooms/${room.id}`,
		    { token: a.token });
		assert.deepEqual(r.body.messages.map((m) => m.id), ids.slice(70));
	});
});

describe('client_id idempotency', () => {
	test('a repeat returns the first message with 200', async () => {
		const room = await newRoom(U, a, [b.email]);
		const r1 = await post(U, a, room.id, 'first', { client_id: 'c-1' });
		assert.equal(r1.status, 201, r1.text);
		assert.equal(r1.body.client_id, 'c-1');
		const r2 = await post(U, a, room.id, 'second', { client_id: 'c-1' });
		assert.equal(r2.status, 200, r2.text);
		assert.deepEqual(r2.body, r1.body);
		const l = await list(a, room.id);
		assert.equal(l.body.length, 1);
	});

	test('scoped to sender and room', async () => {
		const r1room = await newRoom(U, a, [b.email]);
		const r2room = await newRoom(U, a, [b.email]);
		const m1 = await post(U, a, r1room.id, 'x', { client_id: 'same' });
		const m2 = await post(U, b, r1room.id, 'x', { client_id: 'same' });
		const m3 = await post(U, a, r2room.id, 'x', { client_id: 'same' });
		for (const m of [m1, m2, m3])
			assert.equal(m.status, 201, m.text);
		assert.equal(new Set([m1.body.id, m2.body.id, m3.body.id]).size, 3);
	});

	test('concurrent repeats store one message', async () => {
		const room = await newRoom(U, a, []);
		const rs = await Promise.all(Array.from({ length: 8 }, () =>
		    post(U, a, room.id, 'race', { client_id: 'race-1' })));
		assert.equal(rs.filter((r) => r.status === 201).length, 1,
		    rs.map((r) => r.status).join());
		assert.ok(rs.every((r) => r.status === 201 || r.status === 200));
		assert.equal(new Set(rs.map((r) => r.body.id)).size, 1);
		assert.equal((await list(a, room.id)).body.length, 1);
	});
});
