// SPDX-License-Identifier: ISC
//
// A stack whose push daemon the test runs itself, so that it can kill and
// restart it: tools/stack brings the whole stack down when a child dies, so
// the stack is started from a build folder that holds only chat-fcgi (it
// then serves without a daemon) and the daemon is started here with the
// same command tools/stack uses, on the rendered chat.conf.

import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SRCDIR, startStack } from './stack.mjs';
import { until } from './sio.mjs';

const children = new Set();
process.on('exit', () => {
	for (const c of children)
		c.kill('SIGKILL');
});

// Start a stack (opts as startStack) and its daemon, with the extra
// arguments opts.pushdArgs (e.g. ['-v']). Resolves to the stack with
// st.pushd: { pid(), start(), kill(signal), exited(), output() }.
export async function startStackOwnDaemon(opts = {}) {
	const build = resolve(SRCDIR, process.env.CHAT_BUILD ?? 'build/default');
	const bin = join(build, 'chat-pushd');
	if (!existsSync(bin))
		throw new Error(`${bin} not built`);
	const st = await startStack({ ...opts, daemon: false });
	const conf = join(st.var, 'run/chat.conf');
	const sock = join(st.var, 'run/push.sock');
	let child = null;
	let out = '';
	let exit = null;

	// Whether an Engine.IO handshake through the web server succeeds.
	const answers = async () => {
		try {
			const r = await fetch(`${st.url}/socket.io/?EIO=4` +
			    '&transport=polling');
			return r.status === 200 && (await r.text())[0] === '0';
		} catch {
			return false;
		}
	};

	const pushd = {
		pid: () => child?.pid,
		output: () => out,
		// Start the daemon and wait until it answers through nginx.
		async start() {
			if (child !== null)
				throw new Error('daemon already running');
			rmSync(sock, { force: true });
			const c = spawn(bin, ['-c', conf,
				...(opts.pushdArgs ?? [])], { cwd: SRCDIR,
				stdio: ['ignore', 'pipe', 'pipe'] });
			children.add(c);
			child = c;
			exit = new Promise((res) => c.on('exit', (code, sig) => {
				children.delete(c);
				if (child === c)
					child = null;
				res({ code, sig });
			}));
			c.stdout.on('data', (d) => { out += d; });
			c.stderr.on('data', (d) => { out += d; });
			await until(async () => {
				if (c.exitCode !== null || c.signalCode !== null)
					throw new Error(`chat-pushd exited:\n${out}`);
				return answers();
			}, 20000, 'chat-pushd to answer');
		},
		// Send "signal" and wait for the exit; resolves to it.
		async kill(signal = 'SIGKILL') {
			if (child === null)
				throw new Error('daemon not running');
			const e = exit;
			child.kill(signal);
			const t = setTimeout(() => child?.kill('SIGKILL'), 10000);
			const r = await e;
			clearTimeout(t);
			return r;
		},
	};
	st.pushd = pushd;
	const stop = st.stop;
	// Stop the daemon, then the stack; a sanitizer report fails.
	st.stop = async () => {
		if (child !== null)
			await pushd.kill('SIGTERM');
		const r = await stop();
		const san = out.search(/ERROR: \w+Sanitizer|runtime error:/);
		if (san !== -1)
			throw new Error('chat-pushd sanitizer report:\n' +
			    out.slice(Math.max(0, san - 200), san + 4000));
		return r;
	};
	await pushd.start();
	return st;
}
