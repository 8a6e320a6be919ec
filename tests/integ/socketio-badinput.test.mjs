// SPDX-License-Identifier: ISC
//
// docs/testing.md 4.3, Socket.IO bad inputs through nginx over a raw WebSocket:
// EVENT before CONNECT, unknown namespaces, auth that is not an object,
// binary placeholder attacks, huge and odd ack ids, odd event names and
// deep or wide payloads. Each must end in a closed connection, an error
// packet or nothing at all, never in a stored message or a dead daemon:
// after each one a stock client still chats.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser } from './lib/api.mjs';
import { RawSio, ack, closeAll, connect, until } from './lib/sio.mjs';

let st;
let U;
let a;
let room;
let good;
before(async () => {
	st = await startStack();
	U = st.url;
	a = await newUser(U);
	room = await newRoom(U, a, []);
	good = await connect(U, a);
});
after(async () => {
	closeAll();
	await st?.stop();
});

const count = async () => (await call(U, 'GET',
    `/chat/chat_rooms/${room.id}/messages?limit=100`,
{ token: a.token })).body.length;

// The daemon still serves: the long-lived client and a new one chat.
async function stillServing(what) {
	const r = await ack(good, 'chat_message', { room_id: room.id,
		content: `alive after ${what}` });
	assert.equal(r?.status, 'received', `${what}: ${JSON.stringify(r)}`);
	const s = await connect(U, a);
	const r2 = await ack(s, 'get_online_users', {});
	assert.ok(Array.isArray(r2), `${what}: ${JSON.stringify(r2)}`);
	s.close();
}

// The ack id of settle()'s event, no other test input uses it.
const BARRIER = 7;

// Wait until the daemon has handled everything sent on raw socket "r"
// so far (one connection keeps its order): an acked event sent now is
// answered after it or, when the input left the namespace disconnected,
// a CONNECT sent after the event is (the daemon ignores a CONNECT on a
// connected namespace); or the daemon closed the socket.
const settle = (r) => {
	const connects = () => r.msgs.filter((m) => typeof m === 'string' &&
	    /^40/.test(m)).length;
	const n = connects();
	r.send(`42${BARRIER}["get_online_users",{}]`);
	r.send(`40${JSON.stringify({ token: a.token })}`);
	return until(() => r.closed || connects() > n ||
	    r.msgs.some((m) => typeof m === 'string' &&
		m.startsWith(`43${BARRIER}[`)), 10000,
	'the daemon to handle the input',
	() => JSON.stringify(r.msgs.slice(-4).map(String)));
};

// The ack packets of "r" but settle()'s.
const acks = (r) => r.msgs.filter((m) => typeof m === 'string' &&
    /^43/.test(m) && !m.startsWith(`43${BARRIER}[`));

// A chat_message event the daemon must not act on.
const evil = (roomId = room.id, content = 'must not be stored') =>
	`["chat_message",${JSON.stringify({ room_id: roomId, content })}]`;

// After the bad input on "r", the connection must close or carry an error
// packet (44 or a 4-type error) within ms; never a success.
async function closedOrError(r, what, ms = 5000) {
	const closed = await r.closedWithin(ms);
	const err = r.msgs.some((m) => typeof m === 'string' &&
	    /^44/.test(m));
	assert.ok(closed || err, `${what}: neither closed nor an error: ${
	    JSON.stringify(r.msgs.slice(-3).map(String))}`);
	r.close();
}

describe('CONNECT and namespaces', () => {
	test('EVENT before CONNECT: closed or refused, nothing stored',
	    async () => {
		const n = await count();
		const r = await RawSio.open(U, { headers: {
			Authorization: `Bearer ${a.token}` } });
		r.send(`42${evil()}`);
		r.send(`421${evil()}`);
		// Ignored; the CONNECT deadline (10 s) closes it.
		await closedOrError(r, 'EVENT before CONNECT', 15000);
		assert.ok(!r.msgs.some((m) => /^43/.test(m)), 'no ack');
		assert.equal(await count(), n);
		await stillServing('EVENT before CONNECT');
	});

	test('unknown namespace: CONNECT_ERROR for it', async () => {
		const r = await RawSio.open(U);
		r.send(`40/admin,${JSON.stringify({ token: a.token })}`);
		const m = await r.next((x) => typeof x === 'string' &&
		    /^4[04]\/admin,/.test(x) || x === '1', 5000,
		'the answer for /admin').catch(() => null);
		assert.ok(m === null ? r.closed : m.startsWith('44/admin,'),
		    `got ${m}`);
		if (m !== null && m.startsWith('44/admin,'))
			assert.equal(typeof JSON.parse(m.slice(9)).message,
			    'string');
		r.close();
		await stillServing('unknown namespace');
	});

	test('auth that is not an object, or has no token', async () => {
		for (const p of ['40"abc"', '40[1,2]', '4012345', '40null',
			'40true', '40{', '40{"token":"a"}x', `40${JSON.stringify({
				token: [a.token] })}`, `40${JSON.stringify({
				token: { t: a.token } })}`, '40{}']) {
			const r = await RawSio.open(U);
			r.send(p);
			const m = await until(() => r.msgs.find((x) =>
				typeof x === 'string' && /^4[04]/.test(x)) ||
			    (r.closed && 'closed'), 10000, `${p}: ` +
			    'an answer or a close');
			assert.ok(m === 'closed' || m.startsWith('44'),
			    `${p}: ${m}`);
			r.close();
		}
		await stillServing('bad auth');
	});

	test('a second CONNECT on a connected socket does no harm', async () => {
		const r = await RawSio.connect(U, { token: a.token });
		assert.match(r.answer, /^40/);
		r.send(`40${JSON.stringify({ token: a.token })}`);
		await settle(r);
		r.close();
		await stillServing('double CONNECT');
	});
});

describe('after CONNECT', () => {
	// Connected raw socket of a.
	const conn = async () => {
		const r = await RawSio.connect(U, { token: a.token });
		assert.match(r.answer, /^40\{"sid":/, r.answer);
		return r;
	};

	test('binary placeholder attacks', async () => {
		// A room of its own: only "may be stored" may land in it.
		const pr = await newRoom(U, a, []);
		const ph = (num) => `{"_placeholder":true,"num":${num}}`;
		const ev = (arg) => `["chat_message",${arg}]`;
		const cases = [
			[`451-${ev(ph('"splice"'))}`, Buffer.from('x')],
			[`451-${ev(ph('"__proto__"'))}`, Buffer.from('x')],
			[`451-${ev(ph(1))}`, Buffer.from('x')],
			[`451-${ev(ph(-1))}`, Buffer.from('x')],
			[`451-${ev(ph(4294967296))}`, Buffer.from('x')],
			[`454294967296-${ev(ph(0))}`, Buffer.from('x')],
			[`4599999999999999999999-${ev(ph(0))}`, null],
			// Two attachments announced, one sent, then text.
			[`452-${ev(`${ph(0)},${ph(1)}`)}`, Buffer.from('x')],
			// An attachment nobody announced.
			[null, Buffer.from('stray binary')],
			// Binary where the content string belongs.
			[`451-${ev(`{"room_id":${JSON.stringify(pr.id)
			    },"content":${ph(0)}}`)}`, Buffer.from('not a string')],
			[`451-${ev(`{"room_id":${ph(0)},"content":"x"}`)}`,
				Buffer.from(pr.id)],
		];
		for (const [txt, bin] of cases) {
			const r = await conn();
			if (txt !== null)
				r.send(txt);
			if (bin !== null)
				r.ws.send(bin);
			r.send(`42${evil(pr.id, 'may be stored')}`);
			await settle(r);
			assert.deepEqual(acks(r), [],
			    `${txt}: no ack was asked for`);
			r.close();
			await stillServing(txt ?? 'stray binary');
		}
		const stored = (await call(U, 'GET', `/chat/chat_rooms/${
		    pr.id}/messages?limit=100`, { token: a.token })).body;
		assert.deepEqual(stored.filter((m) => m.content !==
		    'may be stored'), []);
	});

	test('huge, negative and odd ack ids', async () => {
		for (const id of ['99999999999999999999999', '18446744073709551616',
			'9007199254740993', '-1', '00000000001']) {
			const r = await conn();
			r.send(`42${id}["get_online_users",{}]`);
			await settle(r);
			// Any ack must not carry a mangled id.
			for (const m of acks(r))
				assert.ok(m.startsWith(`43${id}[`) ||
				    m.startsWith(`43${BigInt(id)}[`), `${id}: ${m}`);
			r.close();
			await stillServing(`ack id ${id}`);
		}
	});

	test('odd event names and shapes', async () => {
		const payloads = [
			'42[1,2]', '42[null]', '42[]', '42{}', '42"chat_message"',
			'42[{"a":1}]', '42["chat_message"', '42["__proto__",{}]',
			'42["constructor",{}]', '42["connect",{}]',
			'42["disconnect"]', '42["chat_message",null]',
			`42["chat_message",${'['.repeat(100000)}${']'.repeat(100000)}]`,
			`42["chat_message",${JSON.stringify(Array(10000).fill(0))
			    .slice(1, -1)}]`,
			`42${JSON.stringify(['get_online_users',
				...Array(10000).fill({})])}`,
			'43["x"]', '4[1]', '49["x"]', '4', '41',
		];
		for (const p of payloads) {
			const r = await conn();
			r.send(p);
			await settle(r);
			r.close();
			await stillServing(p.slice(0, 40));
		}
	});

	test('an oversized event: closed, others unaffected', async () => {
		const r = await conn();
		r.send(`42["chat_message",{"room_id":"${room.id}","content":"${
		    'x'.repeat(1100000)}"}]`);
		await closedOrError(r, 'over maxPayload', 10000);
		await stillServing('oversized event');
	});
});
