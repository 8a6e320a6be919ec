// SPDX-License-Identifier: ISC
//
// The reconnect storm of docs/testing.md 4.4 item 2, for any number of clients:
// stock socket.io-client sockets through the web server, half long-polling
// and half WebSocket, while one member posts over REST and another sends
// chat_message over its own socket. The push daemon tools/stack started is
// killed with SIGKILL and its supervisor starts a new one. Every client
// must reconnect by itself (auth.last_message_id = the newest id it saw;
// the web server's 502s meanwhile are retried), every acknowledged message
// (REST 201 or socket ack) must be in SQLite, and every client must end up
// with exactly the ids SQLite holds for the room past its starting point:
// no gap, and in id order once duplicates (at-least-once delivery) are
// dropped.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { newRoom, newUser, post } from './api.mjs';
import { daemonPid } from './procs.mjs';
import { client, until } from './sio.mjs';

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// Raise the soft limit on open files of this process (and of the stack it
// starts afterwards) to the hard limit, with prlimit(1): node has no
// setrlimit. Returns the soft limit then in force.
export function raiseFileLimit() {
	const q = () => spawnSync('prlimit', ['--pid', String(process.pid),
		'--nofile', '--raw', '--noheadings', '--output=SOFT,HARD'],
	{ encoding: 'utf8' }).stdout.trim().split(/\s+/);
	const [soft, hard] = q();
	if (soft !== hard)
		spawnSync('prlimit', ['--pid', String(process.pid),
			`--nofile=${hard}:${hard}`]);
	return q()[0];
}

// Run the storm on stack "st" with "n" clients, the writers posting every
// "restEvery" (REST) and "sockEvery" (socket) ms; "t" is the test context
// for diagnostics. Every client is closed on the way out. Resolves to the
// figures: { clients, reconnectMs, messages, checked, acked, dups }.
export async function reconnectStorm(t, st, { n, restEvery, sockEvery,
	connectMs = 30000, reconnectMs = 60000 }) {
	const U = st.url;
	const socks = [];
	const errs = new Map(); // connect_error message and status: count
	try {
		return await storm();
	} finally {
		for (const s of socks)
			s.close();
	}

	// A socket of "user" that reconnects by itself, asking for what came
	// after the newest id it saw; s.uniq() is its de-duplicated ids of
	// "roomId".
	function resilient(user, transport, roomId, last) {
		const state = { last };
		const s = client(U, (cb) => cb({ token: user.token,
			last_message_id: state.last }), { transport,
			reconnection: true, reconnectionDelay: 200,
			reconnectionDelayMax: 1000 });
		s.on('chat_response', (r) => {
			const id = r?.message?.id;
			if (r?.room_id === roomId &&
			    BigInt(id) > BigInt(state.last))
				state.last = id;
		});
		s.mine = () => s.rec.of('chat_response')
		    .filter((r) => r?.room_id === roomId)
		    .map((r) => r.message.id);
		s.uniq = () => [...new Set(s.mine())];
		// Connection errors are retried (reconnection): count them.
		const note = (e) => {
			const k = `${e?.message} ${e?.description ?? ''}`;
			errs.set(k, (errs.get(k) ?? 0) + 1);
		};
		s.on('connect_error', note);
		s.io.on('reconnect_error', note);
		socks.push(s);
		return s;
	}

	async function storm() {
		const a = await newUser(U);
		const w = await newUser(U);
		const members = [];
		for (let i = 0; i < 4; i++)
			members.push(await newUser(U));
		const room = await newRoom(U, a,
		    [w, ...members].map((u) => u.email));
		const m0 = await post(U, a, room.id, 'start');
		assert.equal(m0.status, 201, m0.text);
		const start = m0.body.id;

		const clients = [];
		for (let i = 0; i < n; i++)
			clients.push(resilient(members[i % members.length],
			    i % 2 ? 'polling' : 'websocket', room.id, start));
		const writer = resilient(w, 'websocket', room.id, start);
		const all = [...clients, writer];
		const count = (pred) => () => `${all.filter(pred).length} of ` +
		    `${all.length}; connect errors ${JSON.stringify([...errs])}`;
		await until(() => all.every((s) => s.connected), connectMs,
		    'every client to connect', count((s) => s.connected));
		t.diagnostic(`connected; connect errors ${JSON.stringify(
		    [...errs])}`);
		errs.clear();

		// Publishers: what was acknowledged, and what failed
		// (expected only on the socket while the daemon is down).
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
				await sleep(restEvery);
			}
		})();
		const sock = (async () => {
			for (let i = 0; run; i++) {
				try {
					const r = await writer.timeout(5000)
					    .emitWithAck('chat_message', {
						room_id: room.id,
						content: `sock ${i}`,
						client_id: `s${i}` });
					if (r?.status === 'received')
						acked.push(r.message.id);
					else
						sockFail++;
				} catch {
					sockFail++;
				}
				await sleep(sockEvery);
			}
		})();
		await until(() => acked.length >= 10, 20000, 'ten messages');
		const first = (s) => s.uniq().length >= 10;
		await until(() => all.every(first), 30000,
		    'the first messages everywhere', count(first));

		const old = daemonPid(st);
		const killed = Date.now();
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
		// CPU seconds the new daemon spent (utime + stime).
		const cpu = () => readFileSync(`/proc/${fresh}/stat`, 'utf8')
		    .replace(/^.*\) /, '').split(' ').slice(11, 13)
		    .reduce((x, y) => x + Number(y), 0) / 100;
		const back = (s) => s.connected && s.engineOpens >= 2;
		await until(() => all.every(back), reconnectMs,
		    'every client to reconnect', count(back));
		const reconnected = Date.now() - killed;
		t.diagnostic(`the new daemon used ${cpu()} s of CPU until ` +
		    'every client was back');
		const k = acked.length;
		await until(() => acked.length >= k + 10, 30000,
		    'ten messages after the restart');
		run = false;
		await Promise.all([rest, sock]);

		const truth = st.sql(`SELECT id FROM messages WHERE ` +
		    `room_id = ${room.id} AND id > ${start} ORDER BY id;`)
		    .trim().split('\n');
		const stored = new Set(truth);
		assert.deepEqual(acked.filter((id) => !stored.has(id)), [],
		    'acknowledged but not in SQLite');
		assert.deepEqual(restBad, [], 'REST kept answering');
		const done = (s) => s.uniq().length >= truth.length;
		await until(() => all.every(done), reconnectMs,
		    'every message everywhere', count(done));
		let dups = 0;
		for (const [i, s] of all.entries()) {
			assert.deepEqual(s.uniq(), truth, `client ${i} ` +
			    `(${s.io.engine?.transport?.name})`);
			dups += s.mine().length - s.uniq().length;
		}
		assert.ok(st.output().includes('chat-pushd exited'),
		    'the supervisor saw the daemon die');
		const fig = { clients: all.length, reconnectMs: reconnected,
			messages: truth.length,
			checked: truth.length * all.length,
			acked: acked.length, sockFail, dups };
		t.diagnostic(`connect errors after the kill ${JSON.stringify(
		    [...errs])}`);
		t.diagnostic(`${fig.clients} clients reconnected within ` +
		    `${fig.reconnectMs} ms of the kill; ${fig.messages} ` +
		    `messages, ${fig.checked} deliveries checked, ` +
		    `${fig.acked} acked, ${sockFail} socket sends failed, ` +
		    `${dups} duplicates`);
		return fig;
	}
}
