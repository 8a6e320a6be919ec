// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// Group commit (docs/architecture.md): chat_message events that arrive
// from many sockets in one loop turn are stored in one transaction, and
// their acks and pushes leave only after the commit. The daemon runs with
// -v, where chat_push_store logs each turn's batch ("N message(s) in 1
// commit", or "N message(s), each stored alone"). The daemon is stopped
// (SIGSTOP) while N sockets each send one chat_message, then continued
// once ss(8) shows every one of them in its receive queues, so the
// messages wait together in its socket buffers; fewer than N
// commits must store them. On the first ack the daemon is stopped again:
// every acknowledged message must then already be readable over REST,
// since nothing can commit while it is stopped.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startStackOwnDaemon } from './lib/pushd.mjs';
import { call, newRoom, newUser } from './lib/api.mjs';
import { closeAll, connect, until } from './lib/sio.mjs';

const N = 24;
let st;
let pid;
before(async () => {
	st = await startStackOwnDaemon({ workers: 2, pushdArgs: ['-v'] });
	pid = st.pushd.pid();
});
after(async () => {
	closeAll();
	try {
		process.kill(pid, 'SIGCONT');
	} catch {
		// already gone
	}
	await st?.stop();
});

// The state letter of process "p" (T: stopped).
const state = (p) => readFileSync(`/proc/${p}/stat`, 'latin1')
    .replace(/^.*\) /s, '')[0];

// How many of the daemon's established Unix connections have bytes
// waiting in their receive queue (ss's Recv-Q).
function queued() {
	const r = spawnSync('ss', ['-x', '-H', '-n', '-p', 'state',
		'established'], { encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	return r.stdout.split('\n').filter((l) => l.includes(`pid=${pid},`) &&
	    Number(l.trim().split(/\s+/)[1]) > 0).length;
}

async function pause() {
	process.kill(pid, 'SIGSTOP');
	await until(() => state(pid) === 'T', 5000, 'the daemon stopped');
}

// Messages and commits of the batches the daemon logged so far.
function commits() {
	let msgs = 0;
	let n = 0;
	for (const m of st.pushd.output().matchAll(/chat_push_store: (\d+) message\(s\)(?: in 1 commit|(, each stored alone))/g)) {
		msgs += Number(m[1]);
		n += m[2] === undefined ? 1 : Number(m[1]);
	}
	return { msgs, n };
}

describe('group commit', () => {
	test(`${N} sockets, one message each: fewer than ${N} commits, ` +
	    'acks only after the commit', async () => {
		const a = await newUser(st.url);
		const b = await newUser(st.url);
		const room = await newRoom(st.url, a, [b.email]);
		const socks = [];
		for (let i = 0; i < N; i++)
			socks.push(await connect(st.url, i % 2 ? a : b));
		const c0 = commits();
		const acks = [];
		let checked = null;
		await pause();
		const done = socks.map((s, i) => new Promise((res, rej) => {
			s.timeout(30000).emit('chat_message', { room_id: room.id,
				content: `gc ${i}` }, (err, r) => {
				if (err) {
					rej(err);
					return;
				}
				acks.push(r);
				// Stop the daemon at the first ack, synchronously.
				if (checked === null) {
					process.kill(pid, 'SIGSTOP');
					checked = [];
				}
				res(r);
			});
		}));
		// Wait until every socket's frame waits in the daemon's
		// receive queue (nginx opens one daemon connection per
		// WebSocket).
		await until(() => queued() >= N, 20000,
		    'the frames at the daemon', () => `${queued()} of ${N}`);
		process.kill(pid, 'SIGCONT');
		await until(() => checked !== null, 20000, 'the first ack');
		await until(() => state(pid) === 'T', 5000, 'the daemon stopped');
		// Acks that arrived until now, with the daemon stopped.
		const early = acks.slice();
		const r = await call(st.url, 'GET',
		    `/chat/chat_rooms/${room.id}/messages?limit=100`,
		    { token: a.token });
		assert.equal(r.status, 200, r.text);
		const stored = new Set(r.body.map((m) => m.id));
		for (const k of early) {
			assert.equal(k.status, 'received', JSON.stringify(k));
			assert.ok(stored.has(k.message.id),
			    `acked ${k.message.id} is not readable yet`);
		}
		process.kill(pid, 'SIGCONT');
		const all = await Promise.all(done);
		assert.ok(all.every((k) => k.status === 'received'));
		assert.equal(new Set(all.map((k) => k.message.id)).size, N);
		const c = commits();
		assert.equal(c.msgs - c0.msgs, N, st.pushd.output().slice(-3000));
		assert.ok(c.n - c0.n < N, `${c.n - c0.n} commits for ${N} ` +
		    'messages');
	});
});
