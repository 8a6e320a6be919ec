// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// docs/testing.md 4.4 item 11, the web server restarted: a configuration reload
// (nginx -s reload, and SIGHUP to the master) while REST requests run without
// pause and Socket.IO clients of both transports stay connected: no request
// fails, the connected sockets keep receiving, new ones connect. Killing
// nginx's master is not a restart under tools/stack: by design any child that
// ends brings the whole development stack down (a supervisor such as systemd
// restarts the service as a unit); the last case asserts that the stack then
// stops everything it started, nginx's orphaned workers included. HTTP/1.1
// keep-alive connections closed by an old worker are retried once by the
// client, as the protocol expects of clients.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post } from './lib/api.mjs';
import { pidsOf } from './lib/procs.mjs';
import { nginxProcs, reloaded, reloadNginx } from './lib/nginx.mjs';
import { describe, leftovers, processes } from './lib/makerun.mjs';
import { closeAll, connect, until } from './lib/sio.mjs';

let st;
after(async () => {
	closeAll();
	await st?.stop();
});

// GET "path" on a connection of its own, closed after the answer.
function getClose(base, path, token) {
	const u = new URL(base);
	return new Promise((res, rej) => {
		const rq = http.get({ host: u.hostname, port: u.port, path,
			agent: false, headers: { Authorization: `Bearer ${token}`,
				Connection: 'close' } }, (rs) => {
			let text = '';
			rs.on('data', (d) => { text += d; });
			rs.on('end', () => res({ status: rs.statusCode, text }));
		});
		rq.on('error', (e) => rej(Object.assign(new Error('get'),
		    { cause: e })));
	});
}

// Reload nginx's configuration with "how" (a function) and wait until a
// whole new generation of workers runs and takes requests (the counter
// "load.n" grows). Old workers drain their open connections (a WebSocket
// among them) while the new ones take new requests.
async function reload(how, load) {
	const then = nginxProcs(st);
	assert.ok(then.kids.length >= 1);
	how(then);
	await reloaded(st, then);
	const m = load.n;
	await until(() => load.n >= m + 20, 20000, 'traffic after it');
}

test('reload and SIGHUP under traffic: nothing fails', async (t) => {
	st = await startStack({ workers: 2 });
	const U = st.url;
	const [a, b] = [await newUser(U), await newUser(U)];
	const room = await newRoom(U, a, [b.email]);
	const ws = await connect(U, b, { transport: 'websocket' });
	const poll = await connect(U, b, { transport: 'polling' });
	const master = nginxProcs(st).master;
	// Request loops without pause: reads and posts on keep-alive
	// connections, and reads on a new connection each. A keep-alive
	// connection that an old worker closes just as a request goes out
	// ("other side closed" or a write's EPIPE, before any answer) is retried, as HTTP/1.1
	// clients do (RFC 9112 section 9.3.1), at most 4 times since the
	// pool may hold several such connections: the posts carry a
	// client_id, so a retry never stores twice. Nothing else may fail.
	const load = { n: 0, bad: [], run: true, retried: 0, posted: [] };
	const path = `/chat/chat_rooms/${room.id}/messages?limit=5`;
	const once = (k, i) => [
		() => call(U, 'GET', path, { token: b.token }),
		() => post(U, a, room.id, `l${i}`, { client_id: `l${i}` }),
		() => getClose(U, path, b.token),
	][k]();
	const loops = [0, 1, 2].map(async (k) => {
		while (load.run) {
			const i = load.n++;
			let r;
			for (let tries = 0; r === undefined; tries++) {
				r = await once(k, i).catch((e) => {
					// Node 20's fetch says UND_ERR_SOCKET,
					// Node 18's EPIPE or ECONNRESET.
					if (k < 2 && tries < 4 &&
					    ['UND_ERR_SOCKET', 'EPIPE',
						'ECONNRESET'].includes(
						e.cause?.code)) {
						load.retried++;
						return undefined;
					}
					return { status: String(e), text: `${k} ` +
					    `${e.cause?.code} ${e.cause?.message}` };
				});
			}
			if (r.status === 201)
				load.posted.push(`l${i}`);
			if (r.status !== (k === 1 ? 201 : 200))
				load.bad.push(`${r.status} ${r.text}`);
		}
	});
	try {
		await until(() => load.n >= 20, 20000, 'traffic');
		await reload(() => reloadNginx(st), load);
		await reload((then) => process.kill(then.master, 'SIGHUP'), load);
	} finally {
		load.run = false;
		await Promise.all(loops);
	}
	t.diagnostic(`${load.n} requests across two reloads, ` +
	    `${load.retried} retried after a keep-alive close`);
	assert.deepEqual(load.bad, []);
	assert.equal(st.sql('SELECT count(*) || \' \' || count(DISTINCT ' +
	    `client_id) FROM messages WHERE room_id = ${room.id};`).trim(),
	`${load.posted.length} ${load.posted.length}`);
	assert.equal(nginxProcs(st).master, master);
	assert.ok(st.alive());
	// The sockets opened before the reloads still deliver. The pool may
	// still hold a keep-alive connection an old worker closed: retried
	// as above (the client_id makes it safe).
	let r;
	for (let tries = 0; r === undefined; tries++) {
		r = await post(U, a, room.id, 'after the reloads',
		    { client_id: 'after' }).catch((e) => {
			if (tries < 4 && ['UND_ERR_SOCKET', 'EPIPE',
			    'ECONNRESET'].includes(e.cause?.code))
				return undefined;
			throw e;
		});
	}
	assert.equal(r.status, 201, r.text);
	await until(() => ws.rec.ids().includes(r.body.id) &&
	    poll.rec.ids().includes(r.body.id), 20000, 'delivery to old sockets');
	assert.ok(ws.connected && poll.connected);
	const fresh = await connect(U, a, { transport: 'polling' });
	assert.ok(fresh.connected);
});

test('kill -9 of the nginx master stops the whole stack', async () => {
	// Every child of the master (draining workers of the reloads too),
	// the workers and the daemon, by pid and start time. A process that
	// ended counts as gone even before init reaps it (processes() leaves
	// zombies out).
	const { master, kids } = nginxProcs(st);
	const pids = new Set([...pidsOf(st, 'chat-fcgi'),
		...pidsOf(st, 'chat-pushd')]);
	const keys = new Set([...kids, ...processes()
	    .filter((p) => pids.has(p.pid)).map((p) => p.key)]);
	assert.ok(keys.size >= 5, [...keys].join(' '));
	process.kill(master, 'SIGKILL');
	await until(() => !st.alive(), 20000, 'tools/stack to stop');
	assert.match(st.output(), /nginx exited .*stopping/);
	const left = processes().filter((p) => keys.has(p.key) ||
	    leftovers(st.var).some((q) => q.key === p.key));
	assert.equal(describe(left), '', 'processes left behind');
});
