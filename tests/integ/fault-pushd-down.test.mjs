// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// docs/testing.md 4.4 items 2 and 3 from REST's side: the push daemon frozen
// with SIGSTOP (alive, connected to the bus, answering nothing) and the
// push daemon absent (a stack from a build folder without chat-pushd).
// REST keeps answering every request with its normal status, presence
// reads false (the worker's presence question times out), and after
// SIGCONT the member's socket gets every message posted meanwhile.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post } from './lib/api.mjs';
import { daemonPid, pidsOf } from './lib/procs.mjs';
import { closeAll, connect, until } from './lib/sio.mjs';

const stacks = [];
after(async () => {
	closeAll();
	for (const st of stacks)
		await st.stop();
});

// Every request below must end within 30 s, whatever its status.
const bounded = (p) => Promise.race([p, new Promise((res, rej) =>
	setTimeout(() => rej(new Error('request hung')), 30000).unref())]);

// a's private chat with b, and b's is_online in a's list.
async function privateChat(U, a, b) {
	const r = await call(U, 'POST', '/chat/chat_rooms/', { token: a.token,
		json: { name: 'pc', members: [b.email], is_private: true } });
	assert.equal(r.status, 201, r.text);
	return r.body;
}
async function online(U, a, roomId) {
	const r = await bounded(call(U, 'GET', '/chat/private_chats/',
	    { token: a.token }));
	assert.equal(r.status, 200, r.text);
	return r.body.find((x) => x.id === roomId).is_online;
}

test('daemon frozen (SIGSTOP): REST serves, offline, then delivered',
    async () => {
	const st = await startStack({ workers: 2 });
	stacks.push(st);
	const U = st.url;
	const [a, b] = [await newUser(U), await newUser(U)];
	const room = await privateChat(U, a, b);
	const sb = await connect(U, b);
	await until(() => online(U, a, room.id), 10000, 'b online');
	const pid = daemonPid(st);
	const posted = [];
	const bad = [];
	process.kill(pid, 'SIGSTOP');
	try {
		for (let i = 0; i < 50; i++) {
			const r = await bounded(post(U, a, room.id, `m${i}`));
			if (r.status === 201)
				posted.push(r.body.id);
			else
				bad.push(`${r.status} ${r.text}`);
		}
		const other = await newRoom(U, a, [b.email]);
		assert.ok(other.id);
		assert.equal(await online(U, a, room.id), false,
		    'presence must read false when the daemon does not answer');
		const l = await bounded(call(U, 'GET', `/chat/chat_rooms/` +
		    `${room.id}/messages?limit=100`, { token: b.token }));
		assert.deepEqual(l.body.map((m) => m.id), posted);
	} finally {
		process.kill(pid, 'SIGCONT');
	}
	assert.deepEqual(bad, []);
	assert.equal(daemonPid(st), pid, 'the frozen daemon was not replaced');
	await until(() => posted.every((id) => sb.rec.ids().includes(id)),
	    20000, 'the messages posted while frozen');
	assert.deepEqual(sb.rec.ids(), posted);
	await until(() => online(U, a, room.id), 10000, 'b online again');
});

test('no daemon at all: REST serves, offline, /socket.io/ is JSON 503',
    async () => {
	const st = await startStack({ workers: 2, daemon: false });
	stacks.push(st);
	assert.deepEqual(pidsOf(st, 'chat-pushd'), []);
	const U = st.url;
	const [a, b] = [await newUser(U), await newUser(U)];
	const room = await privateChat(U, a, b);
	for (let i = 0; i < 20; i++) {
		const r = await bounded(post(U, a, room.id, `m${i}`));
		assert.equal(r.status, 201, r.text);
	}
	assert.equal(await online(U, a, room.id), false);
	const s = await bounded(call(U, 'GET',
	    '/socket.io/?EIO=4&transport=polling'));
	assert.equal(s.status, 503, s.text);
	assert.equal(typeof s.body?.detail, 'string');
});
