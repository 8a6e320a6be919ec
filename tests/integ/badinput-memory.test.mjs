// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// docs/testing.md 4.3's "never ... memory growth" under bad input: two equal
// barrages of bad handshakes, bad frames, bad Engine.IO and Socket.IO
// packets straight at the push daemon (push_listen_tcp) and of bad REST
// bodies through nginx at a single worker. The first barrage warms the
// allocator's pools; between the end of the first and the end of the
// second, the VmRSS of the daemon and of the worker must not grow past a
// generous bound, and both must still be the same processes, serving.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freePort, startStack } from './lib/stack.mjs';
import { call, newRoom, newUser } from './lib/api.mjs';
import { daemonPid, workers } from './lib/procs.mjs';
import { Raw, closeFrame, frame, upgradeRequest } from './lib/rawws.mjs';

const ROUNDS = 50;  // rounds per barrage
const WIDTH = 3;    // copies of each bad input in flight per round
const BOUND = 2 * 1024;      // KiB of VmRSS growth allowed per process

let st;
let a;
let room;
let t;
before(async () => {
	// Under ASan, freed memory waits in a quarantine (256 MiB) before
	// reuse, which would read as growth here: none for this stack. Other
	// builds ignore the variable.
	process.env.ASAN_OPTIONS = [process.env.ASAN_OPTIONS,
		'quarantine_size_mb=0:thread_local_quarantine_size_kb=0']
		.filter(Boolean).join(':');
	const port = await freePort();
	st = await startStack({ workers: 1,
		set: { push_listen_tcp: `127.0.0.1:${port}` } });
	t = { host: '127.0.0.1', port };
	a = await newUser(st.url);
	room = await newRoom(st.url, a, []);
});
after(async () => { await st?.stop(); });

const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// Write "bytes" on a fresh connection and wait until the daemon ends it.
async function once(bytes) {
	const r = new Raw(t);
	r.write(bytes);
	await r.closed(10000);
	r.destroy();
}

const up = () => Buffer.from(upgradeRequest(t));
const auth = () => frame(1, `40${JSON.stringify({ token: a.token })}`);
const bad = [
	// Handshakes.
	() => upgradeRequest(t, { headers: { 'Sec-WebSocket-Key': 'abc' } }),
	() => upgradeRequest(t, { headers: { 'Sec-WebSocket-Version': '8' } }),
	() => upgradeRequest(t, { headers: { Origin: 'http://evil' } }),
	() => upgradeRequest(t, { path: '/socket.io/?EIO=3&transport=' +
	    'websocket' }),
	() => 'GET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\n' +
	    'Host: x\r\nConnection: close\r\n\r\n',
	() => `GET /${'x'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
	// Frames.
	() => Buffer.concat([up(), frame(1, '4', { rsv: 1 })]),
	() => Buffer.concat([up(), frame(1, '40', { mask: false })]),
	() => Buffer.concat([up(), frame(1, Buffer.from([0x34, 0xc0]))]),
	() => Buffer.concat([up(), frame(1, 'x'.repeat(200), { fin: false }),
		frame(1, 'y')]),
	() => Buffer.concat([up(), closeFrame(999)]),
	() => Buffer.concat([up(), frame(1, '4', { len: 1n << 62n })]),
	// Engine.IO.
	() => Buffer.concat([up(), frame(1, '9')]),
	() => Buffer.concat([up(), frame(1, '2')]),
	() => Buffer.concat([up(), frame(1, 'bAAAA')]),
	// Socket.IO, connected first.
	() => Buffer.concat([up(), auth(), frame(1, '42[1]')]),
	() => Buffer.concat([up(), auth(),
		frame(1, '451-["chat_message",{"_placeholder":true,' +
		    '"num":"splice"}]')]),
	() => Buffer.concat([up(), auth(),
		frame(1, '452-["chat_message",{"_placeholder":true,"num":0}]'),
		frame(2, 'x'), frame(1, '42["x"]')]),
	() => Buffer.concat([up(), auth(), frame(1, `42["x",${'['.repeat(5000)}${
		']'.repeat(5000)}]`)]),
	() => Buffer.concat([up(), frame(1, '40"abc"')]),
];

const restBad = [
	'{', '{"content":"x"} trailing', '[]', '{"content":"a","content":"b"}',
	`{"content":${'['.repeat(3000)}${']'.repeat(3000)}}`,
	'{"content":"\\ud800"}', '{"content":123456789012345678901234567890}',
	Buffer.from([0x7b, 0x22, 0x63, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]),
];

async function barrage() {
	for (let i = 0; i < ROUNDS; i++) {
		await Promise.all(Array.from({ length: WIDTH },
		    () => bad.map((f) => once(f()))).flat());
		await Promise.all(restBad.map(async (body) => {
			const r = await call(st.url, 'POST',
			    `/chat/chat_rooms/${room.id}/messages`,
			    { token: a.token, body, type: 'application/json' });
			assert.ok(r.status >= 400 && r.status < 500, `${r.status}`);
		}));
	}
}

test('two equal barrages of bad input: no RSS growth in the second',
    async (tc) => {
		const dpid = daemonPid(st);
		const [wpid] = workers(st);
		await barrage();
		const d1 = rss(dpid);
		const w1 = rss(wpid);
		await barrage();
		const d2 = rss(dpid);
		const w2 = rss(wpid);
		tc.diagnostic(`VmRSS KiB: daemon ${d1} -> ${d2}, worker ${w1} -> ${
		    w2}`);
		assert.equal(daemonPid(st), dpid, 'the daemon was replaced');
		assert.deepEqual(workers(st), [wpid], 'the worker was replaced');
		assert.ok(d2 - d1 <= BOUND, `daemon VmRSS ${d1} -> ${d2} KiB`);
		assert.ok(w2 - w1 <= BOUND, `worker VmRSS ${w1} -> ${w2} KiB`);
		const r = await call(st.url, 'POST',
		    `/chat/chat_rooms/${room.id}/messages`,
		    { token: a.token, json: { content: 'still here' } });
		assert.equal(r.status, 201, r.text);
	});
