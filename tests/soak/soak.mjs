// SPDX-License-Identifier: ISC
//
// The idle-connection soak of docs/testing.md 4.3: SOAK_CONNS Socket.IO
// connections (19,000 by default) straight to the push daemon's Unix
// socket (no nginx, which would need two descriptors per connection),
// spread over SOAK_PROCS client processes (tests/soak/conns.mjs), as four
// real users with real tokens, held SOAK_SECONDS (300) while they answer
// pings. It fails unless every connection came up and is still open at
// the end; it prints the daemon's VmRSS per connection and, after one REST
// message to the room all of them are in, the broadcast latency to the
// last connection (figures, not assertions). Run through tests/soak/run.

import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '../integ/lib/stack.mjs';
import { newRoom, newUser, post } from '../integ/lib/api.mjs';
import { daemonPid } from '../integ/lib/procs.mjs';

const N = Number(process.env.SOAK_CONNS ?? 19000);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const PROCS = Number(process.env.SOAK_PROCS ?? 4);
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const say = (s) => console.log(`soak: ${s}`);

function rssKiB(pid) {
	const m = readFileSync(`/proc/${pid}/status`, 'utf8')
	    .match(/^VmRSS:\s+(\d+) kB/m);
	return Number(m[1]);
}

// Ask every child "type" and resolve to their answers.
function ask(kids, type, extra = {}) {
	return Promise.all(kids.map((k) => new Promise((res) => {
		const on = (m) => {
			if (m.type === type) {
				k.off('message', on);
				res(m);
			}
		};
		k.on('message', on);
		k.send({ type, ...extra });
	})));
}

async function main() {
	const failures = [];
	const st = await startStack({ workers: 2,
		set: { max_connections: N + 100 } });
	const kids = [];
	try {
		const U = st.url;
		const users = [];
		for (let i = 0; i < 4; i++)
			users.push(await newUser(U));
		const room = await newRoom(U, users[0],
		    users.slice(1).map((u) => u.email));
		const pid = daemonPid(st);
		const rss0 = rssKiB(pid);
		say(`${N} connections over ${PROCS} processes, held ` +
		    `${SECONDS} s; daemon ${pid}, VmRSS ${rss0} KiB`);
		const tokens = JSON.stringify(users.map((u) => u.token));
		const sock = join(st.var, 'run/push.sock');
		const t0 = Date.now();
		const ready = [];
		for (let p = 0; p < PROCS; p++) {
			const n = Math.floor(N / PROCS) +
			    (p < N % PROCS ? 1 : 0);
			const k = fork(new URL('conns.mjs', import.meta.url)
			    .pathname, [sock, String(n), tokens]);
			kids.push(k);
			ready.push(new Promise((res) => k.on('message', (m) => {
				if (m.type === 'ready')
					res(m);
			})));
		}
		const r = await Promise.all(ready);
		const up = r.reduce((s, x) => s + x.ok, 0);
		say(`${up} of ${N} connected in ${(Date.now() - t0) / 1000} s`);
		if (up !== N)
			failures.push(`${N - up} connections refused or failed`);
		const rss1 = rssKiB(pid);
		const fds = readdirSync(`/proc/${pid}/fd`).length;
		say(`daemon VmRSS ${rss1} KiB, ${fds} fds: ` +
		    `${((rss1 - rss0) / up).toFixed(2)} KiB per connection`);

		const end = Date.now() + SECONDS * 1000;
		while (Date.now() < end) {
			await sleep(Math.min(30000, end - Date.now()));
			const s = await ask(kids, 'status');
			const open = s.reduce((x, y) => x + y.open, 0);
			const closed = s.reduce((x, y) => x + y.closed, 0);
			say(`${Math.round((SECONDS * 1000 - end + Date.now()) /
			    1000)} s: ${open} open, ${closed} closed, daemon ` +
			    `VmRSS ${rssKiB(pid)} KiB`);
		}
		const s = await ask(kids, 'status');
		const open = s.reduce((x, y) => x + y.open, 0);
		if (open !== up)
			failures.push(`${up - open} connections lost while idle`);
		if (daemonPid(st) !== pid)
			failures.push('the daemon was restarted');
		const rss2 = rssKiB(pid);
		say(`after ${SECONDS} s: ${open} open; daemon VmRSS ${rss2} ` +
		    `KiB, ${((rss2 - rss0) / Math.max(open, 1)).toFixed(2)} ` +
		    'KiB per connection');

		// One message to the room every connection is in.
		const sent = Date.now();
		const probe = await post(U, users[0], room.id, 'soak broadcast');
		if (probe.status !== 201)
			throw new Error(`post: ${probe.status} ${probe.text}`);
		let got;
		const limit = Date.now() + 120000;
		for (;;) {
			got = await ask(kids, 'got', { id: probe.body.id });
			if (got.reduce((x, y) => x + y.n, 0) >= open ||
			    Date.now() > limit)
				break;
			await sleep(200);
		}
		const n = got.reduce((x, y) => x + y.n, 0);
		const last = Math.max(...got.map((g) => g.last));
		say(`broadcast reached ${n} of ${open} connections; latency ` +
		    `from the REST post to the last one ${last - sent} ms`);
		if (n !== open)
			failures.push(`${open - n} connections missed the broadcast`);
	} finally {
		for (const k of kids) {
			if (k.connected)
				k.send({ type: 'exit' });
		}
		await st.stop();
	}
	if (failures.length > 0) {
		say(`FAILED: ${failures.join('; ')}`);
		process.exit(1);
	}
	say('passed');
}

await main();
