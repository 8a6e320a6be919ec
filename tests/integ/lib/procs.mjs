// SPDX-License-Identifier: ISC
//
// The processes of one running stack, found through /proc by the chat.conf
// its children were started with (every worker and daemon of a stack gets
// "-c VAR/run/chat.conf"), so that a test signals only what it started.
// Also a stack whose workers crash at a named fault point (lib/common/fault.h):
// CHAT_FAULT=point@file, armed by creating the file.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync,
	existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from './stack.mjs';
import { until } from './sio.mjs';

// The pids of stack "st"'s processes whose program is "prog" (chat-fcgi or
// chat-pushd), a wrapper such as valgrind included.
export function pidsOf(st, prog) {
	const conf = join(st.var, 'run/chat.conf');
	const out = [];
	for (const p of readdirSync('/proc')) {
		if (!/^\d+$/.test(p))
			continue;
		let argv;
		try {
			argv = readFileSync(`/proc/${p}/cmdline`, 'latin1')
			    .split('\0');
		} catch {
			continue;
		}
		// multiwatch's argv names chat-fcgi too, and the daemon's
		// supervisor ("tools/stack supervise") chat-pushd: neither
		// is the program.
		if (argv.some((a) => a.endsWith(`/${prog}`)) &&
		    argv.includes(conf) && !argv.includes('-n') &&
		    !argv[0].endsWith('/multiwatch') &&
		    !argv.some((a) => a.endsWith('/tools/stack')))
			out.push(Number(p));
	}
	return out;
}

export const workers = (st) => pidsOf(st, 'chat-fcgi');

// The one running push daemon of "st"; throws when there is none or more.
export function daemonPid(st) {
	const p = pidsOf(st, 'chat-pushd');
	if (p.length !== 1)
		throw new Error(`expected one chat-pushd, found ${p.length}`);
	return p[0];
}

// Wait until "n" workers run and none of "gone" is among them.
export function workersBack(st, n, gone = [], ms = 15000) {
	return until(() => {
		const w = workers(st);
		return w.length === n && !w.some((p) => gone.includes(p));
	}, ms, `${n} workers`, () => `${workers(st)}`);
}

// Start a stack (opts as startStack) whose workers crash with SIGKILL at
// fault point "point" once per st.fault.arm(). st.fault.fired() tells
// whether the armed crash happened (the dying worker removes the file).
export async function startFaultStack(point, opts = {}) {
	const dir = mkdtempSync(join(tmpdir(), 'chat-fault-'));
	const file = join(dir, 'arm');
	const saved = process.env.CHAT_FAULT;
	let st;
	process.env.CHAT_FAULT = `${point}@${file}`;
	try {
		st = await startStack(opts);
	} finally {
		if (saved === undefined)
			delete process.env.CHAT_FAULT;
		else
			process.env.CHAT_FAULT = saved;
	}
	st.fault = {
		arm: () => writeFileSync(file, ''),
		fired: () => !existsSync(file),
		disarm: () => rmSync(file, { force: true }),
	};
	const stop = st.stop;
	st.stop = async () => {
		rmSync(dir, { recursive: true, force: true });
		return stop();
	};
	return st;
}
