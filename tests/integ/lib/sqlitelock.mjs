// SPDX-License-Identifier: ISC
//
// Hold SQLite's write lock on a database file from another process (the
// sqlite3 command-line tool), as a long writer or a stuck process would.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { until } from './sio.mjs';

// Take the lock on "db" (BEGIN EXCLUSIVE) and resolve once it is held; the
// result is an async function that commits, releases it and checks that
// sqlite3 exited cleanly.
export async function holdLock(db) {
	const p = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
	let out = '';
	p.stdout.on('data', (d) => { out += d; });
	p.stderr.on('data', (d) => { out += d; });
	const exited = new Promise((res) => p.on('exit', res));
	p.stdin.write('.timeout 10000\nBEGIN EXCLUSIVE;\nSELECT \'locked\';\n');
	await until(() => out.includes('locked'), 15000, 'the lock',
	    () => out);
	return async () => {
		p.stdin.end('COMMIT;\n');
		assert.equal(await exited, 0, out);
	};
}
