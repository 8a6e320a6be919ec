// SPDX-License-Identifier: ISC
// test-timeout: 150
//
// docs/testing.md 4.4 items 4 and 5 for the database: another process holding
// SQLite's write lock (BEGIN EXCLUSIVE in the sqlite3 CLI) longer than
// busy_timeout makes REST writes answer JSON 503 with Retry-After and the
// daemon's chat_message an error ack, never a hang, while reads go on (WAL)
// and everything recovers once the lock is gone; eight REST writers posting
// at once through nginx get no 5xx and every message is stored; and a
// database on a full tmpfs answers 507 JSON, keeps every acknowledged
// message, passes integrity_check and recovers once space is freed.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync }
    from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post } from './lib/api.mjs';
import { ack, closeAll, connect, until } from './lib/sio.mjs';
import { holdLock } from './lib/sqlitelock.mjs';

const stacks = [];
const cleanups = [];
after(async () => {
	closeAll();
	for (const st of stacks)
		await st.stop();
	for (const c of cleanups)
		c();
});

// A request that must finish (any status) within 30 s: a hang fails.
const bounded = (base, method, path, opts) => Promise.race([
	call(base, method, path, opts),
	new Promise((res, rej) => setTimeout(() => rej(new Error(
	    `${method} ${path} hung`)), 30000).unref()),
]);

// Run the sqlite3 CLI on database "db".
function sqlAt(db, stmt) {
	const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db, stmt],
	    { encoding: 'utf8' });
	assert.equal(r.status, 0, `sqlite3: ${r.stderr}`);
	return r.stdout.trim();
}

describe('SQLite busy', () => {
	test('a lock held past busy_timeout: 503 JSON, error ack, recovery',
	    async () => {
		const st = await startStack({ set: { busy_timeout: '500' },
			workers: 2 });
		stacks.push(st);
		const U = st.url;
		const [a, b] = [await newUser(U), await newUser(U)];
		const room = await newRoom(U, a, [b.email]);
		// Connected first, so that the push of "before" is one b gets
		// in any case, not one that a slow daemon may or may not send.
		const sa = await connect(U, a);
		const sb = await connect(U, b);
		const before = await post(U, a, room.id, 'before the lock');
		assert.equal(before.status, 201, before.text);
		await until(() => sb.rec.ids().includes(before.body.id), 20000,
		    'the push before the lock');

		const release = await holdLock(join(st.var, 'chat.db'));
		let released = false;
		try {
			for (const [path, json] of [
				[`/chat/chat_rooms/${room.id}/messages`,
					{ content: 'during the lock' }],
				['/chat/chat_rooms/', { name: 'r', members: [] }],
			]) {
				const r = await bounded(U, 'POST', path,
				    { token: a.token, json });
				assert.equal(r.status, 503, `${path}: ${r.text}`);
				// The worker's own 503 (lib/req.c), not nginx's
				// "Service unavailable" for a 502/504 upstream.
				assert.equal(r.body?.detail,
				    'Service temporarily unavailable', r.text);
				assert.ok(Number(r.headers.get('retry-after')) >= 1);
			}
			// Readers are not blocked by a writer in WAL mode.
			const l = await bounded(U, 'GET', `/chat/chat_rooms/` +
			    `${room.id}/messages`, { token: b.token });
			assert.equal(l.status, 200, l.text);
			assert.deepEqual(l.body.map((m) => m.id), [before.body.id]);
			const sr = await ack(sa, 'chat_message', { room_id: room.id,
				content: 'socket during the lock' }, 30000);
			assert.equal(sr.status, 'error', JSON.stringify(sr));
			assert.equal(sr.detail, 'Service temporarily unavailable');
			await release();
			released = true;
		} finally {
			if (!released)
				await release();
		}
		assert.equal(st.sql('SELECT count(*) FROM messages;').trim(), '1');
		const r = await post(U, a, room.id, 'after the lock');
		assert.equal(r.status, 201, r.text);
		const sr = await ack(sa, 'chat_message', { room_id: room.id,
			content: 'socket after the lock' });
		assert.equal(sr.status, 'received', JSON.stringify(sr));
		await until(() => sb.rec.ids().includes(sr.message.id), 20000,
		    'the push after the lock');
		assert.deepEqual(sb.rec.ids(), [before.body.id, r.body.id,
			sr.message.id]);
	});

	// docs/testing.md 4.3: fastcgi_read_timeout above the worst-case
	// handler, POST /auth/login: three write transactions that may each
	// wait busy_timeout for the lock. Rendered by tools/stack from
	// chat.conf.
	test('nginx waits longer than the slowest handler may take',
	    async () => {
		for (const busy of [60000, 5000]) {
			const st = await startStack({
				set: { busy_timeout: String(busy) }, workers: 2 });
			stacks.push(st);
			const conf = readFileSync(join(st.var, 'run',
			    'nginx.conf'), 'utf8');
			for (const k of ['fastcgi_read_timeout',
				'fastcgi_send_timeout']) {
				const m = conf.match(new RegExp(
				    `\\b${k} (\\d+)s;`));
				assert.ok(m, `${k} missing`);
				assert.ok(Number(m[1]) * 1000 > 3 * busy,
				    `${k} ${m[1]}s <= 3 x ${busy} ms`);
			}
			// The stack serves with that configuration.
			const u = await newUser(st.url);
			const me = await call(st.url, 'GET', '/auth/users/me',
			    { token: u.token });
			assert.equal(me.status, 200, me.text);
			await st.stop();
			stacks.splice(stacks.indexOf(st), 1);
		}
	});

	test('8 REST writers x 100 messages at once: no 5xx, all stored',
	    async () => {
		const st = await startStack();
		stacks.push(st);
		const U = st.url;
		const users = [];
		for (let i = 0; i < 8; i++)
			users.push(await newUser(U));
		const room = await newRoom(U, users[0],
		    users.slice(1).map((u) => u.email));
		const bad = [];
		const ids = [];
		await Promise.all(users.map(async (u, k) => {
			for (let i = 0; i < 100; i++) {
				const r = await post(U, u, room.id, `w${k}.${i}`,
				    { client_id: `w${k}.${i}` });
				if (r.status === 201)
					ids.push(r.body.id);
				else
					bad.push(`${r.status} ${r.text}`);
			}
		}));
		assert.deepEqual(bad, []);
		assert.equal(new Set(ids).size, 800);
		assert.equal(st.sql('SELECT count(*) FROM messages WHERE ' +
		    `room_id = ${room.id};`).trim(), '800');
		assert.equal(st.sql('SELECT count(DISTINCT sender_id) || \' \' ' +
		    '|| min(c) || \' \' || max(c) FROM (SELECT sender_id, ' +
		    'count(*) AS c FROM messages GROUP BY sender_id);').trim(),
		'8 100 100');
	});
});

describe('database disk full', () => {
	test('507 JSON, nothing acknowledged lost, intact, recovers',
	    async (t) => {
		const mnt = mkdtempSync(join(tmpdir(), 'chat-dbfull-'));
		const m = spawnSync('mount', ['-t', 'tmpfs', '-o',
			'size=512k,mode=0750', 'tmpfs', mnt], { encoding: 'utf8' });
		assert.equal(m.status, 0, `mount: ${m.stderr}`);
		cleanups.push(() => {
			spawnSync('umount', [mnt]);
			rmdirSync(mnt);
		});
		const db = join(mnt, 'chat.db');
		const st = await startStack({ set: { database: db }, workers: 2 });
		stacks.push(st);
		const U = st.url;
		const [a, b] = [await newUser(U), await newUser(U)];
		const room = await newRoom(U, a, [b.email]);
		const sa = await connect(U, a);
		const acked = [];
		for (let i = 0; i < 5; i++) {
			const r = await post(U, a, room.id, `ok ${i}`);
			assert.equal(r.status, 201, r.text);
			acked.push(r.body.id);
		}
		// Fill the tmpfs to the last block.
		const filler = join(mnt, 'filler');
		for (let n = 512 * 1024; n >= 512; n >>= 1) {
			try {
				writeFileSync(filler, Buffer.alloc(n), { flag: 'a' });
			} catch (e) {
				assert.equal(e.code, 'ENOSPC');
			}
		}
		// The WAL may still have room for a few pages: post until the
		// disk refuses, with 4 KiB messages.
		let full;
		const other = [];
		for (let i = 0; i < 300 && full === undefined; i++) {
			const r = await bounded(U, 'POST', `/chat/chat_rooms/` +
			    `${room.id}/messages`, { token: a.token,
				json: { content: `${i} `.padEnd(4000, 'x') } });
			if (r.status === 201)
				acked.push(r.body.id);
			else if (r.status === 507)
				full = r;
			else
				other.push(`${r.status} ${r.text}`);
		}
		assert.deepEqual(other, []);
		assert.ok(full, 'never 507');
		t.diagnostic(`507 after ${acked.length - 5} more messages`);
		assert.deepEqual(full.body, { detail: 'Insufficient storage' });
		const sr = await ack(sa, 'chat_message', { room_id: room.id,
			content: 'y'.repeat(4000) });
		assert.equal(sr.status, 'error', JSON.stringify(sr));
		assert.equal(sr.detail, 'Insufficient storage');
		// Reads still work, and nothing acknowledged is missing.
		const l = await bounded(U, 'GET', `/chat/chat_rooms/${room.id}` +
		    '/messages?limit=100', { token: b.token });
		assert.equal(l.status, 200, l.text);
		assert.deepEqual(l.body.map((x) => x.id), acked);
		assert.equal(sqlAt(db, 'PRAGMA integrity_check;'), 'ok');
		rmSync(filler);
		assert.equal(sqlAt(db, 'PRAGMA integrity_check;'), 'ok');
		const ok = await post(U, a, room.id, 'space again');
		assert.equal(ok.status, 201, ok.text);
		const sr2 = await ack(sa, 'chat_message', { room_id: room.id,
			content: 'socket space again' });
		assert.equal(sr2.status, 'received', JSON.stringify(sr2));
		assert.equal(sqlAt(db, 'SELECT count(*) FROM messages;'),
		    String(acked.length + 2));
	});
});
