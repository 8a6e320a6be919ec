// SPDX-License-Identifier: ISC
// test-timeout: 240
//
// `make run`'s stack ends with make's process group, whatever the signal:
// SIGTERM and SIGINT (Ctrl-C, a supervisor's stop) and SIGKILL (timeout(1)
// or a supervisor escalating) sent to the group leave no process of the
// stack (none descended from make, in its group, or running in or naming
// its var directory) and free the port; so does a SIGKILL of tools/stack
// alone, since every child ends when its parent dies. A second stack on
// the same var directory refuses to start, saying so, and leaves the first
// one serving and able to stop cleanly.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './lib/stack.mjs';
import { call, newUser } from './lib/api.mjs';
import { cleanUp, describe, descendants, leftovers, makeRun, portFree }
	from './lib/makerun.mjs';
import { until } from './lib/sio.mjs';

const dirs = [];
const groups = [];
after(() => cleanUp(groups, dirs));

function varDir() {
	const d = realpathSync(mkdtempSync(join(tmpdir(), 'chat-stop-')));
	dirs.push(d);
	return d;
}

// Start `make run-stack` on a fresh var directory and port; resolves to the
// make run plus its var, port and every process it started.
async function start(dir = varDir()) {
	const port = await freePort();
	const r = await makeRun({ PORT: port, VAR: dir });
	groups.push(r.pgid);
	assert.equal(r.child.exitCode, null, r.output());
	const procs = descendants(r.child.pid);
	// make, tools/stack, multiwatch and its two or more workers, the
	// supervisor and the daemon, nginx's master and its workers.
	for (const re of [/^nginx: master/, /^nginx: worker/, /\/multiwatch /,
		/\/chat-fcgi -c /, /\/chat-pushd -c /])
		assert.ok(procs.some((p) => re.test(p.cmdline)),
		    `${re} in\n${describe(procs)}`);
	return { ...r, var: dir, port, url: `http://127.0.0.1:${port}`, procs };
}

// Wait until nothing of stack "s" is left and its port is free.
async function gone(s) {
	await until(async () => leftovers(s.var, s.procs, s.pgid)
	    .length === 0 && await portFree(s.port), 30000,
	'the stack to end', () => describe(leftovers(s.var, s.procs, s.pgid)));
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGKILL']) {
	test(`${sig} to make run's process group ends the whole stack`,
	    async () => {
		const s = await start();
		const r = await call(s.url, 'GET', '/');
		assert.equal(r.status, 200);
		process.kill(-s.pgid, sig);
		await gone(s);
		const e = await s.exited;
		assert.ok(e.code !== null || e.sig !== null);
	});
}

test('SIGKILL to tools/stack alone ends every process it started',
    async () => {
	const s = await start();
	const stack = s.procs.find((p) => p.ppid === s.child.pid &&
	    / tools\/stack run /.test(p.cmdline));
	assert.ok(stack, describe(s.procs));
	process.kill(stack.pid, 'SIGKILL');
	// make sees its child die and exits; the rest end with their
	// parents.
	await gone(s);
});

test('a second stack on the same var refuses and leaves the first serving',
    async () => {
	const first = await start();
	const run = join(first.var, 'run');
	const files = ['chat.conf', 'nginx.conf', 'nginx.pid']
	    .map((f) => readFileSync(join(run, f), 'utf8'));
	const port2 = await freePort();
	const second = await makeRun({ PORT: port2, VAR: first.var });
	groups.push(second.pgid);
	const e = await second.exitedWithin(30000);
	assert.ok(e !== null, `the second stack runs:\n${second.output()}`);
	assert.notEqual(e.code, 0, second.output());
	assert.match(second.output(), new RegExp('stack: another tools/stack ' +
	    `\\(pid \\d+\\) runs on ${first.var}; stop it first`));
	assert.ok(!second.output().includes('chat: serving'));
	assert.ok(await portFree(port2), 'the second stack bound its port');
	assert.deepEqual(['chat.conf', 'nginx.conf', 'nginx.pid']
	    .map((f) => readFileSync(join(run, f), 'utf8')), files);
	// The first one still serves, its workers and daemon included, and
	// none of its processes was replaced.
	const u = await newUser(first.url);
	const me = await call(first.url, 'GET', '/auth/users/me',
	    { token: u.token });
	assert.equal(me.status, 200, me.text);
	const eio = await call(first.url, 'GET',
	    '/socket.io/?EIO=4&transport=polling');
	assert.equal(eio.status, 200, eio.text);
	const now = new Set(descendants(first.child.pid).map((p) => p.key));
	assert.deepEqual(first.procs.filter((p) => !now.has(p.key)), []);
	process.kill(-first.pgid, 'SIGTERM');
	await gone(first);
});
