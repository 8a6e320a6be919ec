// SPDX-License-Identifier: ISC
// test-timeout: 180
//
// docs/testing.md 4.3, "Engine.IO" and "Socket.IO" (the socket.io CVE shapes
// included), each case twice: through nginx and straight on the push
// daemon (push_listen_tcp), with raw bytes so that every answer is seen
// exactly: the engine.io error body, the Socket.IO error packet, or the
// session closed (a WebSocket close 1000, or "Session ID unknown" for the
// next poll), as the engine.io and socket.io servers answer. Nothing bad is
// ever stored or acknowledged, and a stock client still chats afterwards.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startStack } from './lib/stack.mjs';
import { call, newRoom, newUser } from './lib/api.mjs';
import { ack, closeAll, connect, until } from './lib/sio.mjs';
import { daemonPid, workers } from './lib/procs.mjs';
import { Raw, frame, openWs, upgradeRequest } from './lib/rawws.mjs';

let st;
let a;
let room;
let pid0;
let workers0;
const T = {};
before(async () => {
	const port = await freePort();
	st = await startStack({ workers: 2,
		set: { push_listen_tcp: `127.0.0.1:${port}` } });
	T.nginx = { host: '127.0.0.1', port: st.port };
	T.direct = { host: '127.0.0.1', port };
	a = await newUser(st.url);
	room = await newRoom(st.url, a, []);
	pid0 = daemonPid(st);
	workers0 = workers(st).sort();
});
after(async () => {
	closeAll();
	await st?.stop();
});

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const base = (t) => `http://127.0.0.1:${t.port}`;
const EP = '/socket.io/?EIO=4&transport=polling';

async function stillServing(t, what) {
	const s = await connect(base(t), a);
	const r = await ack(s, 'chat_message', { room_id: room.id,
		content: `alive after ${what}` });
	assert.equal(r?.status, 'received', `${what}: ${JSON.stringify(r)}`);
	s.close();
}

// The messages of the test room other than the "alive after" ones.
async function stored() {
	const r = await call(st.url, 'GET',
	    `/chat/chat_rooms/${room.id}/messages?limit=100`,
	    { token: a.token });
	return r.body.filter((m) => !m.content.startsWith('alive after'));
}

// A polling session on "t": its sid.
async function pollOpen(t) {
	const r = await call(base(t), 'GET', EP);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.text[0], '0');
	return JSON.parse(r.text.slice(1)).sid;
}

const poll = (t, sid, method = 'GET', body) => call(base(t), method,
    `${EP}&sid=${sid}`, { body, type: 'text/plain;charset=UTF-8' });

// The session "sid" is gone: a poll gets engine.io's "Session ID unknown".
async function gone(t, sid, what) {
	const r = await poll(t, sid);
	assert.equal(r.status, 400, `${what}: session still there: ${r.text}`);
	assert.deepEqual(r.body, { code: 1, message: 'Session ID unknown' },
	    what);
}

// Send text "s" (or Buffers as binary frames) on a fresh WebSocket
// session; resolves to the connection.
async function wsSend(t, ...msgs) {
	const r = await openWs(t);
	for (const m of msgs)
		r.write(Buffer.isBuffer(m) ? frame(2, m) : frame(1, m));
	return r;
}

// The session on "r" was ended by the server: close 1000 and no error
// packet, no ack before it.
async function endedByServer(r, what) {
	assert.equal(await r.closed(), 1000, what);
	assert.ok(!r.texts().some((m) => /^4[34]/.test(m)),
	    `${what}: ${r.texts()}`);
	r.destroy();
}

const ev = () => `["chat_message",${JSON.stringify({ room_id: room.id,
	content: 'must not be stored' })}]`;

for (const via of ['nginx', 'direct']) {
	describe(`Engine.IO (${via})`, () => {
		test('unknown packet type, empty packet, "b" with bad base64: ' +
		    'polling 400 and the session ends', async () => {
			const t = T[via];
			for (const body of ['9', 'x', '', 'b!!!!', 'bQQ=',
				'bQQ', 'bQ===', 'b====', 'b\x00AAA', '\x1e']) {
				const sid = await pollOpen(t);
				const r = await poll(t, sid, 'POST', body);
				assert.equal(r.status, 400, `${JSON.stringify(body)}: ${
				    r.text}`);
				assert.deepEqual(r.body, { code: 3,
					message: 'Bad request' });
				await gone(t, sid, JSON.stringify(body));
			}
			// "b" alone is an empty binary message: valid for
			// Engine.IO, out of place for Socket.IO, which ends it.
			const sid = await pollOpen(t);
			assert.equal((await poll(t, sid, 'POST', 'b')).status, 200);
			await gone(t, sid, '"b"');
			await stillServing(t, 'bad polling packets');
		});

		test('unknown packet type, empty packet, "b" packet on a ' +
		    'WebSocket: closed', async () => {
			const t = T[via];
			for (const m of ['9', 'x', '', 'bAAAA', '7', '8x'])
				await endedByServer(await wsSend(t, m),
				    JSON.stringify(m));
			await stillServing(t, 'bad WebSocket packets');
		});

		test('a client ping ("2") in v4: the session ends', async () => {
			const t = T[via];
			await endedByServer(await wsSend(t, '2'), 'ws ping');
			await endedByServer(await wsSend(t, '2probe'),
			    'ws 2probe on a WebSocket session');
			await endedByServer(await wsSend(t, '5'),
			    'ws upgrade on a WebSocket session');
			await endedByServer(await wsSend(t, '0'), 'ws open');
			const sid = await pollOpen(t);
			const r = await poll(t, sid, 'POST', '2');
			assert.ok(r.status === 200 || r.status === 400, r.text);
			await gone(t, sid, 'polling ping');
		});

		test('2probe and 5 out of order: the probe is closed 1002, ' +
		    'polling goes on', async () => {
			const t = T[via];
			const path = (sid) =>
			    `/socket.io/?EIO=4&transport=websocket&sid=${sid}`;
			for (const seq of [['5'], ['2probe', '2probe'],
				['2probe', '40'], ['3probe'], ['2probe', '6']]) {
				const sid = await pollOpen(t);
				const r = new Raw(t);
				r.write(upgradeRequest(t, { path: path(sid) }));
				assert.equal(await r.answered(), 101);
				for (const m of seq)
					r.write(frame(1, m));
				assert.equal(await r.closed(), 1002, `${seq}`);
				if (seq[0] === '2probe')
					assert.equal(r.texts()[0], '3probe');
				r.destroy();
				// The polling transport still works.
				const p = await poll(t, sid, 'POST',
				    `40${JSON.stringify({ token: a.token })}`);
				assert.equal(p.status, 200, p.text);
				const g = await poll(t, sid);
				assert.match(g.text, /(^|\x1e)40\{"sid":/, `${seq}`);
				await poll(t, sid, 'POST', '1');
			}
			// A second upgrade after a finished one is refused.
			const sid = await pollOpen(t);
			const w = new Raw(t);
			w.write(upgradeRequest(t, { path: path(sid) }));
			assert.equal(await w.answered(), 101);
			w.write(frame(1, '2probe'));
			await w.next((f) => f.payload.toString() === '3probe');
			w.write(frame(1, '5'));
			await sleep(100);
			const w2 = new Raw(t);
			w2.write(upgradeRequest(t, { path: path(sid) }));
			assert.equal(await w2.closed(), 1000, 'second upgrade');
			assert.equal(w.ended, false, 'the first stays');
			// Polling on an upgraded session: 400 "Bad request".
			const p = await poll(t, sid);
			assert.deepEqual(p.body, { code: 3,
				message: 'Bad request' });
			w.destroy();
			w2.destroy();
			await stillServing(t, 'upgrades out of order');
		});

		test('two concurrent GET polls on one sid: 400, the session ' +
		    'ends ("1" to the held one)', async () => {
			const t = T[via];
			const sid = await pollOpen(t);
			// Whichever reaches the daemon second is refused; the
			// one it holds is answered "1" (close).
			const both = await Promise.all([poll(t, sid),
				poll(t, sid)]);
			const [held, refused] = both[0].status === 400 ?
			    [both[1], both[0]] : both;
			assert.equal(refused.status, 400, refused.text);
			assert.deepEqual(refused.body, { code: 3,
				message: 'Bad request' });
			assert.equal(held.status, 200, held.text);
			assert.equal(held.text, '1');
			await gone(t, sid, 'two GETs');
		});

		test('a POST above maxHttpBufferSize: 413, the session ends',
		    async () => {
			const t = T[via];
			const sid = await pollOpen(t);
			const r = await poll(t, sid, 'POST', `4${'x'.repeat(1000000)}`);
			assert.equal(r.status, 413, r.text);
			await gone(t, sid, '413');
			await stillServing(t, 'a POST over the limit');
		});

		test('\\x1e-separated payload with empty records: 400, the ' +
		    'session ends', async () => {
			const t = T[via];
			for (const body of ['6\x1e\x1e6', '6\x1e', '\x1e6',
				'\x1e\x1e', `40${JSON.stringify({ token: a.token })
				}\x1e\x1e42${ev()}`]) {
				const sid = await pollOpen(t);
				const r = await poll(t, sid, 'POST', body);
				assert.equal(r.status, 400, JSON.stringify(body));
				assert.deepEqual(r.body, { code: 3,
					message: 'Bad request' });
				await gone(t, sid, JSON.stringify(body));
			}
			assert.deepEqual(await stored(), []);
			await stillServing(t, 'empty records');
		});
	});

	describe(`Socket.IO (${via})`, () => {
		const auth = () => JSON.stringify({ token: a.token });

		test('EVENT before CONNECT: ignored, then CONNECT works',
		    async () => {
			const t = T[via];
			const r = await wsSend(t, `42${ev()}`, `421${ev()}`,
			    '42["get_online_users",{}]');
			r.write(frame(1, `40${auth()}`));
			const m = await r.next((f) => /^4[04]/.test(
			    f.payload.toString()));
			assert.match(m.payload.toString(), /^40\{"sid":"[\w-]+"\}$/);
			// One connection keeps its order: an answer to the
			// events would have come before the CONNECT's (a
			// server ping aside).
			assert.deepEqual(r.texts().slice(1).filter((x) =>
			    x !== '2'), [m.payload.toString()], 'no answer');
			assert.equal(r.ended, false);
			r.destroy();
			assert.deepEqual(await stored(), []);
		});

		test('CONNECT to an unknown namespace: CONNECT_ERROR ' +
		    '"Invalid namespace"', async () => {
			const t = T[via];
			for (const nsp of ['/admin', '/x', `/${'n'.repeat(100)}`]) {
				const r = await wsSend(t, `40${nsp},${auth()}`);
				const m = await r.next((f) => /^4/.test(
				    f.payload.toString()));
				assert.equal(m.payload.toString(), `44${nsp},` +
				    '{"message":"Invalid namespace"}');
				// The connection stays; "/" still connects.
				r.write(frame(1, `40${auth()}`));
				await r.next((f) => /^40\{"sid"/.test(
				    f.payload.toString()));
				r.destroy();
			}
			// A namespace name longer than the codec takes.
			await endedByServer(await wsSend(t,
			    `40/${'n'.repeat(200)},${auth()}`), 'long namespace');
		});

		test('auth that is not an object: closed; no token: ' +
		    'CONNECT_ERROR "unauthorized"', async () => {
			const t = T[via];
			for (const p of ['40"abc"', '40[1,2]', '40null', '40true',
				'401.5', '40{', '40{"token":"a"}x',
				'40{"token":"a","token":"b"}'])
				await endedByServer(await wsSend(t, p), p);
			for (const p of ['40', '40{}', '40{"token":1}',
				'40{"token":null}', `40${JSON.stringify({
				    token: [a.token] })}`, '40{"token":""}',
				'40{"tok":"x"}', '40{"token":"x.y.z"}']) {
				const r = await wsSend(t, p);
				const m = await r.next((f) => /^4/.test(
				    f.payload.toString()));
				assert.equal(m.payload.toString(),
				    '44{"message":"unauthorized"}', p);
				r.destroy();
			}
			await stillServing(t, 'bad auth');
		});

		test('binary placeholder shapes (CVE-2022-2421, ' +
		    'CVE-2023-32695): closed, nothing stored', async () => {
			const t = T[via];
			const ph = (n) => `{"_placeholder":true,"num":${n}}`;
			const bev = (arg) => `["chat_message",${arg}]`;
			const x = Buffer.from('x');
			for (const seq of [
				[`451-${bev(ph('"splice"'))}`, x],
				[`451-${bev(ph('"__proto__"'))}`, x],
				[`451-${bev(ph('"0"'))}`, x],
				[`451-${bev(ph(1))}`, x],
				[`451-${bev(ph(-1))}`, x],
				[`451-${bev(ph(0.5))}`, x],
				[`451-${bev(ph(4294967296))}`, x],
				[`454294967296-${bev(ph(0))}`, x],
				[`4518446744073709551617-${bev(ph(0))}`, x],
				[`45-1-${bev(ph(0))}`, x],
				[`45-${bev(ph(0))}`, x],
				[`4511-${bev(ph(0))}`],
				// Two announced, one sent, then a text packet.
				[`452-${bev(`${ph(0)},${ph(1)}`)}`, x, `42${ev()}`],
				// An attachment nobody announced.
				[x],
			]) {
				const r = await wsSend(t, `40${auth()}`);
				await r.next((f) => /^40/.test(f.payload.toString()));
				for (const m of seq)
					r.write(Buffer.isBuffer(m) ? frame(2, m)
					    : frame(1, m));
				await endedByServer(r, `${seq[0]}`.slice(0, 50));
			}
			assert.deepEqual(await stored(), []);
			await stillServing(t, 'placeholders');
		});

		test('huge or negative ack id, non-string event name, deep ' +
		    'nesting: closed', async () => {
			const t = T[via];
			for (const p of [
				`4299999999999999999999${ev()}`,
				`429007199254740992${ev()}`,
				`42-1${ev()}`, '42[1,2]', '42[null]', '42[]',
				'42{}', '42"chat_message"', '42[{"a":1}]',
				'42["connect"]', '42["disconnect"]',
				`42["x",${'['.repeat(100000)}${']'.repeat(100000)}]`,
				`42["x",${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}]`,
			]) {
				const r = await wsSend(t, `40${auth()}`);
				await r.next((f) => /^40/.test(f.payload.toString()));
				r.write(frame(1, p));
				await endedByServer(r, p.slice(0, 40));
			}
			assert.deepEqual(await stored(), []);
			await stillServing(t, 'bad events');
		});

		test('10,000 arguments and the largest ack id: answered, ' +
		    'the socket stays', async () => {
			const t = T[via];
			const r = await wsSend(t, `40${auth()}`);
			await r.next((f) => /^40/.test(f.payload.toString()));
			r.write(frame(1, `429007199254740991${JSON.stringify(
			    ['get_online_users', ...Array(10000).fill({})])}`));
			const m = await r.next((f) => /^43/.test(
			    f.payload.toString()));
			assert.match(m.payload.toString(), /^439007199254740991\[/);
			r.write(frame(1, `42${JSON.stringify(['chat_message',
				...Array(10000).fill(0)])}`));
			// The answer to a later event shows the daemon has
			// handled this one, and kept the socket.
			r.write(frame(1, '427["get_online_users",{}]'));
			await r.next((f) => /^437\[/.test(f.payload.toString()));
			assert.equal(r.ended, false);
			r.destroy();
			await stillServing(t, '10,000 arguments');
		});
	});
}

describe('the daemon is the same process throughout', () => {
	test('no daemon or worker was replaced', () => {
		assert.ok(st.alive());
		assert.equal(daemonPid(st), pid0);
		assert.deepEqual(workers(st).sort(), workers0);
	});
});
