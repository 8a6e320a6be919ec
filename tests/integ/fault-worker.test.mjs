// SPDX-License-Identifier: ISC
// test-timeout: 150
//
// docs/testing.md 4.4 item 1 (d): a FastCGI worker killed with SIGKILL at the
// fault points of lib/common/fault.h while it posts a message (before BEGIN, after
// the insert inside the transaction, after COMMIT before the bus hint) and
// while it writes an upload. Each time the client gets nginx's JSON 503,
// multiwatch starts a new worker, SQLite holds no half-written row and
// passes integrity_check, and a retry with the same client_id leaves exactly
// one message, which a connected Socket.IO member receives exactly once;
// after COMMIT the member gets it even though no hint was published (the
// daemon's safety poll of SQLite).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { newRoom, newUser, post } from './lib/api.mjs';
import { startFaultStack, workers, workersBack } from './lib/procs.mjs';
import { closeAll, connect, until } from './lib/sio.mjs';
import { ALLOWED, bigPng, upload } from './lib/media.mjs';

const stacks = [];
after(async () => {
	closeAll();
	for (const st of stacks)
		await st.stop();
});

// A two-worker stack crashing at "point", with a room of a and b and b's
// socket connected.
async function setup(point) {
	const st = await startFaultStack(point, { workers: 2 });
	stacks.push(st);
	const a = await newUser(st.url);
	const b = await newUser(st.url);
	const room = await newRoom(st.url, a, [b.email]);
	const sock = await connect(st.url, b);
	return { st, a, b, room, sock };
}

const rows = (st, cid) => st.sql('SELECT id, content FROM messages ' +
    `WHERE client_id = '${cid}';`).trim().split('\n').filter(Boolean);

// What every crash must leave: a JSON 503 with Retry-After, the dead worker
// replaced, an intact database.
async function crashed(st, r, before) {
	assert.equal(r.status, 503, r.text);
	assert.equal(r.body?.detail, 'Service unavailable');
	assert.ok(r.headers.get('retry-after'));
	assert.ok(st.fault.fired(), 'the fault point was not reached');
	const gone = before.filter((p) => !workers(st).includes(p));
	assert.equal(gone.length, 1, 'exactly one worker died');
	await workersBack(st, before.length, gone);
	assert.equal(st.sql('PRAGMA integrity_check;').trim(), 'ok');
}

describe('worker killed while posting a message', () => {
	for (const point of ['msg_before_begin', 'msg_before_commit']) {
		test(`${point}: no row, retry stores exactly one`, async () => {
			const { st, a, room, sock } = await setup(point);
			const w = workers(st);
			st.fault.arm();
			const r = await post(st.url, a, room.id, 'lost?',
			    { client_id: 'k1' });
			await crashed(st, r, w);
			assert.deepEqual(rows(st, 'k1'), [], 'half-written row');
			const again = await post(st.url, a, room.id, 'lost?',
			    { client_id: 'k1' });
			assert.equal(again.status, 201, again.text);
			const twice = await post(st.url, a, room.id, 'lost?',
			    { client_id: 'k1' });
			assert.equal(twice.status, 200, twice.text);
			assert.equal(twice.body.id, again.body.id);
			assert.deepEqual(rows(st, 'k1'),
			    [`${again.body.id}|lost?`]);
			await until(() => sock.rec.ids().includes(again.body.id),
			    20000, 'the push of the retried message');
			const later = await post(st.url, a, room.id, 'after');
			assert.equal(later.status, 201, later.text);
			await until(() => sock.rec.ids().includes(later.body.id),
			    20000, 'a later message');
			assert.deepEqual(sock.rec.ids(),
			    [again.body.id, later.body.id]);
		});
	}

	test('msg_after_commit: stored, pushed by the safety poll, retry ' +
	    'answers the same message', async () => {
		const { st, a, room, sock } = await setup('msg_after_commit');
		const w = workers(st);
		st.fault.arm();
		const r = await post(st.url, a, room.id, 'committed',
		    { client_id: 'k2' });
		await crashed(st, r, w);
		const stored = rows(st, 'k2');
		assert.equal(stored.length, 1, 'the commit was lost');
		const id = stored[0].split('|')[0];
		// No bus hint was sent: the daemon finds it in SQLite.
		await until(() => sock.rec.ids().includes(id), 20000,
		    'the push of a message whose hint was never sent');
		const again = await post(st.url, a, room.id, 'committed',
		    { client_id: 'k2' });
		assert.equal(again.status, 200, again.text);
		assert.equal(again.body.id, id);
		assert.equal(rows(st, 'k2').length, 1);
		const later = await post(st.url, a, room.id, 'after');
		assert.equal(later.status, 201, later.text);
		await until(() => sock.rec.ids().includes(later.body.id), 20000,
		    'a later message');
		assert.deepEqual(sock.rec.ids(), [id, later.body.id]);
	});
});

test('upload_mid_write: no media row, temp file swept, retry works',
    async () => {
	const st = await startFaultStack('upload_mid_write', { workers: 2 });
	stacks.push(st);
	const a = await newUser(st.url);
	const media = join(st.var, 'media');
	const w = workers(st);
	st.fault.arm();
	const r = await upload(st.url, a.token, bigPng(1 << 20, 7));
	await crashed(st, r, w);
	assert.equal(st.sql('SELECT count(*) FROM media;').trim(), '0');
	// The new worker's startup sweep removed the dead one's temp file.
	await until(() => readdirSync(media).length === 0, 10000,
	    'the temp file to be swept', () => `${readdirSync(media)}`);
	const ok = await upload(st.url, a.token, ALLOWED.png.data);
	assert.equal(ok.status, 201, ok.text);
	assert.equal(st.sql('SELECT count(*) FROM media;').trim(), '1');
	assert.equal(readdirSync(media).length, 1);
});
