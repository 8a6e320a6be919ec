// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// Upload limits through nginx, each on its own stack: upload_max (the
// worker's 413 and nginx's client_max_body_size rendered from it, with
// nothing left on disk), the per-user upload rate (429 with Retry-After),
// and a full disk (507, nothing half-written) with the media directory on
// a 256 KiB tmpfs mounted here (the tests run as root).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync }
	from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { nginxProcs, reloaded, reloadNginx } from './lib/nginx.mjs';
import { call, newUser } from './lib/api.mjs';
import { ALLOWED, bigPng, fetchBytes, ls, multipart, upload }
	from './lib/media.mjs';

// POST a multipart body chunked (no Content-Length) in 16 KiB writes.
// Resolves to the status, or the socket error's text when the server
// closed the connection while the body was still being sent.
function uploadChunked(base, token, body) {
	const u = new URL(base);
	return new Promise((res, rej) => {
		const rq = http.request({ host: u.hostname, port: u.port,
			method: 'POST', path: '/chat/upload_media/',
			headers: { Authorization: `Bearer ${token}`,
				'Content-Type': body.type } }, (rs) => {
			const chunks = [];
			rs.on('data', (c) => chunks.push(c));
			rs.on('end', () => res({ status: rs.statusCode,
				text: Buffer.concat(chunks).toString() }));
		});
		rq.on('error', rej);
		for (let i = 0; i < body.body.length; i += 16384)
			rq.write(body.body.subarray(i, i + 16384));
		rq.end();
	}).catch((e) => ({ status: String(e), text: '' }));
}

describe('upload_max 64k', () => {
	let st;
	let U;
	let a;
	let media;
	before(async () => {
		st = await startStack({ set: { upload_max: '64k',
			upload_burst: '100000', upload_rate: '1000' } });
		U = st.url;
		media = join(st.var, 'media');
		a = await newUser(U);
	});
	after(async () => { await st?.stop(); });

	test('nginx\'s body limit is upload_max plus the framing', () => {
		const conf = readFileSync(join(st.var, 'run/nginx.conf'), 'utf8');
		assert.match(conf, /location \/chat\/upload_media \{[^}]*client_max_body_size 131072;/);
	});

	test('a file of exactly upload_max bytes: 201', async () => {
		const data = bigPng(65536, 1);
		const r = await upload(U, a.token, data);
		assert.equal(r.status, 201, r.text);
		assert.equal(r.body.size, 65536);
		const g = await fetchBytes(U, r.body.file_url);
		assert.ok(g.bytes.equals(data));
	});

	test('over upload_max, under nginx\'s limit: the worker\'s 413',
	    async () => {
		for (const size of [65537, 100000, 130000]) {
			const names = ls(media);
			const r = await upload(U, a.token, bigPng(size, 2));
			assert.equal(r.status, 413, `${size}: ${r.text}`);
			assert.deepEqual(r.body, { detail: 'File too large' });
			assert.deepEqual(ls(media), names, `${size}`);
		}
	});

	test('over the web server\'s limit: nginx\'s 413 JSON', async () => {
		for (const size of [140000, 1 << 20, 12 << 20]) {
			const names = ls(media);
			const r = await upload(U, a.token, bigPng(size, 3))
			    .catch((e) => ({ status: String(e.cause ?? e) }));
			if (typeof r.status === 'string') {
				// The connection closed while sending: allowed
				// only for a body much larger than the limit.
				assert.ok(size > 1 << 20, r.status);
				assert.match(r.status, /EPIPE|ECONNRESET|closed/);
			} else {
				assert.equal(r.status, 413, `${size}: ${r.text}`);
				assert.deepEqual(r.body,
				    { detail: 'Request body too large' });
			}
			assert.deepEqual(ls(media), names, `${size}`);
		}
	});

	test('nginx\'s limit raised: the worker refuses by CONTENT_LENGTH',
	    async () => {
		// Defence in depth (docs/security.md 3.2, rule 5): with the web
		// server's limit raised by mistake, the worker's own check of
		// CONTENT_LENGTH still answers 413 and stores nothing.
		const run = join(st.var, 'run');
		const cf = join(run, 'nginx.conf');
		const orig = readFileSync(cf, 'utf8');
		writeFileSync(cf, orig.replace('client_max_body_size 131072;',
		    'client_max_body_size 8m;'));
		const ng = ['-p', run, '-e', join(run, 'nginx-error.log'),
			'-c', cf];
		try {
			assert.equal(spawnSync('nginx', [...ng, '-t', '-q'])
			    .status, 0);
			// Every request after this meets the new
			// configuration: no worker of the old one is left.
			const then = nginxProcs(st);
			reloadNginx(st);
			await reloaded(st, then, { drained: true });
			for (const size of [1 << 20, 6 << 20]) {
				const names = ls(media);
				const r = await upload(U, a.token,
				    bigPng(size, 5));
				assert.equal(r.status, 413, `${size}: ${r.text}`);
				assert.deepEqual(r.body,
				    { detail: 'File too large' });
				assert.deepEqual(ls(media), names, `${size}`);
			}
		} finally {
			writeFileSync(cf, orig);
			const then = nginxProcs(st);
			reloadNginx(st);
			await reloaded(st, then, { drained: true });
		}
	});

	test('chunked bodies over the limit: 413', async () => {
		for (const size of [100000, 1 << 20]) {
			const names = ls(media);
			const r = await uploadChunked(U, a.token,
			    multipart([{ filename: 'x.png',
				data: bigPng(size, 4) }]));
			// The worker counts the bytes it reads; nginx stops
			// the larger one itself (possibly mid-send).
			if (size < 131072)
				assert.equal(r.status, 413, r.text);
			else
				assert.ok(r.status === 413 ||
				    /EPIPE|ECONNRESET/.test(r.status),
				    `${size}: ${r.status} ${r.text}`);
			assert.deepEqual(ls(media), names, `${size}`);
		}
		const ok = await uploadChunked(U, a.token, multipart(
		    [{ filename: 'x.png', data: bigPng(60000, 5) }]));
		assert.equal(ok.status, 201, ok.text);
	});

	test('a small file next to large other fields: 201', async () => {
		const m = multipart([{ name: 'note', data: 'n'.repeat(30000) },
			{ filename: 'x.png', data: ALLOWED.png.data }]);
		const r = await call(U, 'POST', '/chat/upload_media/',
		    { token: a.token, body: m.body, type: m.type });
		assert.equal(r.status, 201, r.text);
	});

	test('no temp file left, the workers still serve', async () => {
		assert.deepEqual(ls(media).filter((n) => n.startsWith('.')), []);
		const r = await upload(U, a.token, ALLOWED.gif.data);
		assert.equal(r.status, 201, r.text);
	});
});

describe('upload_burst 3', () => {
	let st;
	let U;
	before(async () => {
		st = await startStack({ set: { upload_burst: '3',
			upload_rate: '0.01' } });
		U = st.url;
	});
	after(async () => { await st?.stop(); });

	test('the 4th upload in a row: 429 with Retry-After', async () => {
		const a = await newUser(U);
		for (let i = 0; i < 3; i++) {
			const r = await upload(U, a.token, ALLOWED.png.data);
			assert.equal(r.status, 201, `${i}: ${r.text}`);
		}
		const names = ls(join(st.var, 'media'));
		for (let i = 0; i < 2; i++) {
			const r = await upload(U, a.token, ALLOWED.png.data);
			assert.equal(r.status, 429, r.text);
			assert.deepEqual(r.body, { detail: 'Too many requests' });
			const ra = r.headers.get('retry-after');
			assert.match(ra ?? '', /^[1-9]\d*$/);
			assert.ok(Number(ra) <= 100, ra);
		}
		assert.deepEqual(ls(join(st.var, 'media')), names);
		// The limit is per user.
		const b = await newUser(U);
		const r = await upload(U, b.token, ALLOWED.png.data);
		assert.equal(r.status, 201, r.text);
	});
});

describe('a full disk', () => {
	let st;
	let U;
	let a;
	let mnt;
	before(async () => {
		mnt = mkdtempSync(join(tmpdir(), 'chat-tmpfs-'));
		const m = spawnSync('mount', ['-t', 'tmpfs', '-o',
			'size=256k,mode=0750', 'tmpfs', mnt], { encoding: 'utf8' });
		if (m.status !== 0)
			throw new Error(`mount: ${m.stderr}`);
		st = await startStack({ set: { media_dir: mnt,
			upload_max: '1M', upload_burst: '100000',
			upload_rate: '1000' } });
		U = st.url;
		a = await newUser(U);
	});
	after(async () => {
		await st?.stop();
		if (mnt !== undefined) {
			spawnSync('umount', [mnt]);
			rmdirSync(mnt);
		}
	});

	test('the stack serves /media/ from that directory', async () => {
		const conf = readFileSync(join(st.var, 'run/nginx.conf'), 'utf8');
		assert.ok(conf.includes(`alias ${mnt}/$1;`));
		const r = await upload(U, a.token, ALLOWED.png.data);
		assert.equal(r.status, 201, r.text);
		assert.deepEqual(ls(mnt), [r.body.file_url.slice(7)]);
		const g = await fetchBytes(U, r.body.file_url);
		assert.ok(g.bytes.equals(ALLOWED.png.data));
		rmSync(join(mnt, ls(mnt)[0]));
	});

	test('a file larger than the disk: 507, nothing half-written',
	    async () => {
		const rows = st.sql('SELECT count(*) FROM media;');
		const r = await upload(U, a.token, bigPng(400000, 6));
		assert.equal(r.status, 507, r.text);
		assert.deepEqual(r.body, { detail: 'Insufficient storage' });
		assert.deepEqual(ls(mnt), []);
		assert.equal(st.sql('SELECT count(*) FROM media;'), rows);
		const ok = await upload(U, a.token, bigPng(100000, 7));
		assert.equal(ok.status, 201, ok.text);
		rmSync(join(mnt, ok.body.file_url.slice(7)));
	});

	test('a disk already full: 507, then 201 once space is freed',
	    async () => {
		// Fill the tmpfs to the last block.
		const filler = join(mnt, 'filler');
		for (let n = 256 * 1024; n >= 512; n >>= 1) {
			try {
				writeFileSync(filler, Buffer.alloc(n), { flag: 'a' });
			} catch (e) {
				assert.equal(e.code, 'ENOSPC');
			}
		}
		const r = await upload(U, a.token, bigPng(20000, 8));
		assert.equal(r.status, 507, r.text);
		assert.deepEqual(ls(mnt), ['filler']);
		rmSync(filler);
		const ok = await upload(U, a.token, bigPng(20000, 8));
		assert.equal(ok.status, 201, ok.text);
		assert.deepEqual(ls(mnt), [ok.body.file_url.slice(7)]);
		const g = await fetchBytes(U, ok.body.file_url);
		assert.ok(g.bytes.equals(bigPng(20000, 8)));
	});
});
