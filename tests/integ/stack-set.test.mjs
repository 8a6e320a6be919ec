// SPDX-License-Identifier: ISC
// test-timeout: 180
//
// `make run` sets chat.conf keys without editing a file: CORS_ORIGINS sets
// cors_origins (a browser app on another origin), SET="key=value ..." any
// keys, a value running up to the next word that starts with "key=". The
// rendered var/run/chat.conf holds them as given (quotes and $ included)
// and the service acts on them; a malformed SET stops make run with a
// message before anything starts.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './lib/stack.mjs';
import { call, newRoom, newUser, post } from './lib/api.mjs';
import { cleanUp, describe, leftovers, makeRun, portFree }
	from './lib/makerun.mjs';
import { until } from './lib/sio.mjs';

const dirs = [];
const groups = [];
after(() => cleanUp(groups, dirs));

// `make run-stack` with the make variables "vars" on a fresh var directory
// and port.
async function run(vars) {
	const dir = realpathSync(mkdtempSync(join(tmpdir(), 'chat-set-')));
	dirs.push(dir);
	const port = await freePort();
	const r = await makeRun({ PORT: port, VAR: dir, ...vars });
	groups.push(r.pgid);
	return { ...r, var: dir, port, url: `http://127.0.0.1:${port}`,
		conf: () => readFileSync(join(dir, 'run/chat.conf'), 'utf8') };
}

async function stop(s) {
	process.kill(-s.pgid, 'SIGTERM');
	await until(async () => leftovers(s.var, [], s.pgid).length === 0 &&
	    await portFree(s.port), 30000, 'the stack to end',
	() => describe(leftovers(s.var, [], s.pgid)));
}

// The status of an Engine.IO handshake sent with Origin "origin".
const handshake = async (s, origin) => (await call(s.url, 'GET',
    '/socket.io/?EIO=4&transport=polling', { headers: { Origin: origin } }))
    .status;

test('CORS_ORIGINS lets a list of origins in, and only those', async () => {
	const s = await run({
		CORS_ORIGINS: 'http://localhost:5173 http://app.example:8080' });
	assert.match(s.output(), /chat: serving/);
	assert.equal(s.conf().match(/^cors_origins .*$/gm).join('\n'),
	    'cors_origins http://localhost:5173 http://app.example:8080');
	assert.equal(await handshake(s, 'http://localhost:5173'), 200);
	assert.equal(await handshake(s, 'http://app.example:8080'), 200);
	assert.equal(await handshake(s, 'http://evil.example'), 403);
	assert.equal(await handshake(s, 'http://localhost:5174'), 403);
	await stop(s);
});

test('SET sets several keys and a value with blanks', async () => {
	const s = await run({ SET: 'msg_burst=2 cors_origins=' +
	    'http://b.example:81  http://c.example msg_rate=0.001' });
	assert.match(s.output(), /chat: serving/);
	const conf = s.conf();
	for (const line of ['msg_burst 2', 'msg_rate 0.001',
		'cors_origins http://b.example:81 http://c.example'])
		assert.ok(conf.split('\n').includes(line),
		    `${line} in\n${conf}`);
	assert.equal(await handshake(s, 'http://b.example:81'), 200);
	assert.equal(await handshake(s, 'http://c.example'), 200);
	assert.equal(await handshake(s, 'http://a.example:81'), 403);
	// A burst of two messages, then (one per 1000 s) none.
	const a = await newUser(s.url);
	const room = await newRoom(s.url, a);
	const codes = [];
	for (let i = 0; i < 3; i++)
		codes.push((await post(s.url, a, room.id, `m${i}`)).status);
	assert.deepEqual(codes, [201, 201, 429]);
	await stop(s);
});

// Neither make nor a shell expands what SET carries: the stack sees the
// quotes and $ as typed, and refuses them as origins by their own text.
test('SET passes quotes and $ as typed', async () => {
	const s = await run({ SET: 'cors_origins=http://b.example "$HOME"' });
	const e = await s.exitedWithin(30000);
	assert.ok(e !== null, `the stack runs:\n${s.output()}`);
	assert.notEqual(e.code, 0);
	assert.match(s.output(), /stack: bad origin '"\$HOME"' in cors_origins/);
	assert.ok(!s.output().includes('chat: serving'));
	const t = await run({ SET: 'cors_origins=$(PORT)' });
	assert.ok(await t.exitedWithin(30000) !== null, t.output());
	assert.match(t.output(), /stack: bad origin '\$\(PORT\)' in cors_origins/);
	assert.ok(await portFree(s.port));
});

test('a SET without key= fails before anything starts', async () => {
	const s = await run({ SET: 'no-key-here' });
	const e = await s.exitedWithin(30000);
	assert.ok(e !== null, `the stack runs:\n${s.output()}`);
	assert.notEqual(e.code, 0);
	assert.match(s.output(), /stack: bad --set 'no-key-here'/);
	assert.ok(!s.output().includes('chat: serving'));
	assert.ok(await portFree(s.port));
});
