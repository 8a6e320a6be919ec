// SPDX-License-Identifier: ISC
// test-timeout: 180
//
// docs/testing.md 4.3, "Handshake" and "Frames", each case twice: through nginx
// and straight on the push daemon (push_listen_tcp). Handshakes with a
// missing or bad EIO, transport, sid, Sec-WebSocket-Key or version,
// without Upgrade or Connection, as POST or HTTP/1.0, or from a foreign
// Origin get the engine.io error answer; bad frames (Autobahn-style) get
// the RFC 6455 close code docs/testing.md names. After each case a stock
// Socket.IO client still chats through the same way in.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startStack } from './lib/stack.mjs';
import { newRoom, newUser } from './lib/api.mjs';
import { ack, closeAll, connect } from './lib/sio.mjs';
import { Raw, closeFrame, frame, openWs, upgradeRequest } from
	'./lib/rawws.mjs';

let st;
let a;
let room;
const T = {};
before(async () => {
	const port = await freePort();
	st = await startStack({ workers: 2,
		set: { push_listen_tcp: `127.0.0.1:${port}` } });
	T.nginx = { host: '127.0.0.1', port: st.port };
	T.direct = { host: '127.0.0.1', port };
	a = await newUser(st.url);
	room = await newRoom(st.url, a, []);
});
after(async () => {
	closeAll();
	await st?.stop();
});

const url = (t) => `http://127.0.0.1:${t.port}`;

// A new stock client through "t" chats: the daemon is still serving.
async function stillServing(t, what) {
	const s = await connect(url(t), a);
	const r = await ack(s, 'chat_message', { room_id: room.id,
		content: `alive after ${what}` });
	assert.equal(r?.status, 'received', `${what}: ${JSON.stringify(r)}`);
	s.close();
}

// The answer to the raw request "req" on "t".
async function ask(t, req) {
	const r = new Raw(t);
	r.write(req);
	const res = await r.response();
	r.destroy();
	return res;
}

const EIOERR = ['Transport unknown', 'Session ID unknown',
	'Bad handshake method', 'Bad request', 'Forbidden',
	'Unsupported protocol version'];

// "res" is the engine.io error answer "code" with HTTP "status".
function isEioError(res, status, code, what) {
	assert.equal(res.status, status, `${what}: ${JSON.stringify(res)}`);
	assert.deepEqual(JSON.parse(res.body), { code, message: EIOERR[code] },
	    what);
}

// One bad frame sequence on a fresh Engine.IO WebSocket: the close code.
async function closeCodeOf(t, bytes, opts = {}) {
	const r = await openWs(t, opts.sameSegment ? bytes : undefined);
	if (!opts.sameSegment)
		for (const b of [].concat(bytes))
			r.write(b);
	const code = await r.closed();
	r.destroy();
	return { code, r };
}

for (const via of ['nginx', 'direct']) {
	describe(`handshake (${via})`, () => {
		test('missing or invalid EIO, transport, sid: 400 engine.io ' +
		    'error', async () => {
			const t = T[via];
			const get = (q, m = 'GET') => `${m} /socket.io/${q} ` +
			    `HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\n` +
			    'Content-Length: 0\r\n\r\n';
			for (const [q, code, m] of [
				['?transport=polling', 5],
				['?EIO=3&transport=polling', 5],
				['?EIO=5&transport=polling', 5],
				['?EIO=x&transport=polling', 5],
				['?EIO=4', 0],
				['?EIO=4&transport=flashsocket', 0],
				['?EIO=4&transport=', 0],
				['', 0],
				['?EIO=4&transport=polling&sid=nope', 1],
				['?EIO=4&transport=polling&sid=', 1],
				[`?EIO=4&transport=polling&sid=${'A'.repeat(4000)}`, 1],
				// Longer than a query value may be (form.h).
				[`?EIO=4&transport=polling&sid=${'A'.repeat(5000)}`, 3],
				['?EIO=4&transport=polling&sid=nope', 1, 'POST'],
				['?EIO=4&transport=polling', 2, 'POST'],
				['?EIO=4&transport=websocket', 3],
				['?EIO=4&transport=polling&%zz', 3],
			])
				isEioError(await ask(t, get(q, m)), 400, code,
				    `${m ?? 'GET'} ${q.slice(0, 60)}`);
			await stillServing(t, 'bad query parameters');
		});

		test('WebSocket upgrade with an unknown sid: 400 "Session ID ' +
		    'unknown"', async () => {
			const t = T[via];
			isEioError(await ask(t, upgradeRequest(t, { path:
			    '/socket.io/?EIO=4&transport=websocket&sid=nope' })),
			400, 1, 'unknown sid upgrade');
		});

		test('Sec-WebSocket-Key not 16 bytes of base64: 400', async () => {
			const t = T[via];
			for (const key of ['', 'abc', 'dGhlIHNhbXBsZSBub25jZQ',
				'dGhlIHNhbXBsZSBub25jZQ===',
				'dGhlIHNhbXBsZSBub25jZSE=', 'dGhlIHNhbXBsZSBub25j!Q==',
				'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', null]) {
				const res = await ask(t, upgradeRequest(t,
				    { headers: { 'Sec-WebSocket-Key': key } }));
				assert.equal(res.status, 400, `key ${key}: ${
				    JSON.stringify(res)}`);
			}
			await stillServing(t, 'bad keys');
		});

		test('Sec-WebSocket-Version other than 13: 426 with ' +
		    'Sec-WebSocket-Version: 13', async () => {
			const t = T[via];
			for (const v of ['8', '12', '14', '', '13, 8', null]) {
				const res = await ask(t, upgradeRequest(t,
				    { headers: { 'Sec-WebSocket-Version': v } }));
				assert.equal(res.status, 426, `version ${v}`);
				assert.equal(res.headers['sec-websocket-version'],
				    '13', `version ${v}`);
			}
			await stillServing(t, 'bad versions');
		});

		test('no Upgrade, no Connection, a POST upgrade, HTTP/1.0: 400',
		    async () => {
			const t = T[via];
			for (const [what, opts] of [
				['no Upgrade', { headers: { Upgrade: null } }],
				['Upgrade: h2c', { headers: { Upgrade: 'h2c' } }],
				['no Connection', { headers: { Connection: null } }],
				['Connection: keep-alive', { headers:
				    { Connection: 'keep-alive' } }],
				['POST', { method: 'POST', headers:
				    { 'Content-Length': '0' } }],
				['HTTP/1.0', { version: '1.0' }],
			]) {
				const r = new Raw(t);
				r.write(upgradeRequest(t, opts));
				const res = await r.response();
				r.destroy();
				assert.equal(res.status, 400, `${what}: ${
				    JSON.stringify(res)}`);
			}
			await stillServing(t, 'bad upgrades');
		});

		test('Origin not allowed: 403 (CSWSH)', async () => {
			const t = T[via];
			for (const o of ['http://evil.example', 'null',
				`http://127.0.0.1:${t.port}.evil.example`,
				'http://127.0.0.1', 'x'.repeat(300)]) {
				isEioError(await ask(t, upgradeRequest(t,
				    { headers: { Origin: o } })), 403, 4,
				`ws origin ${o.slice(0, 40)}`);
				isEioError(await ask(t, 'GET /socket.io/?EIO=4&' +
				    'transport=polling HTTP/1.1\r\nHost: ' +
				    `127.0.0.1:${t.port}\r\nOrigin: ${o}\r\n\r\n`),
				403, 4, `polling origin ${o.slice(0, 40)}`);
			}
			const ok = new Raw(t);
			ok.write(upgradeRequest(t, { headers:
			    { Origin: `http://127.0.0.1:${t.port}` } }));
			assert.equal(await ok.answered(), 101, 'own origin');
			ok.destroy();
		});
	});

	describe(`frames (${via})`, () => {
		test('unmasked client frame: 1002', async () => {
			const t = T[via];
			const { code } = await closeCodeOf(t,
			    frame(1, '40', { mask: false }));
			assert.equal(code, 1002);
		});

		test('RSV1/2/3 without an extension: 1002, also in the ' +
		    'upgrade\'s TCP segment (CVE-2022-21676)', async () => {
			const t = T[via];
			for (const rsv of [1, 2, 4, 7]) {
				const { code } = await closeCodeOf(t,
				    frame(1, '40', { rsv }));
				assert.equal(code, 1002, `rsv ${rsv}`);
				const r = new Raw(t);
				r.write(Buffer.concat([Buffer.from(
				    upgradeRequest(t)), frame(1, '40', { rsv })]));
				assert.equal(await r.answered(), 101);
				assert.equal(await r.closed(), 1002,
				    `rsv ${rsv} in the upgrade's segment`);
				r.destroy();
			}
			await stillServing(t, 'RSV bits');
		});

		test('opcodes 3-7 and 0xB-0xF: 1002', async () => {
			const t = T[via];
			for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
				const { code } = await closeCodeOf(t, frame(op, 'x'));
				assert.equal(code, 1002, `opcode ${op}`);
			}
		});

		test('ping with 126 bytes, or fragmented: 1002', async () => {
			const t = T[via];
			let { code } = await closeCodeOf(t,
			    frame(9, 'p'.repeat(126)));
			assert.equal(code, 1002, '126-byte ping');
			({ code } = await closeCodeOf(t,
			    frame(9, 'p', { fin: false })));
			assert.equal(code, 1002, 'fragmented ping');
			({ code } = await closeCodeOf(t,
			    frame(8, '', { fin: false })));
			assert.equal(code, 1002, 'fragmented close');
		});

		test('continuation with no start, new text mid-message: 1002',
		    async () => {
			const t = T[via];
			let { code } = await closeCodeOf(t, frame(0, '40'));
			assert.equal(code, 1002, 'continuation first');
			({ code } = await closeCodeOf(t, [frame(1, '4',
			    { fin: false }), frame(1, '0')]));
			assert.equal(code, 1002, 'text inside a message');
			({ code } = await closeCodeOf(t, [frame(1, '4',
			    { fin: false }), frame(2, '0')]));
			assert.equal(code, 1002, 'binary inside a message');
		});

		test('a ping between fragments is answered with a pong',
		    async () => {
			const t = T[via];
			const r = await openWs(t);
			r.write(frame(1, '4', { fin: false }));
			r.write(frame(9, 'between'));
			r.write(frame(0, '0'));
			const pong = await r.next((f) => f.op === 0xa);
			assert.equal(pong.payload.toString(), 'between');
			// The message around the ping arrived whole: "40"
			// is the Socket.IO CONNECT, answered 44 (no token).
			const m = await r.next((f) => f.op === 1 &&
			    /^4[04]/.test(f.payload.toString()));
			assert.match(m.payload.toString(), /^44\{"message":/);
			assert.equal(r.ended, false);
			r.destroy();
		});

		test('invalid UTF-8 in text: 1007, at once inside fragments',
		    async () => {
			const t = T[via];
			for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80],
				[0xf4, 0x90, 0x80, 0x80], [0xff], [0x80]]) {
				const { code } = await closeCodeOf(t,
				    frame(1, Buffer.from([0x34, ...bad])));
				assert.equal(code, 1007, `${bad}`);
			}
			// The first fragment is bad; the message never ends.
			const { code } = await closeCodeOf(t, frame(1,
			    Buffer.from([0x34, 0xc0, 0xaf]), { fin: false }));
			assert.equal(code, 1007, 'fail fast in a fragment');
			// A sequence cut at the end of the message.
			const cut = await closeCodeOf(t, [frame(1,
			    Buffer.from([0x34, 0xe2]), { fin: false }),
			frame(0, Buffer.from([0x82]))]);
			assert.equal(cut.code, 1007, 'truncated at the end');
		});

		test('close with a 1-byte payload or a bad code: 1002',
		    async () => {
			const t = T[via];
			const { code } = await closeCodeOf(t, frame(8, 'x'));
			assert.equal(code, 1002, '1-byte close');
			for (const c of [0, 999, 1004, 1005, 1006, 1015, 1016,
				1100, 2000, 2999, 5000, 65535]) {
				const res = await closeCodeOf(t, closeFrame(c));
				assert.equal(res.code, 1002, `close code ${c}`);
			}
			for (const c of [1000, 1001, 1003, 1011, 3000, 4999]) {
				const res = await closeCodeOf(t, closeFrame(c));
				assert.equal(res.code, c, `valid code ${c} echoed`);
			}
		});

		test('close reason not UTF-8: 1007', async () => {
			const t = T[via];
			const { code } = await closeCodeOf(t, closeFrame(1000,
			    Buffer.from([0x61, 0xc0, 0xaf])));
			assert.equal(code, 1007);
		});

		test('64-bit length with the MSB set: 1002; above maxPayload: ' +
		    '1009', async () => {
			const t = T[via];
			let { code } = await closeCodeOf(t, frame(1, '4',
			    { len: 1n << 63n }));
			assert.equal(code, 1002, 'MSB set');
			({ code } = await closeCodeOf(t, frame(1, '4',
			    { len: (1n << 63n) - 1n })));
			assert.equal(code, 1009, '2^63 - 1');
			({ code } = await closeCodeOf(t, frame(1, '4',
			    { len: 1000001 })));
			assert.equal(code, 1009, 'maxPayload + 1');
			// Fragments adding up past it.
			({ code } = await closeCodeOf(t, [frame(1,
			    'x'.repeat(600000), { fin: false }),
			frame(0, 'x'.repeat(600000))]));
			assert.equal(code, 1009, 'fragments past maxPayload');
			await stillServing(t, 'huge lengths');
		});

		test('the close code arrives even when the client sends on',
		    async () => {
			// Without a lingering close the daemon's close()
			// with unread input sends a reset, and the client's
			// kernel drops the close frame it had not read yet.
			const t = T[via];
			for (let i = 0; i < 40; i++) {
				const r = await openWs(t);
				r.write(frame(1, '4', { rsv: 1 }));
				for (let j = 0; j < 5; j++)
					r.write(frame(1, `42["x",${j}]`));
				assert.equal(await r.closed(), 1002, `round ${i}`);
				r.destroy();
			}
		});

		test('data after a close frame is ignored', async () => {
			const t = T[via];
			const { code, r } = await closeCodeOf(t, [
				Buffer.concat([closeFrame(1000),
					frame(1, '40', { mask: false }),
					frame(3, 'x'), Buffer.from('garbage')])]);
			assert.equal(code, 1000, 'the close is echoed, the rest ' +
			    'is not a protocol error');
			assert.deepEqual(r.frames.filter((f) => f.op !== 8)
			    .map((f) => f.payload.toString()[0]), ['0'],
			'nothing answered after the OPEN packet');
			await stillServing(t, 'data after close');
		});
	});
}
