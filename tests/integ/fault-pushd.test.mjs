// SPDX-License-Identifier: ISC
// test-timeout: 150
//
// TESTING.md 4.4 item 2 at a larger scale than socketio-restart: 200 stock
// socket.io-client sockets through nginx, half long-polling and half
// WebSocket, while one member posts over REST every 100 ms and another
// sends chat_message over its own socket every 200 ms. The push daemon the
// stack started is killed with SIGKILL; tools/stack's supervisor starts a
// new one. Every client must reconnect by itself (auth.last_message_id =
// the newest id it saw), every acknowledged message (REST 201 or socket
// ack) must be in SQLite, and every client must end up with exactly the
// ids SQLite holds for the room past its starting point: no gap, and in
// id order once duplicates (at-least-once delivery) are dropped.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { newRoom, newUser, post } from './lib/api.mjs';
import { daemonPid } from './lib/procs.mjs';
import { client, connected, until } from './lib/sio.mjs';

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const N = 200;
let st;
const socks = [];
before(async () => { st = await startStack(); });
after(async () => {
	for (const s of socks)
		s.close();
	await st?.stop();
});

// A socket of "user" that reconnects by itself, asking for what came after
// the newest id it saw; s.uniq() is its de-duplicated ids of "roomId".
function resilient(user, transport, roomId, last) {
	const state = { last };
	const s = client(st.url, (cb) => cb({ token: user.token,
		last_message_id: state.last }), { transport, reconnection: true,
		reconnectionDelay: 200, reconnectionDelayMax: 1000 });
	s.on('chat_response', (r) => {
		const id = r?.message?.id;
		if (r?.room_id === roomId && BigInt(id) > BigInt(state.last))
			state.last = id;
	});
	s.mine = () => s.rec.of('chat_response')
	    .filter((r) => r?.room_id === roomId).map((r) => r.message.id);
	s.uniq = () => [...new Set(s.mine())];
	socks.push(s);
	return s;
}

test('200 clients (polling and WebSocket) across a kill -9 of the daemon',
    async (t) => {
	const U = st.url;
	const a = await newUser(U);
	const w = await newUser(U);
	const members = [];
	for (let i = 0; i < 4; i++)
		members.push(await newUser(U));
	const room = await newRoom(U, a, [w, ...members].map((u) => u.email));
	const m0 = await post(U, a, room.id, 'start');
	assert.equal(m0.status, 201, m0.text);
	const start = m0.body.id;

	const clients = [];
	for (let i = 0; i < N; i++)
		clients.push(resilient(members[i % members.length],
		    i % 2 ? 'polling' : 'websocket', room.id, start));
	const writer = resilient(w, 'websocket', room.id, start);
	for (let i = 0; i < clients.length; i += 50)
		await Promise.all(clients.slice(i, i + 50).map((s) =>
			connected(s, 30000)));
	await connected(writer);

	// Publishers: REST every 100 ms, socket every 200 ms; what was
	// acknowledged, and what failed (expected only on the socket while
	// the daemon is down).
	const acked = [];
	const restBad = [];
	let sockFail = 0;
	let run = true;
	const rest = (async () => {
		for (let i = 0; run; i++) {
			const r = await post(U, a, room.id, `rest ${i}`);
			if (r.status === 201)
				acked.push(r.body.id);
			else
				restBad.push(`${r.status} ${r.text}`);
			await sleep(100);
		}
	})();
	const sock = (async () => {
		for (let i = 0; run; i++) {
			try {
				const r = await writer.timeout(5000).emitWithAck(
				    'chat_message', { room_id: room.id,
					content: `sock ${i}`, client_id: `s${i}` });
				if (r?.status === 'received')
					acked.push(r.message.id);
				else
					sockFail++;
			} catch {
				sockFail++;
			}
			await sleep(200);
		}
	})();
	const all = [...clients, writer];
	await until(() => acked.length >= 10, 20000, 'ten messages');
	await until(() => all.every((s) => s.uniq().length >= 10), 30000,
	    'the first messages everywhere');

	const old = daemonPid(st);
	process.kill(old, 'SIGKILL');
	const fresh = await until(() => {
		try {
			const p = daemonPid(st);
			return p !== old && p;
		} catch {
			return false;
		}
	}, 20000, 'the supervisor to start a new daemon');
	t.diagnostic(`daemon ${old} killed, ${fresh} started`);
	await until(() => all.every((s) => s.connected &&
	    s.engineOpens >= 2), 60000, 'every client to reconnect',
	() => `${all.filter((s) => s.connected && s.engineOpens >= 2)
	    .length} of ${all.length}`);
	const n = acked.length;
	await until(() => acked.length >= n + 10, 30000,
	    'ten messages after the restart');
	run = false;
	await Promise.all([rest, sock]);

	const truth = st.sql(`SELECT id FROM messages WHERE room_id = ` +
	    `${room.id} AND id > ${start} ORDER BY id;`).trim().split('\n');
	const stored = new Set(truth);
	assert.deepEqual(acked.filter((id) => !stored.has(id)), [],
	    'acknowledged but not in SQLite');
	assert.deepEqual(restBad, [], 'REST kept answering');
	await until(() => all.every((s) => s.uniq().length >= truth.length),
	    60000, 'every message everywhere', () => `${all.filter((s) =>
		s.uniq().length >= truth.length).length} of ${all.length}`);
	let dups = 0;
	for (const [i, s] of all.entries()) {
		assert.deepEqual(s.uniq(), truth, `client ${i} ` +
		    `(${s.io.engine?.transport?.name})`);
		dups += s.mine().length - s.uniq().length;
	}
	t.diagnostic(`${truth.length} messages, ${acked.length} acked, ` +
	    `${sockFail} socket sends failed, ${dups} duplicates`);
	assert.ok(st.output().includes('chat-pushd exited'),
	    'the supervisor saw the daemon die');
});
