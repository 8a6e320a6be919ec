// SPDX-License-Identifier: ISC
//
// The nginx of a running stack and its configuration reloads. Process
// titles cannot tell worker generations apart: an old generation's worker
// keeps the title "nginx: worker process" for a moment after a reload
// before it renames itself "worker process is shutting down", and a new
// one has the master's title until it renames itself. So a reload is
// judged against a snapshot of every child of the master taken before the
// signal: a child not in it belongs to the new generation. A child is named
// by pid and start time (field 22 of /proc/PID/stat), so a reused pid is
// a new child.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './sio.mjs';

// The master of stack "st"'s nginx and all its children ("pid@start"),
// whatever their title.
export function nginxProcs(st) {
	const conf = join(st.var, 'run/nginx.conf');
	const master = Number(readFileSync(join(st.var, 'run/nginx.pid'),
	    'utf8'));
	const kids = [];
	for (const p of readdirSync('/proc')) {
		if (!/^\d+$/.test(p))
			continue;
		let f;
		try {
			const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
			f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		} catch {
			continue;
		}
		// f[0] is the state, f[1] the ppid, f[19] the start time.
		if (Number(f[1]) === master && f[0] !== 'Z')
			kids.push(`${p}@${f[19]}`);
	}
	return { master, kids, conf };
}

// The worker_processes of the rendered nginx.conf: how many workers each
// generation has.
export const generation = (st) => Number(/^\s*worker_processes\s+(\d+);/m
    .exec(readFileSync(join(st.var, 'run/nginx.conf'), 'utf8'))[1]);

// The children of the master started since snapshot "then" of
// nginxProcs().
export const newKids = (st, then) => nginxProcs(st).kids
    .filter((k) => !then.kids.includes(k));

// `nginx -s reload` for stack "st"; throws when nginx refuses.
export function reloadNginx(st) {
	const run = join(st.var, 'run');
	const r = spawnSync('nginx', ['-p', run, '-e',
		join(run, 'nginx-error.log'), '-c', join(run, 'nginx.conf'),
		'-s', 'reload'], { encoding: 'utf8' });
	if (r.status !== 0)
		throw new Error(`nginx -s reload: ${r.stderr}`);
}

// Wait until a whole new generation of workers runs since snapshot "then";
// with "drained", also until every child of "then" has exited, so that no
// request can reach a worker of the old configuration.
export function reloaded(st, then, { drained = false, ms = 30000 } = {}) {
	return until(() => {
		const now = nginxProcs(st).kids;
		return now.filter((k) => !then.kids.includes(k)).length >=
		    generation(st) && (!drained ||
		    !now.some((k) => then.kids.includes(k)));
	}, ms, 'new nginx workers', () => `before ${then.kids}, ` +
	    `now ${nginxProcs(st).kids}`);
}
