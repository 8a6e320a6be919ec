// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// docs/testing.md 4.4 item 10 through nginx: slowhttptest's slowloris (headers
// never finished) on a REST route and its slow-body attack on
// /chat/upload_media, run together for 25 s with hundreds of connections,
// while a normal client keeps reading, posting and uploading. Every normal
// request must get its usual answer; the attackers must really have held
// connections (slowhttptest's CSV); nginx must have closed the slowloris
// ones by client_header_timeout; the workers and nginx must still be the
// same processes afterwards.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post } from './lib/api.mjs';
import { ALLOWED, upload } from './lib/media.mjs';
import { workers } from './lib/procs.mjs';

const SECONDS = 25;
let st;
let out;
before(async () => {
	st = await startStack({ workers: 2, set: { upload_burst: '100000',
		upload_rate: '1000' } });
	out = mkdtempSync(join(tmpdir(), 'chat-slow-'));
});
after(async () => {
	await st?.stop();
	rmSync(out, { recursive: true, force: true });
});

// Run slowhttptest with "args" plus a CSV report named "name"; resolves
// to { code, rows } with rows [{ seconds, closed, pending, connected }].
function slowhttptest(name, args) {
	return new Promise((res, rej) => {
		const p = spawn('slowhttptest', [...args, '-l', String(SECONDS),
			'-g', '-o', join(out, name)], { stdio: 'ignore' });
		p.on('error', rej);
		p.on('exit', (code) => {
			const csv = readFileSync(join(out, `${name}.csv`), 'utf8')
			    .trim().split('\n').slice(1);
			res({ code, rows: csv.map((l) => {
				const [seconds, closed, pending, connected] =
				    l.split(',').map(Number);
				return { seconds, closed, pending, connected };
			}) });
		});
	});
}

test('slowloris and slow body: normal clients are served', async (t) => {
	const U = st.url;
	const [a, b] = [await newUser(U), await newUser(U)];
	const room = await newRoom(U, a, [b.email]);
	const w0 = workers(st).sort();
	const nginxPid = readFileSync(join(st.var, 'run/nginx.pid'), 'utf8');

	const loris = slowhttptest('loris', ['-c', '500', '-H', '-i', '5',
		'-r', '200', '-t', 'GET', '-u', `${U}/chat/chat_rooms/`, '-x',
		'24', '-p', '3']);
	const body = slowhttptest('body', ['-c', '300', '-B', '-i', '5', '-r',
		'200', '-s', '8192', '-t', 'POST', '-u',
		`${U}/chat/upload_media/`, '-x', '10', '-p', '3']);
	let done = false;
	const both = Promise.all([loris, body]).finally(() => { done = true; });

	const bad = [];
	const seen = { get: 0, post: 0, upload: 0 };
	const check = (what, r, want) => {
		if (r.status === want)
			seen[what]++;
		else
			bad.push(`${what}: ${r.status} ${r.text}`);
	};
	while (!done) {
		check('get', await call(U, 'GET', '/chat/chat_rooms/',
		    { token: b.token }), 200);
		check('post', await post(U, a, room.id, 'still here'), 201);
		if (seen.get % 10 === 0)
			check('upload', await upload(U, a.token,
			    ALLOWED.png.data), 201);
		await new Promise((res) => setTimeout(res, 200));
	}
	const [l, bd] = await both;
	t.diagnostic(`normal requests: ${JSON.stringify(seen)}; slowloris ` +
	    `peak ${Math.max(...l.rows.map((r) => r.connected))} connected, ` +
	    `${l.rows.at(-1).closed} closed; slow body peak ` +
	    `${Math.max(...bd.rows.map((r) => r.connected))} connected`);
	assert.deepEqual(bad, []);
	assert.ok(seen.get >= 20 && seen.upload >= 2, JSON.stringify(seen));
	assert.equal(l.code, 0);
	assert.equal(bd.code, 0);
	assert.ok(Math.max(...l.rows.map((r) => r.connected)) >= 200,
	    'slowloris never held connections');
	assert.ok(Math.max(...bd.rows.map((r) => r.connected)) >= 100,
	    'slow body never held connections');
	assert.ok(l.rows.at(-1).closed >= 100,
	    'nginx did not time out slowloris connections');
	assert.deepEqual(workers(st).sort(), w0, 'a worker was replaced');
	assert.equal(readFileSync(join(st.var, 'run/nginx.pid'), 'utf8'),
	    nginxPid);
	assert.ok(st.alive());
});
