// SPDX-License-Identifier: ISC
//
// `make run` as a developer starts it, for the tests of how the stack
// starts and stops: the GNUmakefile's run-stack recipe (without rebuilding:
// the runner built CHAT_BUILD already) in a process group of its own, as a
// shell's job or a supervisor's service has, with its own var directory
// and port. Also the processes of such a stack, found through /proc.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { SRCDIR } from './stack.mjs';

// Start `make run-stack` with the make variables "vars" ({ PORT, VAR,
// SET, CORS_ORIGINS }). Resolves to { child, pgid, output(), exited,
// exitedWithin(ms) } once the stack said "chat: serving", or when make
// ended first (then child.exitCode is set); "exited" resolves to { code,
// sig }, exitedWithin(ms) to the same or to null after ms. make runs
// under setpriv --pdeathsig TERM, so a test process killed by the
// runner's timeout takes its stacks with it.
export function makeRun(vars, ms = 60000) {
	const env = { ...process.env };
	// A make above the test runner must not lend this one its jobserver.
	for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES'])
		delete env[k];
	const args = ['--no-print-directory', '-o', 'all', '-o', 'www-vendor',
		'run-stack', `B=${env.CHAT_BUILD ?? 'build/default'}`];
	for (const [k, v] of Object.entries(vars))
		args.push(`${k}=${v}`);
	const child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', 'make',
		...args], { cwd: SRCDIR, env, detached: true,
		stdio: ['ignore', 'pipe', 'pipe'] });
	let out = '';
	const exited = new Promise((res) => child.on('exit',
	    (code, sig) => res({ code, sig })));
	return new Promise((res, rej) => {
		const exitedWithin = (t) => Promise.race([exited,
			new Promise((r) => setTimeout(() => r(null), t)
			    .unref())]);
		const done = () => res({ child, pgid: child.pid, exited,
			exitedWithin, output: () => out });
		const timer = setTimeout(() => rej(new Error(
		    `make run-stack did not start:\n${out}`)), ms);
		const check = () => {
			if (out.includes('chat: serving')) {
				clearTimeout(timer);
				done();
			}
		};
		child.stdout.on('data', (d) => { out += d; check(); });
		child.stderr.on('data', (d) => { out += d; });
		exited.then(() => { clearTimeout(timer); done(); });
	});
}

// Every live process: pid, ppid, pgid, start time (which tells a reused
// pid from the process it replaces), cmdline and working directory
// (null when unreadable). Zombies are left out: they run nothing.
export function processes() {
	const out = [];
	for (const p of readdirSync('/proc')) {
		if (!/^\d+$/.test(p))
			continue;
		let f, cmdline, cwd = null;
		try {
			const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
			f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			cmdline = readFileSync(`/proc/${p}/cmdline`, 'latin1')
			    .replace(/\0+$/, '').split('\0').join(' ');
		} catch {
			continue;
		}
		try {
			cwd = readlinkSync(`/proc/${p}/cwd`);
		} catch {
			// gone, or not ours
		}
		if (f[0] === 'Z' || f[0] === 'X')
			continue;
		out.push({ pid: Number(p), ppid: Number(f[1]),
			pgid: Number(f[2]), start: f[19], cmdline, cwd,
			key: `${p}@${f[19]}` });
	}
	return out;
}

// The live descendants of process "root" (itself included).
export function descendants(root) {
	const all = processes();
	const set = new Set([root]);
	for (let grew = true; grew;) {
		grew = false;
		for (const p of all) {
			if (!set.has(p.pid) && set.has(p.ppid)) {
				set.add(p.pid);
				grew = true;
			}
		}
	}
	return all.filter((p) => set.has(p.pid));
}

// The live processes that belong to a stack on "varDir": one of "known"
// (processes() entries seen earlier, matched by pid and start time), one
// in process group "pgid", or one whose working directory or command line
// names varDir.
export function leftovers(varDir, known = [], pgid = 0) {
	const keys = new Set(known.map((p) => p.key));
	return processes().filter((p) => keys.has(p.key) ||
	    (pgid !== 0 && p.pgid === pgid) || p.cmdline.includes(varDir) ||
	    (p.cwd !== null && (p.cwd === varDir ||
		p.cwd.startsWith(`${varDir}/`))));
}

// What a failed case left behind, for a test file's after(): SIGKILL to
// every process group in "groups", then to any process that still runs in
// or names one of the var directories "dirs", which are then removed.
export function cleanUp(groups, dirs) {
	const kill = (pid) => {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {
			// already gone
		}
	};
	for (const g of groups)
		kill(-g);
	for (const d of dirs) {
		for (const p of leftovers(d))
			kill(p.pid);
		rmSync(d, { recursive: true, force: true });
	}
}

export const describe = (ps) => ps.map((p) => `${p.pid} ` +
    `(pgid ${p.pgid}, cwd ${p.cwd}) ${p.cmdline}`).join('\n');

// Whether TCP port "port" of 127.0.0.1 can be bound (nobody listens).
export function portFree(port) {
	return new Promise((res) => {
		const srv = createServer();
		srv.once('error', () => res(false));
		srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
	});
}
