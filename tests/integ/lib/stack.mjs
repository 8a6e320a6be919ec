// SPDX-License-Identifier: ISC
//
// Start the real service (tools/stack: workers, push daemon when built,
// nginx or lighttpd) on a free loopback port with a fresh temporary var
// directory, and stop it again. Only 127.0.0.1 is ever contacted; the var
// directory is removed on stop unless CHAT_KEEP_VAR is set. stop() throws
// when a child printed a sanitizer report, so the test file fails.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SRCDIR = resolve(dirname(fileURLToPath(import.meta.url)),
    '../../..');

// Limits generous enough that functional tests never meet them; a test
// about a limit passes its own values in "set".
const RELAXED = {
	auth_burst: '100000',
	auth_rate: '1000',
	login_fail_max: '100000',
	login_fail_account_max: '100000',
	msg_burst: '100000',
	msg_rate: '1000',
	room_create_burst: '100000',
	room_create_rate: '1000',
	members_named_burst: '1000000',
	members_named_rate: '100000',
	// Every test client comes from 127.0.0.1.
	max_connections_per_addr: '1000000',
	// Tests open many sockets of one user (the soak: thousands).
	sockets_per_user_max: '1000000',
};

const running = new Set();
process.on('exit', () => {
	for (const s of running)
		s.kill('SIGKILL');
});

// A TCP port that was free a moment ago on 127.0.0.1.
export function freePort() {
	return new Promise((res, rej) => {
		const srv = createServer();
		srv.unref();
		srv.on('error', rej);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => res(port));
		});
	});
}

// Start a stack. opts: web ('nginx' | 'lighttpd'), workers (default
// CHAT_WORKERS from the environment, else 4), set (chat.conf keys; null
// deletes a relaxed default), relaxed (default true), daemon (default
// true; false runs the stack from a build folder that holds chat-fcgi
// only, so it has no push daemon, and a path runs that program as the
// daemon instead; the folder goes with stop()).
// Resolves to { url, port, var, secret(), stop(), output() }.
export async function startStack(opts = {}) {
	const web = opts.web ?? 'nginx';
	const keys = { ...(opts.relaxed === false ? {} : RELAXED),
		...(opts.set ?? {}) };
	let env = process.env;
	let shadow = null;
	if (opts.daemon === false || typeof opts.daemon === 'string') {
		shadow = mkdtempSync(join(tmpdir(), 'chat-build-'));
		symlinkSync(join(resolve(SRCDIR, process.env.CHAT_BUILD ??
		    'build/default'), 'chat-fcgi'), join(shadow, 'chat-fcgi'));
		if (typeof opts.daemon === 'string')
			symlinkSync(resolve(SRCDIR, opts.daemon),
			    join(shadow, 'chat-pushd'));
		env = { ...process.env, CHAT_BUILD: shadow };
	}
	const removeShadow = () => {
		if (shadow !== null)
			rmSync(shadow, { recursive: true, force: true });
	};
	const varDir = mkdtempSync(join(tmpdir(), 'chat-integ-'));
	for (let attempt = 0; ; attempt++) {
		const port = await freePort();
		const args = ['run', '--port', String(port), '--var', varDir,
			'--web', web, '--workers',
			String(opts.workers ?? process.env.CHAT_WORKERS ?? 4)];
		for (const [k, v] of Object.entries(keys))
			if (v !== null)
				args.push('--set', `${k}=${v}`);
		const child = spawn(join(SRCDIR, 'tools/stack'), args, {
			cwd: SRCDIR,
			env,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		running.add(child);
		let out = '';
		let timer;
		child.stdout.on('data', (d) => { out += d; });
		child.stderr.on('data', (d) => { out += d; });
		const exited = new Promise((res) => child.on('exit',
		    (code, sig) => { running.delete(child); res({ code, sig }); }));
		const ready = await Promise.race([
			new Promise((res) => {
				const check = () => {
					if (out.includes('chat: serving'))
						res(true);
				};
				child.stdout.on('data', check);
				check();
			}),
			exited.then(() => false),
			new Promise((res) => {
				timer = setTimeout(() => res(false), 30000);
			}),
		]);
		clearTimeout(timer);
		if (!ready) {
			child.kill('SIGTERM');
			await exited;
			// Another process may have taken the port meanwhile.
			if (attempt < 2 && /bind|in use/i.test(out))
				continue;
			rmSync(varDir, { recursive: true, force: true });
			removeShadow();
			throw new Error(`tools/stack did not start:\n${out}`);
		}
		return {
			url: `http://127.0.0.1:${port}`,
			port,
			var: varDir,
			web,
			output: () => out,
			// The JWT key exactly as the service uses it.
			secret: () => readFileSync(join(varDir, 'secret.key'),
			    'utf8').replace(/[\r\n]+$/, ''),
			// Run the sqlite3 CLI on the service database.
			sql: (stmt) => {
				const r = spawnSync('sqlite3', ['-cmd',
				    '.timeout 5000', join(varDir, 'chat.db'),
				    stmt], { encoding: 'utf8' });
				if (r.status !== 0)
					throw new Error(`sqlite3: ${r.stderr}`);
				return r.stdout;
			},
			alive: () => child.exitCode === null &&
			    child.signalCode === null,
			async stop() {
				if (child.exitCode === null &&
				    child.signalCode === null)
					child.kill('SIGTERM');
				const t = setTimeout(() => child.kill('SIGKILL'),
				    15000);
				const r = await exited;
				clearTimeout(t);
				// Only now: multiwatch respawns workers from it.
				removeShadow();
				if (!process.env.CHAT_KEEP_VAR)
					rmSync(varDir, { recursive: true,
						force: true });
				// A worker or daemon that crashed under a
				// sanitizer was respawned: fail the file.
				const san = out.search(/ERROR: \w+Sanitizer|runtime error:/);
				if (san !== -1)
					throw new Error('sanitizer report:\n' +
					    out.slice(Math.max(0, san - 200), san + 4000));
				return r;
			},
		};
	}
}
