// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// Uploads through lighttpd (tools/stack --web lighttpd): every allowed type
// served back byte-identical with the same headers as nginx (stored type,
// nosniff, sandboxing CSP, attachment for PDF), polyglots served inert,
// refused content, names the store never makes, the upload body limit
// rendered from upload_max, and (on a stack with the default 10 MiB limit)
// a 9 MB upload without a valid token answered with the worker's 401.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post, rawCall } from './lib/api.mjs';
import { ALLOWED, FILE_URL, POLYGLOTS, REFUSED, assertBigUnauthorized,
	assertServed, bigPng, ls, uploadRaw, upload } from './lib/media.mjs';
import { workers } from './lib/procs.mjs';

let st;
let U;
let a;
let media;
before(async () => {
	st = await startStack({ web: 'lighttpd', set: { upload_max: '64k',
		upload_burst: '100000', upload_rate: '1000' } });
	U = st.url;
	media = join(st.var, 'media');
	a = await newUser(U);
});
after(async () => { await st?.stop(); });

describe('lighttpd: stored files and their headers', () => {
	for (const [k, s] of Object.entries(ALLOWED)) {
		test(`${k}: 201, served as ${s.type}`, async () => {
			const r = await upload(U, a.token, s.data,
			    { filename: `evil.html`, ctype: 'text/html' });
			assert.equal(r.status, 201, r.text);
			assert.equal(r.body.content_type, s.type);
			assert.match(r.body.file_url, FILE_URL);
			assert.ok(r.body.file_url.endsWith(`.${s.ext}`));
			await assertServed(U, r.body.file_url, s.data, s.type,
			    s.inline);
		});
	}

	for (const [k, s] of Object.entries(POLYGLOTS)) {
		test(`polyglot ${k}: ${s.type}, nosniff, CSP sandbox`, async () => {
			const r = await upload(U, a.token, s.data,
			    { filename: `${k}.html` });
			assert.equal(r.status, 201, r.text);
			assert.equal(r.body.content_type, s.type);
			await assertServed(U, r.body.file_url, s.data, s.type,
			    s.inline);
		});
	}

	test('refused content: 415, nothing stored', async () => {
		const names = ls(media);
		for (const [k, s] of Object.entries(REFUSED)) {
			const r = await upload(U, a.token, s.data,
			    { filename: s.filename, ctype: s.ctype });
			assert.equal(r.status, 415, `${k}: ${r.text}`);
		}
		assert.deepEqual(ls(media), names);
	});

	test('a traversal filename lands under a random name', async () => {
		const names = ls(media);
		const r = await uploadRaw(U, a.token, [{
			filename: '../../../run/chat.conf', data: ALLOWED.png.data }]);
		assert.equal(r.status, 201, r.text);
		const added = ls(media).filter((n) => !names.includes(n));
		assert.deepEqual(added, [r.body.file_url.slice(7)]);
		assert.doesNotMatch(readFileSync(join(st.var, 'run/chat.conf'),
		    'utf8'), /PNG/);
	});

	test('media_url of a real upload in a message', async () => {
		const room = await newRoom(U, a, []);
		const up = await upload(U, a.token, ALLOWED.webp.data);
		const m = await post(U, a, room.id, 'pic',
		    { media_url: up.body.file_url });
		assert.equal(m.status, 201, m.text);
		assert.equal(m.body.media_url, up.body.file_url);
		const bad = await post(U, a, room.id, 'pic', { media_url:
		    `/media/${randomBytes(16).toString('hex')}.webp` });
		assert.equal(bad.status, 422, bad.text);
	});
});

describe('lighttpd: what /media/ refuses', () => {
	test('unknown names: 404, no listing of /media/', async () => {
		const up = await upload(U, a.token, ALLOWED.png.data);
		const hex = up.body.file_url.slice(7, 39);
		for (const ext of ['png', 'pdf', 'mp4']) {
			const r = await call(U, 'GET',
			    `/media/${randomBytes(16).toString('hex')}.${ext}`);
			assert.equal(r.status, 404, ext);
			assert.deepEqual(r.body, { detail: 'Not Found' });
			assert.equal(r.headers.get('content-type'),
			    'application/json', ext);
			assert.equal(r.headers.get('x-content-type-options'),
			    'nosniff');
		}
		for (const path of ['/media/', '/media', '/media//']) {
			const r = await call(U, 'GET', path);
			assert.ok([301, 403, 404].includes(r.status),
			    `${path}: ${r.status}`);
			assert.ok(!r.text.includes(hex), `${path} lists files`);
		}
	});

	test('temp files and names the store never makes are not served',
	    async () => {
		const hex = randomBytes(16).toString('hex');
		const planted = [`.tmp-${hex}`, `${hex}.html`, `${hex}.svg`,
			`${hex}.png.html`, 'index.html', `${hex}.PNG`];
		for (const n of planted)
			writeFileSync(join(media, n), '<script>alert(1)</script>');
		try {
			for (const n of planted) {
				const r = await call(U, 'GET', `/media/${n}`);
				assert.ok(r.status === 403 || r.status === 404,
				    `${n}: ${r.status}`);
				assert.ok(!r.text.includes('<script>'), n);
				assert.equal(r.headers.get('content-type'),
				    'application/json', n);
			}
		} finally {
			for (const n of planted)
				rmSync(join(media, n), { force: true });
		}
	});

	test('no way out of the media directory', async () => {
		const key = readFileSync(join(st.var, 'secret.key'), 'utf8');
		for (const path of ['/media/../secret.key',
			'/media/..%2fsecret.key', '/media/%2e%2e/secret.key',
			'/media/..%5csecret.key', '/media/../chat.db']) {
			const r = await rawCall(U, 'GET', path);
			assert.ok(r.status >= 400 && r.status < 500,
			    `${path}: ${r.status}`);
			assert.ok(!r.text.includes(key), path);
			assert.ok(!r.text.includes('SQLite format'), path);
		}
	});
});

describe('lighttpd: the upload body limit', () => {
	test('the rendered limit is upload_max plus the framing', () => {
		const conf = readFileSync(join(st.var, 'run/lighttpd.conf'),
		    'utf8');
		assert.match(conf, /"\^\/chat\/upload_media" \{\s*server\.max-request-size = 128\s*\}/);
	});

	test('over upload_max: 413, nothing on disk', async () => {
		const names = ls(media);
		const exact = await upload(U, a.token, bigPng(65536, 1));
		assert.equal(exact.status, 201, exact.text);
		for (const size of [65537, 100000, 200000]) {
			const before = ls(media);
			const r = await upload(U, a.token, bigPng(size, 2))
			    .catch((e) => ({ status: String(e.cause ?? e) }));
			assert.equal(r.status, 413, `${size}: ${r.text}`);
			assert.equal(typeof r.body?.detail, 'string', r.text);
			assert.deepEqual(ls(media), before);
		}
		assert.equal(ls(media).length, names.length + 1);
		assert.deepEqual(ls(media).filter((n) => n.startsWith('.')), []);
		const ok = await upload(U, a.token, ALLOWED.gif.data);
		assert.equal(ok.status, 201, ok.text);
	});
});

describe('lighttpd: a large upload without a valid token', () => {
	let big;
	let u;
	before(async () => {
		big = await startStack({ web: 'lighttpd', set: {
			upload_burst: '100000', upload_rate: '1000' } });
		u = await newUser(big.url);
	});
	after(async () => { await big?.stop(); });

	test('9 MB: the worker\'s 401 JSON, not a 5xx', () =>
		assertBigUnauthorized(big, u, () => workers(big)));
});
