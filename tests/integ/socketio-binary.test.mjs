// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// Binary events and acks (Socket.IO BINARY_EVENT/BINARY_ACK) with the stock
// socket.io-client, against `chat-pushd-test --test-socket PORT` (the
// conformance suite's application, tests/conformance/testapp.c: "message"
// comes back as "message-back", "message-with-ack" is acked with its
// arguments) on 127.0.0.1, over WebSocket, polling (binary as "b" + base64)
// and the upgrade. Every byte value, an empty Buffer, several attachments and
// attachments nested in objects and arrays must come back equal.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SRCDIR, freePort } from './lib/stack.mjs';
import { TRANSPORTS, until } from './lib/sio.mjs';
import { io } from 'socket.io-client';

const BIN = join(resolve(SRCDIR, process.env.CHAT_BUILD ?? 'build/default'),
    'chat-pushd-test');
let child;
let url;
let out = '';
const socks = [];

before(async () => {
	assert.ok(existsSync(BIN), `${BIN} not built`);
	for (let attempt = 0; ; attempt++) {
		const port = await freePort();
		out = '';
		child = spawn(BIN, ['--test-socket', String(port)],
		    { cwd: SRCDIR, stdio: ['ignore', 'pipe', 'pipe'] });
		child.stdout.on('data', (d) => { out += d; });
		child.stderr.on('data', (d) => { out += d; });
		const ok = await until(() => out.includes('listening') ||
		    child.exitCode !== null || child.signalCode !== null,
		    15000, 'the test mode to listen', () => out)
		    .then(() => out.includes('listening'));
		if (ok) {
			url = `http://127.0.0.1:${port}`;
			return;
		}
		if (attempt === 2)
			throw new Error(`chat-pushd-test --test-socket:\n${out}`);
	}
});

after(async () => {
	for (const s of socks)
		s.close();
	if (child === undefined || child.exitCode !== null)
		return;
	const exited = new Promise((res) => child.on('exit',
	    (code, sig) => res({ code, sig })));
	child.kill('SIGTERM');
	const e = await exited;
	assert.deepEqual(e, { code: 0, sig: null }, out);
	assert.doesNotMatch(out, /ERROR: \w+Sanitizer|runtime error:/);
});

// The test applications live in chat-pushd-test only: the production
// daemon refuses the test modes with its usage and serves nothing.
test('chat-pushd itself has no test modes', () => {
	const pushd = join(dirname(BIN), 'chat-pushd');
	for (const mode of ['--test-socket', '--test-echo']) {
		const r = spawnSync(pushd, [mode, '0'],
		    { encoding: 'utf8', timeout: 10000 });
		assert.equal(r.status, 2, r.stderr);
		assert.match(r.stderr, /usage: chat-pushd \[-nv\] -c file/);
		assert.doesNotMatch(r.stderr, /test-socket/);
	}
});

// A connected socket.io-client socket on transport "t" (a TRANSPORTS key).
async function connectTo(t) {
	const s = io(url, { transports: TRANSPORTS[t], upgrade: t === 'upgrade',
		forceNew: true, reconnection: false, timeout: 10000 });
	socks.push(s);
	await new Promise((res, rej) => {
		s.on('connect', res);
		s.on('connect_error', rej);
	});
	if (t === 'upgrade')
		await until(() => s.io.engine.transport.name === 'websocket',
		    10000, 'the upgrade');
	assert.equal(s.io.engine.transport.name,
	    t === 'polling' ? 'polling' : 'websocket');
	return s;
}

// Buffer, ArrayBuffer or typed array to a Buffer.
const buf = (x) => {
	assert.ok(Buffer.isBuffer(x) || x instanceof ArrayBuffer ||
	    ArrayBuffer.isView(x), `not binary: ${typeof x} ${x}`);
	return Buffer.from(x instanceof ArrayBuffer ? x : x.buffer
	    ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : x);
};

const ALL = Buffer.from([...Array(256).keys()]);

for (const t of Object.keys(TRANSPORTS)) {
	describe(`binary over ${t}`, () => {
		let s;
		before(async () => { s = await connectTo(t); });

		test('message with a Buffer comes back as message-back',
		    async () => {
			const got = new Promise((res) =>
				s.once('message-back', (...a) => res(a)));
			s.emit('message', ALL);
			const a = await got;
			assert.equal(a.length, 1);
			assert.deepEqual(buf(a[0]), ALL);
		});

		test('message-with-ack: the ack carries the Buffer back',
		    async () => {
			const b = randomBytes(1000);
			const a = await s.timeout(10000)
			    .emitWithAck('message-with-ack', b);
			assert.deepEqual(buf(a), b);
		});

		test('several attachments, nested, with an empty one',
		    async () => {
			const b1 = randomBytes(70000);
			const b2 = Buffer.alloc(0);
			const got = new Promise((res) =>
				s.once('message-back', (...a) => res(a)));
			s.emit('message', 'text', { x: b1, y: [1, b2] }, ALL);
			const a = await got;
			assert.equal(a.length, 3);
			assert.equal(a[0], 'text');
			assert.deepEqual(buf(a[1].x), b1);
			assert.equal(a[1].y[0], 1);
			assert.deepEqual(buf(a[1].y[1]), b2);
			assert.deepEqual(buf(a[2]), ALL);
			const k = await new Promise((res, rej) => s.timeout(10000)
			    .emit('message-with-ack', [b1], 'z', ALL,
				(err, ...r) => (err ? rej(err) : res(r))));
			assert.equal(k.length, 3);
			assert.deepEqual(buf(k[0][0]), b1);
			assert.equal(k[1], 'z');
			assert.deepEqual(buf(k[2]), ALL);
		});
	});
}
