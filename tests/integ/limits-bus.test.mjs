// SPDX-License-Identifier: ISC
// test-timeout: 150
//
// The daemon's side of the ZeroMQ bus (push-daemon/bus_srv.c), spoken to by a
// peer over libzmq (tests/integ/lib/zmqpeer.py): a message over
// ZMQ_MAXMSGSIZE (BUS_MSG_MAX) to the PULL and to the ROUTER endpoint is
// dropped, never acted on or answered, and the hints and presence queries
// after it are; a burst of 1,000 presence queries from one DEALER gets
// every reply with its own qid (lib/chat/bus.h framing) and a burst of 3,000
// hints is read completely (the edge-triggered ZMQ_FD drained past
// BUS_SRV_BATCH). Hints are counted in the daemon's -v log ("N hint(s)"
// once a second, chat_push_tick_cb), since a hint's only effect, a push
// from SQLite, also happens on the safety-net tick.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStackOwnDaemon } from './lib/pushd.mjs';
import { SRCDIR } from './lib/stack.mjs';
import { newRoom, newUser, post } from './lib/api.mjs';
import { closeAll, connect, gotIds, until } from './lib/sio.mjs';

const BUS_MSG_MAX = 65536;
const OVER = 4 * BUS_MSG_MAX;
let st;
let ep;
let a;
let b;
let c; // never connected
before(async () => {
	st = await startStackOwnDaemon({ workers: 2, pushdArgs: ['-v'] });
	const conf = readFileSync(join(st.var, 'run/chat.conf'), 'utf8');
	ep = (k) => conf.match(new RegExp(`^${k}\\s+(\\S+)`, 'm'))[1];
	a = await newUser(st.url);
	b = await newUser(st.url);
	c = await newUser(st.url);
});
after(async () => {
	closeAll();
	await st?.stop();
});

// Run the peer; resolves to its JSON line.
async function peer(...args) {
	const r = await promisify(execFile)('/usr/bin/python3',
	    [join(SRCDIR, 'tests/integ/lib/zmqpeer.py'), ...args.map(String)],
	    { cwd: SRCDIR, timeout: 60000 });
	return JSON.parse(r.stdout);
}

// Hints the daemon has read so far (as logged once a second).
const hints = () => [...st.pushd.output()
    .matchAll(/chat_push_tick_cb: (\d+) hint\(s\)/g)]
    .reduce((n, m) => n + Number(m[1]), 0);

// The hint count once it stays the same across a tick and a half (every
// hint sent so far has been read and logged).
const settled = () => until(async () => {
	const h = hints();
	await new Promise((res) => setTimeout(res, 1500));
	return hints() === h && String(h);
}, 20000, 'the hint count to settle').then(Number);

const online = (ids) => JSON.stringify({ type: 'online',
	users: ids.map(String) });

describe('ZMQ_MAXMSGSIZE', () => {
	test('an event over it is dropped, the hints after it are read',
	    async () => {
		const room = await newRoom(st.url, a, [b.email]);
		const s = await connect(st.url, b);
		const h0 = await settled();
		assert.deepEqual(await peer('push', ep('bus_events'), 1, OVER,
		    1500), { sent: 1 });
		assert.deepEqual(await peer('push', ep('bus_events'), 5),
		    { sent: 5 });
		await until(() => hints() >= h0 + 5, 15000, 'five hints',
		    () => `${hints() - h0}`);
		assert.equal(await settled() - h0, 5,
		    'the oversized event was read');
		// And the daemon still pushes what REST stores.
		const m = await post(st.url, a, room.id, 'after the big one');
		assert.equal(m.status, 201, m.text);
		await gotIds(s, [m.body.id]);
	});

	test('a query over it is not answered, the queries after it are',
	    async () => {
		const s = await connect(st.url, a);
		const big = await peer('query', ep('bus_query'), 1, `-${OVER}`,
		    2000);
		assert.equal(big.got, 0, JSON.stringify(big));
		const r = await peer('query', ep('bus_query'), 1,
		    online([a.id, c.id]), 10000);
		assert.equal(r.got, 1, JSON.stringify(r));
		assert.deepEqual(JSON.parse(r.first),
		    { online: [String(a.id)] });
		// Just under the limit (qid and payload are separate
		// frames): answered.
		const edge = await peer('query', ep('bus_query'), 1,
		    `-${BUS_MSG_MAX}`, 10000);
		assert.equal(edge.got, 1, JSON.stringify(edge));
		assert.deepEqual(JSON.parse(edge.first), { online: [] });
		s.close();
	});
});

describe('bursts (edge-triggered ZMQ_FD)', () => {
	test('1,000 presence queries from one DEALER: every reply, own qid',
	    async () => {
		const s = await connect(st.url, a);
		const r = await peer('query', ep('bus_query'), 1000,
		    online([c.id, a.id]), 30000);
		assert.deepEqual({ ...r, first: undefined }, { sent: 1000,
			got: 1000, unknown: 0, dup: 0, shape: 0,
			first: undefined });
		assert.deepEqual(JSON.parse(r.first),
		    { online: [String(a.id)] });
		s.close();
	});

	test('3,000 hints from one PUSH are all read', async () => {
		const h0 = hints();
		assert.deepEqual(await peer('push', ep('bus_events'), 3000),
		    { sent: 3000 });
		await until(() => hints() >= h0 + 3000, 30000, '3,000 hints',
		    () => `${hints() - h0}`);
	});
});
