// SPDX-License-Identifier: ISC
//
// Least privilege (docs/testing.md S4): started as root with `user` set,
// the workers and the push daemon become that user for good (real,
// effective, saved and file-system ids, one group) after opening what they
// need, and still serve: REST through nginx, a Socket.IO client that gets
// a REST post pushed over the bus. Started as root without `user` (and
// without allow_root) they refuse to run. tools/stack's secret is 0400 and
// its run directory 0700; the secret never appears in the logs, and a
// secret readable by others is warned about. An empty or 31-byte secret
// stops both programs at startup. Needs root: it creates a throwaway
// system user when missing.
// test-timeout: 240

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync,
	rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SRCDIR, freePort } from './lib/stack.mjs';
import { pidsOf } from './lib/procs.mjs';
import { newRoom, newUser, post } from './lib/api.mjs';
import { closeAll, connect, gotIds, until } from './lib/sio.mjs';

const USER = 'chat-itest';
const build = resolve(SRCDIR, process.env.CHAT_BUILD ?? 'build/default');
const FCGI = join(build, 'chat-fcgi');
const PUSHD = join(build, 'chat-pushd');

// The uid and gid of "name", creating it as a system user when missing.
function serviceUser(name) {
	let r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
	if (r.status !== 0) {
		r = spawnSync('useradd', ['--system', '--user-group',
			'--no-create-home', '--home-dir', '/nonexistent',
			'--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
		assert.equal(r.status, 0, `useradd: ${r.stderr}`);
	}
	const id = (flag) => Number(spawnSync('id', [flag, name],
	    { encoding: 'utf8' }).stdout.trim());
	return { uid: id('-u'), gid: id('-g') };
}

// The Uid, Gid and Groups lines of /proc/<pid>/status, as numbers.
function ids(pid) {
	const st = readFileSync(`/proc/${pid}/status`, 'utf8');
	const line = (k) => {
		const m = st.match(new RegExp(`^${k}:\\s*(.*)$`, 'm'));
		assert.ok(m, `${k} in /proc/${pid}/status`);
		return m[1].trim() === '' ? [] : m[1].trim().split(/\s+/)
		    .map(Number);
	};
	return { uid: line('Uid'), gid: line('Gid'), groups: line('Groups') };
}

// Run "bin" with a config of "keys" written under "dir"; resolves to
// { status, out } once it exits (it must, refusing at startup).
function runOnce(dir, bin, keys) {
	const conf = join(dir, `${bin.split('/').pop()}.conf`);
	writeFileSync(conf, Object.entries(keys).map(([k, v]) => `${k} ${v}\n`)
	    .join(''));
	const r = spawnSync(bin, ['-c', conf], { encoding: 'utf8',
		timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'] });
	return { status: r.status, signal: r.signal, out: r.stdout + r.stderr };
}

describe('started as root without `user`', () => {
	let dir;
	let keys;
	before(() => {
		assert.equal(process.getuid(), 0, 'this test runs as root');
		dir = mkdtempSync(join(tmpdir(), 'chat-priv-refuse-'));
		writeFileSync(join(dir, 'secret.key'), 'k'.repeat(64),
		    { mode: 0o400 });
		keys = {
			database: join(dir, 'chat.db'),
			media_dir: join(dir, 'media'),
			secret_file: join(dir, 'secret.key'),
			push_socket: join(dir, 'run/push.sock'),
			bus_events: `ipc://${dir}/run/bus-events`,
			bus_query: `ipc://${dir}/run/bus-query`,
		};
		mkdirSync(join(dir, 'media'));
	});
	after(() => rmSync(dir, { recursive: true, force: true }));

	for (const bin of [FCGI, PUSHD]) {
		const name = bin.split('/').pop();
		test(`${name} refuses to serve, opening nothing`, () => {
			const r = runOnce(dir, bin, keys);
			assert.equal(r.status, 1, r.out);
			assert.match(r.out, /refusing to serve as root: set `user` in the config/);
			// Refused before the database was created.
			assert.throws(() => statSync(keys.database));
		});
		test(`${name} refuses an unknown user`, () => {
			const r = runOnce(dir, bin, { ...keys,
				user: 'no-such-user-h14' });
			assert.equal(r.status, 1, r.out);
			assert.match(r.out, /no such user: no-such-user-h14/);
		});
		test(`${name} refuses root as the service user`, () => {
			const r = runOnce(dir, bin, { ...keys, user: 'root' });
			assert.equal(r.status, 1, r.out);
			assert.match(r.out, /not a service user/);
		});
	}
	test('a secret readable by others is warned about, never printed',
	    () => {
		const key = join(dir, 'loose.key');
		const secret = 'L'.repeat(40);
		writeFileSync(key, secret);
		chmodSync(key, 0o644);
		// allow_root: it gets as far as serving, where fd 0 (not a
		// FastCGI socket) ends it.
		const r = runOnce(dir, FCGI, { ...keys, secret_file: key,
			allow_root: 'yes' });
		assert.match(r.out, /loose\.key: mode 644: .*make it 0400/);
		assert.ok(!r.out.includes(secret), r.out);
	});
	// A key under 32 bytes would make HS256 weak (and an empty one
	// would make libjwt skip the signature): both programs refuse to
	// start. 31 bytes and a newline is what a raw 32-byte key ending
	// in a newline byte loads as.
	for (const [what, bytes, n] of [['an empty', '', 0],
		['a 31-byte', 'k'.repeat(31), 31],
		['a 31-byte plus newline', `${'k'.repeat(31)}\n`, 31]]) {
		for (const bin of [FCGI, PUSHD]) {
			const name = bin.split('/').pop();
			test(`${name} refuses to start with ${what} secret`, () => {
				const key = join(dir, 'short.key');
				rmSync(key, { force: true });
				writeFileSync(key, bytes, { mode: 0o400 });
				// allow_root: past the root check to the key.
				const r = runOnce(dir, bin, { ...keys,
					database: join(dir, 'keys.db'),
					secret_file: key, allow_root: 'yes' });
				assert.equal(r.signal, null, r.out);
				assert.notEqual(r.status, 0, r.out);
				assert.match(r.out, new RegExp('short\\.key: secret ' +
				    `file too short \\(${n} bytes, need 32\\)`));
			});
		}
	}
	test('a 32-byte secret passes the key check', () => {
		const key = join(dir, 'short.key');
		rmSync(key, { force: true });
		writeFileSync(key, 'k'.repeat(32), { mode: 0o400 });
		// chat-fcgi then stops at serving (fd 0 is no FastCGI socket).
		const r = runOnce(dir, FCGI, { ...keys,
			database: join(dir, 'keys.db'), secret_file: key,
			allow_root: 'yes' });
		assert.doesNotMatch(r.out, /too short|token key/);
	});
	test('chat-fcgi -n still only checks the config', () => {
		const conf = join(dir, 'check.conf');
		writeFileSync(conf, `secret_file ${keys.secret_file}\n`);
		const r = spawnSync(FCGI, ['-n', '-c', conf], { encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
	});
});

describe('started as root with `user`', () => {
	let svc;
	let varDir;
	let child;
	let out = '';
	let url;
	let exited;
	const st = {};

	before(async () => {
		assert.equal(process.getuid(), 0, 'this test runs as root');
		svc = serviceUser(USER);
		// The data directory belongs to the service user, as INSTALL
		// says; tools/stack (root) writes its secret and config in it.
		varDir = mkdtempSync(join(tmpdir(), 'chat-priv-'));
		for (const d of ['', 'media', 'run']) {
			mkdirSync(join(varDir, d), { recursive: true });
			chownSync(join(varDir, d), svc.uid, svc.gid);
		}
		st.var = varDir;
		const port = await freePort();
		url = `http://127.0.0.1:${port}`;
		child = spawn(join(SRCDIR, 'tools/stack'), ['run', '--port',
			String(port), '--var', varDir, '--workers', '2',
			'--set', `user=${USER}`, '--set', 'auth_rate=1000',
			'--set', 'auth_burst=100000'], { cwd: SRCDIR,
			stdio: ['ignore', 'pipe', 'pipe'] });
		child.stdout.on('data', (d) => { out += d; });
		child.stderr.on('data', (d) => { out += d; });
		exited = new Promise((res) => child.on('exit', res));
		await until(() => {
			if (child.exitCode !== null)
				throw new Error(`tools/stack exited:\n${out}`);
			return out.includes('chat: serving');
		}, 30000, 'the stack', () => out);
		// The daemon and both workers are up and have finished starting:
		// a process is counted from its exec, while it is still root and
		// opening what it needs, so wait until none is effectively root.
		// The tests below check every id.
		const started = (prog) => pidsOf(st, prog).filter((p) => {
			try {
				return ids(p).uid[1] !== 0;
			} catch {
				return false;
			}
		}).length;
		await until(() => started('chat-fcgi') === 2 &&
		    started('chat-pushd') === 1, 15000, 'processes',
		() => out);
	});
	after(async () => {
		closeAll();
		if (child && child.exitCode === null) {
			child.kill('SIGTERM');
			const t = setTimeout(() => child.kill('SIGKILL'), 15000);
			await exited;
			clearTimeout(t);
		}
		if (varDir)
			rmSync(varDir, { recursive: true, force: true });
		const san = out.search(/ERROR: \w+Sanitizer|runtime error:/);
		if (san !== -1)
			throw new Error('sanitizer report:\n' +
			    out.slice(Math.max(0, san - 200), san + 4000));
	});

	for (const prog of ['chat-fcgi', 'chat-pushd']) {
		test(`${prog} runs as the service user: real, effective, ` +
		    'saved and fs ids, one group', () => {
			const pids = pidsOf(st, prog);
			assert.ok(pids.length > 0, `no ${prog} found:\n${out}`);
			for (const pid of pids) {
				const i = ids(pid);
				assert.deepEqual(i.uid, Array(4).fill(svc.uid),
				    `${prog} ${pid} Uid`);
				assert.deepEqual(i.gid, Array(4).fill(svc.gid),
				    `${prog} ${pid} Gid`);
				assert.deepEqual(i.groups, [svc.gid],
				    `${prog} ${pid} Groups`);
			}
		});
	}

	test('they are sandboxed: seccomp filter and no_new_privs', () => {
		for (const pid of [...pidsOf(st, 'chat-fcgi'),
			...pidsOf(st, 'chat-pushd')]) {
			const s = readFileSync(`/proc/${pid}/status`, 'utf8');
			assert.match(s, /^NoNewPrivs:\s*1$/m, `${pid}`);
			assert.match(s, /^Seccomp:\s*2$/m, `${pid}`);
		}
	});

	test('what root created belongs to the service user', () => {
		for (const f of ['chat.db', 'run/push.sock', 'run/bus-events',
			'run/bus-query'])
			assert.equal(statSync(join(varDir, f)).uid, svc.uid, f);
	});

	test('REST answers 201 and a socket gets the post over the bus',
	    async () => {
		const a = await newUser(url);
		const b = await newUser(url);
		const room = await newRoom(url, a, [b.email]);
		const s = await connect(url, b, { transport: 'websocket' });
		const r = await post(url, a, room.id, 'after the drop');
		assert.equal(r.status, 201, r.text);
		await gotIds(s, [r.body.id]);
	});

	test('a respawned worker drops too', async () => {
		const [victim] = pidsOf(st, 'chat-fcgi');
		process.kill(victim, 'SIGKILL');
		await until(() => {
			const w = pidsOf(st, 'chat-fcgi');
			return w.length === 2 && !w.includes(victim) &&
			    w.every((p) => ids(p).uid[0] === svc.uid);
		}, 15000, 'a new dropped worker', () => out);
		const u = await newUser(url);
		assert.ok(u.token);
	});

	test('tools/stack: secret 0400, run directory 0700, secret never ' +
	    'logged', () => {
		const key = join(varDir, 'secret.key');
		assert.equal(statSync(key).mode & 0o777, 0o400);
		assert.equal(statSync(join(varDir, 'run')).mode & 0o777, 0o700);
		const secret = readFileSync(key, 'utf8').trim();
		assert.ok(secret.length >= 32);
		assert.ok(!out.includes(secret), 'the secret is in the logs');
	});
});
