// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// Uploads and dying processes (docs/testing.md 4.4 item 1): a worker killed
// with SIGKILL while it writes an upload's temp file (the client gets a JSON
// 5xx, multiwatch respawns the worker, whose startup sweep removes the orphan),
// the sweep leaving alone a temp file whose lock is held, a worker killed
// between the rename to the final name and the row insert (the respawned
// worker's sweep removes the row-less file), and a client that goes away
// mid-body. Only processes of the stack started here are signalled.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, writeFileSync }
	from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack } from './lib/stack.mjs';
import { newUser } from './lib/api.mjs';
import { startFaultStack, workers as workersOf, workersBack }
	from './lib/procs.mjs';
import { ALLOWED, bigPng, ls, multipart, upload } from './lib/media.mjs';

let st;
let U;
let a;
let media;
const stacks = [];
before(async () => {
	st = await startStack({ set: { upload_burst: '100000',
		upload_rate: '1000' } });
	U = st.url;
	media = join(st.var, 'media');
	a = await newUser(U);
});
after(async () => {
	await st?.stop();
	for (const s of stacks)
		await s.stop();
});

const workers = () => workersOf(st);

// Wait until "cond()" holds, up to "ms"; returns its last value.
async function until(cond, ms = 5000) {
	const end = Date.now() + ms;
	let v;
	while (!(v = cond()) && Date.now() < end)
		await sleep(20);
	return v;
}

const tmpFiles = () => ls(media).filter((n) => n.startsWith('.tmp-'));

// A separate process that polls the workers' open files in a tight loop
// and SIGKILLs the first one holding a temp file of "dir"; it prints
// "polling" once it runs, then the pid it killed, or nothing after "ms".
const KILLER = `
const fs = require('node:fs');
const [dir, ms, ...pids] = process.argv.slice(1);
const end = Date.now() + Number(ms);
fs.writeSync(1, 'polling\\n');
while (Date.now() < end) {
	for (const pid of pids) {
		let fds;
		try { fds = fs.readdirSync('/proc/' + pid + '/fd'); }
		catch { continue; }
		for (const fd of fds) {
			let t;
			try { t = fs.readlinkSync('/proc/' + pid + '/fd/' + fd); }
			catch { continue; }
			if (t.startsWith(dir + '/.tmp-')) {
				process.kill(Number(pid), 'SIGKILL');
				process.stdout.write(pid);
				process.exit(0);
			}
		}
	}
}
`;

// Resolves to { done } once the killer polls; "done" resolves to the pid
// it killed ('' for none).
function startKiller(pids, ms) {
	const k = spawn(process.execPath, ['-e', KILLER, media, String(ms),
		...pids.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
	let out = '';
	const done = new Promise((res) => k.on('exit',
	    () => res(out.replace(/^polling\n/, ''))));
	return new Promise((res) => {
		k.stdout.on('data', (d) => {
			out += d;
			if (out.startsWith('polling\n'))
				res({ done });
		});
		// A killer that dies at once resolves too: done says ''.
		k.on('exit', () => res({ done }));
	});
}

test('a worker killed mid-upload: 5xx JSON, respawned, orphan swept',
    async (t) => {
	const before = workers();
	assert.ok(before.length >= 1, 'no worker found');
	let killed = '';
	let r;
	let i;
	// The worker holds the temp file for the milliseconds it takes to
	// write 9 MB and fsync: a few tries catch it.
	for (i = 0; i < 8 && killed === ''; i++) {
		const k = await startKiller(workers(), 4000);
		r = await upload(U, a.token, bigPng(9 << 20, 100 + i))
		    .catch((e) => ({ status: String(e) }));
		killed = await k.done;
	}
	assert.notEqual(killed, '', 'never caught a worker mid-upload');
	t.diagnostic(`worker ${killed} killed at try ${i}: ${r.status}`);
	assert.ok(r.status === 502 || r.status === 503, `${r.status}`);
	assert.equal(typeof r.body?.detail, 'string');
	assert.ok(!workers().includes(Number(killed)));
	// multiwatch starts a new worker; its startup sweep removes the
	// temp file the dead worker left (its lock died with it).
	assert.ok(await until(() => workers().length === before.length),
	    'worker not respawned');
	assert.ok(await until(() => tmpFiles().length === 0),
	    `left: ${tmpFiles()}`);
	// Every row names a complete file.
	for (const row of st.sql('SELECT name || \' \' || size FROM media;')
	    .trim().split('\n').filter(Boolean)) {
		const [name, size] = row.split(' ');
		assert.equal(readFileSync(join(media, name)).length,
		    Number(size), name);
	}
	const ok = await upload(U, a.token, ALLOWED.png.data);
	assert.equal(ok.status, 201, ok.text);
});

test('the startup sweep removes stale temp files, not locked ones',
    async () => {
	const stale = `.tmp-${randomBytes(16).toString('hex')}`;
	const live = `.tmp-${randomBytes(16).toString('hex')}`;
	writeFileSync(join(media, stale), 'stale');
	writeFileSync(join(media, live), 'live');
	// flock(1) holds the same kind of lock an upload in progress holds.
	const holder = spawn('flock', ['--exclusive', join(media, live),
		'sleep', '30'], { stdio: 'ignore' });
	try {
		await until(() => {
			try {
				return readdirSync(`/proc/${holder.pid}/fd`).some(
				    (fd) => readlinkSync(`/proc/${holder.pid}/fd/` +
				    fd).endsWith(live));
			} catch {
				return false;
			}
		});
		const n = workers().length;
		process.kill(workers()[0], 'SIGKILL');
		assert.ok(await until(() => !ls(media).includes(stale)),
		    'stale temp file not swept');
		assert.ok(await until(() => workers().length === n));
		assert.ok(ls(media).includes(live), 'locked temp file removed');
		const ok = await upload(U, a.token, ALLOWED.png.data);
		assert.equal(ok.status, 201, ok.text);
	} finally {
		holder.kill('SIGKILL');
	}
});

test('a worker killed between rename and row: the file is swept',
    async () => {
	const fs = await startFaultStack('upload_before_row', { workers: 2 });
	stacks.push(fs);
	const dir = join(fs.var, 'media');
	const u = await newUser(fs.url);
	const w = workersOf(fs);
	fs.fault.arm();
	const r = await upload(fs.url, u.token, ALLOWED.png.data);
	assert.ok(fs.fault.fired(), 'the fault point was not reached');
	assert.equal(r.status, 503, r.text);
	assert.equal(typeof r.body?.detail, 'string');
	const gone = w.filter((p) => !workersOf(fs).includes(p));
	assert.equal(gone.length, 1, 'exactly one worker died');
	await workersBack(fs, w.length, gone);
	assert.equal(fs.sql('SELECT count(*) FROM media;').trim(), '0');
	// The dead worker had renamed the file to its final, servable name
	// but not written its row; the new worker's startup sweep took the
	// lock the dead one held and removed it. Without that sweep the
	// file stays for good.
	assert.ok(await until(() => ls(dir).length === 0, 10000),
	    `left: ${ls(dir)}`);
	const ok = await upload(fs.url, u.token, ALLOWED.png.data);
	assert.equal(ok.status, 201, ok.text);
	assert.deepEqual(ls(dir), [ok.body.file_url.slice('/media/'.length)]);
	assert.equal(fs.sql('SELECT count(*) FROM media;').trim(), '1');
});

// The uploads nginx has finished with (logged), whatever their status.
const uploadsLogged = () => (readFileSync(join(st.var,
    'run/nginx-access.log'), 'utf8').match(/"POST \/chat\/upload_media\/ /g) ??
    []).length;

test('a client that goes away mid-body leaves nothing', async () => {
	const names = ls(media).filter((n) => !n.startsWith('.tmp-'));
	const logged = uploadsLogged();
	const m = multipart([{ filename: 'x.png', data: bigPng(2 << 20, 9) }]);
	const u = new URL(U);
	await new Promise((res, rej) => {
		const s = net.connect(Number(u.port), u.hostname, () => {
			s.write(`POST /chat/upload_media/ HTTP/1.1\r\n` +
			    `Host: ${u.host}\r\nAuthorization: Bearer ${a.token}` +
			    `\r\nContent-Type: ${m.type}\r\n` +
			    `Content-Length: ${m.body.length}\r\n\r\n`);
			s.write(m.body.subarray(0, m.body.length >> 1), () => {
				s.destroy();
				res();
			});
		});
		s.on('error', rej);
	});
	// nginx logs the request once it has given up on it: only then
	// is "nothing stored" final.
	assert.ok(await until(() => uploadsLogged() > logged, 15000),
	    'nginx never finished the aborted upload');
	assert.deepEqual(ls(media).filter((n) => !n.startsWith('.tmp-')),
	    names);
	const ok = await upload(U, a.token, ALLOWED.png.data);
	assert.equal(ok.status, 201, ok.text);
});
