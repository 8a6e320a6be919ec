// SPDX-License-Identifier: ISC
// test-timeout: 240
//
// docs/testing.md 4.4 item 4, checkpoint starvation: a long-lived reader (the
// sqlite3 CLI inside BEGIN, holding its snapshot) keeps SQLite from
// copying the WAL back, so the -wal file grows past journal_size_limit
// while Socket.IO and REST writes go on; once the reader ends, the
// daemon's background checkpoint brings the file back under that bound,
// and no write fails meanwhile. Without a reader, the -wal file stays
// bounded under sustained writes of many times that size, also when the
// writers are workers that never pause (REST posts, 16 at a time, four
// workers): a PASSIVE checkpoint then never catches up, and until the
// checkpoints restarted the WAL the file grew by tens of MiB a second.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { newRoom, newUser, post } from './lib/api.mjs';
import { ack, closeAll, connect, until } from './lib/sio.mjs';

const LIMIT = 8 * 1024 * 1024; // DB_WAL_LIMIT, PRAGMA journal_size_limit
const CONTENT = 'w'.repeat(4000); // about one database page per message

const stacks = [];
after(async () => {
	closeAll();
	for (const st of stacks)
		await st.stop();
});

// Bytes of the stack's -wal file (0 when it is missing).
function walSize(st) {
	try {
		return statSync(join(st.var, 'chat.db-wal')).size;
	} catch {
		return 0;
	}
}

// A stack whose rate limits (messages, WebSocket frames) stay out of the
// way, a room, two writers.
async function setup() {
	const st = await startStack({ set: { msg_burst: '1000000',
		msg_rate: '1000000', ws_frame_burst: '1000000',
		ws_frame_rate: '1000000' }, workers: 2 });
	stacks.push(st);
	const [a, b] = [await newUser(st.url), await newUser(st.url)];
	const room = await newRoom(st.url, a, [b.email]);
	const sa = await connect(st.url, a);
	return { st, a, b, room, sa };
}

// "n" acked chat_message from "s", 100 in flight; the failed acks.
async function burst(s, room, n, tag) {
	const bad = [];
	for (let i = 0; i < n; i += 100) {
		const rs = await Promise.all(Array.from(
		    { length: Math.min(100, n - i) }, (_, k) => ack(s,
			'chat_message', { room_id: room, content: CONTENT,
				client_id: `${tag}.${i + k}` }, 60000)));
		for (const r of rs)
			if (r?.status !== 'received')
				bad.push(JSON.stringify(r).slice(0, 200));
	}
	return bad;
}

// "n" REST posts by "u", 4 at a time; the failed ones.
async function rest(st, u, room, n, tag) {
	const bad = [];
	for (let i = 0; i < n; i += 4) {
		const rs = await Promise.all(Array.from({ length: 4 }, (_, k) =>
			post(st.url, u, room, CONTENT,
			    { client_id: `${tag}.${i + k}` })));
		for (const r of rs)
			if (r.status !== 201)
				bad.push(`${r.status} ${r.text.slice(0, 200)}`);
	}
	return bad;
}

// Hold a read transaction on "db" in the sqlite3 CLI until release().
async function holdSnapshot(db) {
	const p = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
	let out = '';
	p.stdout.on('data', (d) => { out += d; });
	p.stderr.on('data', (d) => { out += d; });
	const exited = new Promise((res) => p.on('exit', res));
	p.stdin.write('.timeout 10000\nBEGIN;\n' +
	    'SELECT \'reading \' || count(*) FROM messages;\n');
	await until(() => out.includes('reading'), 15000, 'the snapshot',
	    () => out);
	return async () => {
		p.stdin.end('COMMIT;\n');
		assert.equal(await exited, 0, out);
	};
}

describe('WAL checkpoints', () => {
	test('a long-lived reader: the WAL grows, then is cut back; no write '
	    + 'fails', async () => {
		const { st, a, b, room, sa } = await setup();
		const db = join(st.var, 'chat.db');
		const release = await holdSnapshot(db);
		let released = false;
		const bad = [];
		try {
			// ~20 MiB of frames the reader keeps from being copied.
			const [s1, r1] = await Promise.all([
				burst(sa, room.id, 4000, 'held'),
				rest(st, b, room.id, 400, 'held')]);
			bad.push(...s1, ...r1);
			assert.ok(walSize(st) > LIMIT,
			    `the WAL grew to ${walSize(st)} bytes only`);
			await release();
			released = true;
		} finally {
			if (!released)
				await release();
		}
		// Light writes go on while the checkpoint catches up.
		let n = 0;
		let tooBig = walSize(st);
		await until(async () => {
			bad.push(...await rest(st, a, room.id, 4, `after${n++}`));
			tooBig = walSize(st);
			return tooBig <= LIMIT;
		}, 60000, 'the WAL back under journal_size_limit',
		() => `${tooBig} bytes`);
		bad.push(...await burst(sa, room.id, 200, 'end'));
		assert.deepEqual(bad, []);
		assert.equal(st.sql('SELECT count(*) FROM messages;').trim(),
		    String(4000 + 400 + 4 * n + 200));
		assert.equal(st.sql('PRAGMA integrity_check;').trim(), 'ok');
	});

	test('no reader: the WAL stays bounded under sustained writes',
	    async () => {
		const { st, b, room, sa } = await setup();
		let most = 0;
		const bad = [];
		// ~50 MiB of WAL frames in all, sampled after every step.
		for (let i = 0; i < 25; i++) {
			const [s1, r1] = await Promise.all([
				burst(sa, room.id, 400, `s${i}`),
				rest(st, b, room.id, 40, `r${i}`)]);
			bad.push(...s1, ...r1);
			most = Math.max(most, walSize(st));
		}
		assert.deepEqual(bad, []);
		assert.equal(st.sql('SELECT count(*) FROM messages;').trim(),
		    String(25 * 440));
		assert.ok(most <= 2 * LIMIT, `the WAL reached ${most} bytes`);
		assert.ok(most > 0, 'the WAL was never seen');
	});

	test('REST writers that never pause: the WAL stays bounded',
	    async () => {
		const st = await startStack({ set: { msg_burst: '1000000',
			msg_rate: '1000000' }, workers: 4 });
		stacks.push(st);
		const u = await newUser(st.url);
		const room = await newRoom(st.url, u);
		const bad = [];
		let most = 0, n = 0;
		const watch = setInterval(() => {
			most = Math.max(most, walSize(st));
		}, 20);
		// 16 posters, each posting again as soon as it is answered.
		const end = Date.now() + 8000;
		await Promise.all(Array.from({ length: 16 }, async () => {
			while (Date.now() < end && bad.length < 10) {
				const r = await post(st.url, u, room.id, 'x');
				if (r.status !== 201)
					bad.push(`${r.status} ${r.text.slice(0, 200)}`);
				n++;
			}
		}));
		clearInterval(watch);
		most = Math.max(most, walSize(st));
		assert.deepEqual(bad, []);
		// About seven pages per post: 2 x journal_size_limit is some
		// 600 posts; fewer would say nothing about the bound.
		assert.ok(n > 1200, `only ${n} posts in 8 s`);
		assert.equal(st.sql('SELECT count(*) FROM messages;').trim(),
		    String(n));
		// Past DB_WAL_AUTO_PAGES (4000 pages, some 16 MiB with the frame
		// headers) a worker's commit restarts the WAL itself, while the
		// other writers add what they commit meanwhile.
		assert.ok(most <= 3 * LIMIT,
		    `the WAL reached ${most} bytes in ${n} posts`);
	});
});
