// SPDX-License-Identifier: ISC
// test-timeout: 90
//
// Bounds of docs/testing.md 4.3's list that no other test asserts: the parts
// count of an upload (upload_parts_max: at the bound 201, one over it and
// 10,000 parts 400, nothing stored, the worker alive), a 900 KB token in
// the Socket.IO auth payload (refused by the length cap, the daemon alive
// and serving), and nginx's fastcgi_read_timeout above the worst a worker
// may wait on SQLite with the default busy_timeout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { newUser } from './lib/api.mjs';
import { ALLOWED, uploadRaw } from './lib/media.mjs';
import { daemonPid, workers } from './lib/procs.mjs';
import { closeAll, connect, refused } from './lib/sio.mjs';

const PARTS = 16;
let st;
let a;
before(async () => {
	st = await startStack({ workers: 2, set: { upload_parts_max: PARTS,
		upload_burst: '100000', upload_rate: '1000', busy_timeout: null } });
	a = await newUser(st.url);
});
after(async () => {
	closeAll();
	await st?.stop();
});

describe('upload parts count', () => {
	// "n" parts: n - 1 text fields, then the file.
	const parts = (n) => [
		...Array.from({ length: n - 1 }, (_, i) => ({ name: `f${i}`,
			data: 'x' })),
		{ filename: 'x.png', data: ALLOWED.png.data },
	];
	const media = () => readdirSync(join(st.var, 'media'));

	test(`${PARTS} parts: 201; ${PARTS + 1} and 10,000: 400, nothing ` +
	    'stored', async () => {
		const w = workers(st).sort();
		const ok = await uploadRaw(st.url, a.token, parts(PARTS));
		assert.equal(ok.status, 201, ok.text);
		const files = media();
		const rows = st.sql('SELECT count(*) FROM media;');
		for (const n of [PARTS + 1, 10000]) {
			const r = await uploadRaw(st.url, a.token, parts(n));
			assert.equal(r.status, 400, `${n}: ${r.text}`);
			assert.match(r.body?.detail, /too many parts/);
		}
		assert.deepEqual(media(), files);
		assert.equal(st.sql('SELECT count(*) FROM media;'), rows);
		assert.deepEqual(workers(st).sort(), w);
	});
});

describe('Socket.IO auth payload', () => {
	test('a 900 KB token: refused, the daemon keeps serving', async () => {
		const pid = daemonPid(st);
		const { err } = await refused(st.url,
		    { token: 'x'.repeat(900000) });
		assert.equal(err.message, 'unauthorized');
		const s = await connect(st.url, a);
		assert.ok(s.connected);
		assert.equal(daemonPid(st), pid);
	});
});

describe('timeouts', () => {
	test('fastcgi_read_timeout is above the default busy_timeout wait',
	    () => {
		const conf = readFileSync(join(st.var, 'run/nginx.conf'), 'utf8');
		const m = conf.match(/fastcgi_read_timeout\s+(\d+)s;/);
		assert.ok(m, 'no fastcgi_read_timeout');
		const chat = readFileSync(join(st.var, 'run/chat.conf'), 'utf8');
		assert.doesNotMatch(chat, /^busy_timeout/m);
		// A request runs at most two write transactions (an upload's
		// rate token and its row), each waiting up to busy_timeout
		// (5 s by default).
		assert.ok(Number(m[1]) > 2 * 5, `${m[1]} s`);
	});
});
