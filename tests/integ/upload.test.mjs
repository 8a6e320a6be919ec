// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// docs/api.md section 3 through nginx (tools/stack): every allowed type stored
// under a random name and served back byte-identical with nosniff, a
// sandboxing CSP and attachment for what is not inline-safe; the client's
// filename and Content-Type never matter; refused and polyglot content;
// traversal and control characters in filenames; broken multipart shapes
// (4xx, never 5xx); concurrent uploads; a worker's peak memory during a
// 9 MB upload; media_url in messages; what /media/ refuses to serve.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post, rawCall } from './lib/api.mjs';
import { ALLOWED, CSP, FILE_URL, POLYGLOTS, REFUSED, assertBigUnauthorized,
	assertServed, bigPng, fetchBytes, ls, magicType, multipart, tree, upload,
	uploadRaw } from './lib/media.mjs';
import { workers } from './lib/procs.mjs';

const ALLOWED_TYPES = Object.values(ALLOWED).map((s) => s.type);

let st;
let U;
let a;
let media;
before(async () => {
	st = await startStack({ set: { upload_burst: '100000',
		upload_rate: '1000' } });
	U = st.url;
	media = join(st.var, 'media');
	a = await newUser(U);
});
after(async () => { await st?.stop(); });

// The stored name of a file URL, after checking its shape and extension.
function storedName(url, ext) {
	assert.match(url, FILE_URL);
	assert.ok(url.endsWith(`.${ext}`), url);
	return url.slice('/media/'.length);
}

// The answer to a 4xx: JSON {"detail": ...}, the worker alive.
function assert4xx(r, what) {
	assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status} ` +
	    r.text);
	assert.ok(r.body !== undefined && 'detail' in r.body,
	    `${what}: ${r.text}`);
}

// No new entry in the media directory since "before" (names).
function assertNoNewFiles(beforeNames, what) {
	assert.deepEqual(ls(media), beforeNames, what);
}

async function stillServing() {
	const me = await call(U, 'GET', '/auth/users/me', { token: a.token });
	assert.equal(me.status, 200, me.text);
	const r = await upload(U, a.token, ALLOWED.gif.data);
	assert.equal(r.status, 201, r.text);
}

test('the samples are what libmagic says they are', () => {
	for (const [k, s] of Object.entries({ ...ALLOWED, ...POLYGLOTS }))
		assert.equal(magicType(s.data), s.type, k);
	for (const [k, s] of Object.entries(REFUSED))
		assert.ok(!ALLOWED_TYPES.includes(magicType(s.data)), k);
});

describe('each allowed type', () => {
	for (const [k, s] of Object.entries(ALLOWED)) {
		test(`${k}: 201, stored, served back byte-identical`, async () => {
			const r = await upload(U, a.token, s.data,
			    { filename: `sample.${k}`, ctype: s.type });
			assert.equal(r.status, 201, r.text);
			assert.deepEqual(Object.keys(r.body).sort(),
			    ['content_type', 'file_url', 'size']);
			assert.equal(r.body.content_type, s.type);
			assert.equal(r.body.size, s.data.length);
			const name = storedName(r.body.file_url, s.ext);
			assert.ok(readFileSync(join(media, name)).equals(s.data));
			assert.equal(st.sql('SELECT uploader_id || \' \' || ' +
			    'content_type || \' \' || size FROM media WHERE ' +
			    `name = '${name}';`).trim(),
			    `${a.id} ${s.type} ${s.data.length}`);
			await assertServed(U, r.body.file_url, s.data, s.type,
			    s.inline);
		});
	}

	test('two uploads of the same bytes get different names', async () => {
		const r1 = await upload(U, a.token, ALLOWED.png.data);
		const r2 = await upload(U, a.token, ALLOWED.png.data);
		assert.equal(r1.status, 201);
		assert.equal(r2.status, 201);
		assert.notEqual(r1.body.file_url, r2.body.file_url);
	});

	test('no temp file is left behind', () => {
		assert.deepEqual(ls(media).filter((n) => n.startsWith('.')), []);
	});
});

describe('the client\'s filename and Content-Type never matter', () => {
	test('a PNG named evil.html sent as text/html is stored as a PNG',
	    async () => {
		for (const [filename, ctype] of [['evil.html', 'text/html'],
			['evil.svg', 'image/svg+xml'], ['x.php', 'text/x-php'],
			['noext', 'application/octet-stream']]) {
			const r = await upload(U, a.token, ALLOWED.png.data,
			    { filename, ctype });
			assert.equal(r.status, 201, r.text);
			assert.equal(r.body.content_type, 'image/png');
			storedName(r.body.file_url, 'png');
			await assertServed(U, r.body.file_url, ALLOWED.png.data,
			    'image/png', true);
		}
	});

	for (const [k, s] of Object.entries(REFUSED)) {
		test(`${k} named ${s.filename} as ${s.ctype}: 415, nothing stored`,
		    async () => {
			const names = ls(media);
			const r = await upload(U, a.token, s.data,
			    { filename: s.filename, ctype: s.ctype });
			assert.equal(r.status, 415, r.text);
			assert.deepEqual(r.body,
			    { detail: 'Unsupported file type' });
			assertNoNewFiles(names, k);
		});
	}

	for (const [k, s] of Object.entries(POLYGLOTS)) {
		test(`polyglot ${k}: stored as ${s.type}, served inert`,
		    async () => {
			const r = await upload(U, a.token, s.data,
			    { filename: `${k}.html`, ctype: 'text/html' });
			assert.equal(r.status, 201, r.text);
			assert.equal(r.body.content_type, s.type);
			storedName(r.body.file_url, s.ext);
			await assertServed(U, r.body.file_url, s.data, s.type,
			    s.inline);
		});
	}
});

describe('filenames are metadata only', () => {
	// [what, Content-Disposition value or raw filename, kept name]
	// (kept: undefined = not checked, null = nothing kept).
	const cases = [
		['../../etc/passwd', '../../etc/passwd', 'passwd'],
		['..%2f..%2f', '..%2f..%2fpasswd', '..%2f..%2fpasswd'],
		['backslashes', '..\\\\..\\\\x.png', 'x.png'],
		['absolute', '/abs/x.png', 'x.png'],
		['a/../../b', 'a/../../b', 'b'],
		['%00 in the name', 'x.png%00.html', 'x.png%00.html'],
		['CON', 'CON', 'CON'],
		['.htaccess', '.htaccess', '.htaccess'],
		['300 characters', `${'n'.repeat(296)}.png`, 'n'.repeat(255)],
		['only dots', '..', null],
		['empty', '', null],
		['bidi override', 'evil\u202egnp.exe', 'evilgnp.exe'],
		['filename*', { disp: 'form-data; name="file"; ' +
		    'filename*=UTF-8\'\'..%2F..%2Fx' }, 'x'],
		['filename and filename*', { disp: 'form-data; name="file"; ' +
		    'filename="a.png"; filename*=UTF-8\'\'..%2F..%2Fx' }, 'x'],
		['filename* with CR LF TAB DEL', { disp: 'form-data; ' +
		    'name="file"; filename*=UTF-8\'\'a%0D%0Ab%09c%7F.png' },
		    'abc.png'],
		['filename* with a bidi override', { disp: 'form-data; ' +
		    'name="file"; filename*=UTF-8\'\'%E2%80%AEgnp.exe' },
		    'gnp.exe'],
		['filename* not UTF-8', { disp: 'form-data; name="file"; ' +
		    'filename*=UTF-8\'\'%C0%AF%FF.png' }, '___.png'],
		['filename* with NUL', { disp: 'form-data; name="file"; ' +
		    'filename*=UTF-8\'\'a%00b.png' }, undefined],
		// Raw control bytes: refused as a malformed header, or kept
		// without them; never part of a path.
		['NUL', 'x.png\x00.html', undefined],
		['CR LF', 'x.png\r\nX-Evil: 1\r\n.html', undefined],
		['LF', 'x.png\n.html', undefined],
		['tab and DEL', 'x\t\x7f.png', undefined],
	];
	const ignored = (p) => p === 'media' || p.startsWith('run/') ||
	    /^chat\.db(-wal|-shm|-journal)?$/.test(p);

	test('each lands under a random name in the media directory',
	    async () => {
		const parent = dirname(st.var);
		const parentBefore = new Set(ls(parent));
		const passwd = statSync('/etc/passwd').mtimeMs;
		for (const [what, fn, kept] of cases) {
			const beforeTree = tree(st.var);
			const part = typeof fn === 'string'
			    ? { filename: fn, data: ALLOWED.png.data }
			    : { disposition: fn.disp, data: ALLOWED.png.data };
			const r = await uploadRaw(U, a.token, [
				{ ctype: 'image/png', ...part }]);
			if (kept === undefined && r.status === 400) {
				assert4xx(r, what);
			} else {
				assert.equal(r.status, 201, `${what}: ${r.text}`);
			}
			const afterTree = tree(st.var);
			const added = [...afterTree.keys()].filter(
			    (p) => !beforeTree.has(p));
			const changed = [...afterTree.keys()].filter((p) =>
			    beforeTree.has(p) && beforeTree.get(p) !==
			    afterTree.get(p) && !ignored(p));
			const removed = [...beforeTree.keys()].filter(
			    (p) => !afterTree.has(p) && !ignored(p));
			assert.deepEqual(changed, [], what);
			assert.deepEqual(removed, [], what);
			if (r.status !== 201) {
				assert.deepEqual(added.filter((p) => !ignored(p)),
				    [], what);
				continue;
			}
			const name = storedName(r.body.file_url, 'png');
			assert.deepEqual(added.filter((p) => !ignored(p)),
			    [`media/${name}`], what);
			const orig = st.sql('SELECT quote(original_name) FROM ' +
			    `media WHERE name = '${name}';`).trim();
			if (kept === null)
				assert.equal(orig, 'NULL', what);
			else if (kept !== undefined)
				assert.equal(orig, `'${kept}'`, what);
			assert.doesNotMatch(orig, /[/\\\x00-\x1f\x7f]/, what);
			assert.ok(Buffer.byteLength(orig) <= 255 + 2, what);
		}
		// Nothing appeared next to the var directory (the
		// traversal target one level up) or in /etc.
		const newInParent = ls(parent).filter((n) =>
		    !parentBefore.has(n) && /passwd|^x|^b$|png|html/.test(n));
		assert.deepEqual(newInParent, []);
		assert.equal(statSync('/etc/passwd').mtimeMs, passwd);
		await stillServing();
	});
});

describe('auth, content type and missing part', () => {
	test('no token: 401 with WWW-Authenticate, nothing stored', async () => {
		const names = ls(media);
		for (const token of [undefined, 'not-a-jwt']) {
			const r = await upload(U, token, ALLOWED.png.data);
			assert.equal(r.status, 401, r.text);
			assert.match(r.headers.get('www-authenticate') ?? '',
			    /^Bearer/);
			assert.deepEqual(r.body,
			    { detail: token === undefined ? 'Not authenticated'
				: 'Could not validate credentials' });
		}
		assertNoNewFiles(names, '401');
	});

	test('9 MB without a valid token: the worker\'s 401 JSON, not a 5xx',
	    () => assertBigUnauthorized(st, a, () => workers(st)));

	test('a JSON or urlencoded body: 422, the file part is missing',
	    async () => {
		for (const opts of [{ json: { file: 'x' } },
			{ form: { file: 'x' } },
			{ body: ALLOWED.png.data, type: 'image/png' },
			{ body: 'x' }]) {
			const r = await call(U, 'POST', '/chat/upload_media/',
			    { token: a.token, ...opts });
			assert.equal(r.status, 422, r.text);
			assert.equal(r.body?.detail?.length, 1, r.text);
			const d = r.body.detail[0];
			assert.deepEqual([d.loc, d.msg, d.type],
			    [['body', 'file'], 'Field required', 'missing']);
		}
	});

	test('no part named "file": 422 in the FastAPI shape', async () => {
		const names = ls(media);
		for (const parts of [
			[{ name: 'other', filename: 'x.png', data: ALLOWED.png.data }],
			[{ name: 'files', data: 'x' }, { name: 'File', data: 'y' }],
			[],
		]) {
			const r = await uploadRaw(U, a.token, parts);
			assert.equal(r.status, 422, r.text);
			assert.deepEqual(r.body.detail?.[0]?.loc, ['body', 'file']);
			assert.equal(r.body.detail[0].type, 'missing');
		}
		assertNoNewFiles(names, 'no file part');
	});

	test('without the trailing slash too', async () => {
		const r = await upload(U, a.token, ALLOWED.gif.data,
		    { path: '/chat/upload_media' });
		assert.equal(r.status, 201, r.text);
		const g = await call(U, 'GET', '/chat/upload_media/',
		    { token: a.token });
		assert.equal(g.status, 405, g.text);
		assert.match(g.headers.get('allow') ?? '', /POST/);
	});
});

describe('broken multipart shapes: 400 or 422, never 5xx', () => {
	const png = ALLOWED.png.data;
	const B = 'xq7-bNd-7f3a9c';
	const raw = (s) => ({ raw: Buffer.from(s, 'latin1') });
	// A good body without its last "n" bytes (the close delimiter and
	// its CRLF are 22 bytes).
	const cut = (n) => {
		const b = multipart([{ filename: 'x.png', data: png }]).body;
		return b.subarray(0, b.length - n);
	};
	const shapes = [
		['no boundary', { type: 'multipart/form-data',
			parts: [{ filename: 'x.png', data: png }] }],
		['empty boundary', { type: 'multipart/form-data; boundary=',
			parts: [{ filename: 'x.png', data: png }] }],
		['boundary over 70 characters', { boundary: 'b'.repeat(71),
			parts: [{ filename: 'x.png', data: png }] }],
		['boundary twice', { type: `multipart/form-data; boundary=${B}` +
		    `; boundary=${B}`, parts: [{ filename: 'x.png', data: png }] }],
		['wrong boundary', { type: 'multipart/form-data; boundary=zzz',
			parts: [{ filename: 'x.png', data: png }] }],
		['LF-only line endings', { eol: '\n',
			parts: [{ filename: 'x.png', data: png }] }],
		['no closing delimiter', { close: false,
			parts: [{ filename: 'x.png', data: png }] }],
		['body cut in the file part', { body: cut(30) }],
		['body cut in the close delimiter', { body: cut(5) }],
		['body cut before the close delimiter', { body: cut(22) }],
		['duplicate file parts', { parts: [
			{ filename: 'x.png', data: png },
			{ filename: 'y.png', data: png }] }],
		['base64 transfer encoding', { parts: [{ filename: 'x.png',
			headers: ['Content-Transfer-Encoding: base64'],
			data: png.toString('base64') }] }],
		['quoted-printable transfer encoding', { parts: [{
			filename: 'x.png', data: png,
			headers: ['Content-Transfer-Encoding: quoted-printable'] }] }],
		['10,000 tiny parts', { parts: Array.from({ length: 10000 },
		    (_, i) => ({ name: `f${i}`, data: 'x' })).concat(
		    [{ filename: 'x.png', data: png }]) }],
		['a 1 MB part header', { parts: [{ filename: 'x.png', data: png,
			headers: [`X-Junk: ${'a'.repeat(1 << 20)}`] }] }],
		['a 1 MB part header without CRLF', raw(`--${B}\r\n` +
		    `Content-Disposition: form-data; name="file"; ${
			'a'.repeat(1 << 20)}`)],
		['100 part header fields', { parts: [{ filename: 'x.png',
			data: png, headers: Array.from({ length: 100 },
			    (_, i) => `X-H${i}: v`) }] }],
		['no Content-Disposition', { parts: [{ disposition: null,
			ctype: 'image/png', data: png }] }],
		['Content-Disposition without a name', { parts: [{
			disposition: 'form-data; filename="x.png"', data: png }] }],
		['Content-Disposition not form-data', { parts: [{
			disposition: 'attachment; name="file"', data: png }] }],
		['unterminated quoted parameter', { parts: [{
			disposition: 'form-data; name="file; filename="x.png',
			data: png }] }],
		['a folded header line', { parts: [{ data: png,
			disposition: 'form-data;\r\n name="file"' }] }],
		['name given twice', { parts: [{ data: png,
			disposition: 'form-data; name="x"; name="file"' }] }],
		['an empty name', { parts: [{ data: png,
			disposition: 'form-data; name=""' }] }],
		['a header line without a colon', { parts: [{
			filename: 'x.png', data: png, headers: ['junk'] }] }],
		['nested multipart/mixed', { parts: [{ filename: 'x.png',
			ctype: 'multipart/mixed; boundary=inner',
			data: `--inner\r\nContent-Type: image/png\r\n\r\n${
			    png.toString('latin1')}\r\n--inner--` }] }],
		['junk after the delimiter', raw(`--${B}junk\r\n` +
		    'Content-Disposition: form-data; name="file"\r\n\r\nx\r\n' +
		    `--${B}--\r\n`)],
		['empty body', raw('')],
		['not multipart at all', raw('hello world')],
		['only the close delimiter', raw(`--${B}--\r\n`)],
		['headers but no blank line', raw(`--${B}\r\nContent-` +
		    'Disposition: form-data; name="file"\r\n')],
	];

	for (const [what, s] of shapes) {
		test(what, async () => {
			const names = ls(media);
			let r;
			if (s.raw !== undefined || s.body !== undefined) {
				r = await call(U, 'POST', '/chat/upload_media/',
				    { token: a.token, body: s.raw ?? s.body,
					type: `multipart/form-data; boundary=${B}` });
			} else {
				r = await uploadRaw(U, a.token, s.parts, s);
			}
			assert.ok(r.status === 400 || r.status === 422,
			    `${what}: ${r.status} ${r.text.slice(0, 200)}`);
			assert4xx(r, what);
			assertNoNewFiles(names, what);
		});
	}

	test('the workers still serve after all of that', stillServing);
});

describe('unusual but valid multipart', () => {
	const png = ALLOWED.png.data;
	const cases = [
		['preamble and epilogue', [{ filename: 'x.png', data: png }],
		    { preamble: 'This is a preamble.', epilogue: 'bye\r\n' }],
		['quoted boundary', [{ filename: 'x.png', data: png }],
		    { type: 'multipart/form-data; boundary="xq7-bNd-7f3a9c"' }],
		['boundary with spaces, quoted', [{ filename: 'x.png',
			data: png }], { boundary: 'a b c',
			type: 'multipart/form-data; boundary="a b c"' }],
		['a 70-character boundary', [{ filename: 'x.png', data: png }],
		    { boundary: 'b'.repeat(70) }],
		['other fields around the file', [{ name: 'caption', data: 'hi' },
			{ filename: 'x.png', data: png },
			{ name: 'extra', data: 'z' }], {}],
		['no filename parameter', [{ data: png }], {}],
		['media type and parameter names in upper case',
		    [{ filename: 'x.png', data: png }],
		    { type: 'MULTIPART/FORM-DATA; BOUNDARY=xq7-bNd-7f3a9c' }],
		['other parameters around the boundary',
		    [{ filename: 'x.png', data: png }],
		    { type: 'multipart/form-data;charset=utf-8;' +
			'boundary=xq7-bNd-7f3a9c; x=y' }],
		['lower-case header, upper-case form-data, unquoted name',
		    [{ disposition: null, data: png, headers: [
			'content-disposition: FORM-DATA; name=file; ' +
			'filename=x.png'] }], {}],
		['Content-Transfer-Encoding binary', [{ filename: 'x.png',
			data: png, headers: ['Content-Transfer-Encoding: ' +
			    'binary'] }], {}],
		['a part Content-Type that lies', [{ filename: 'x.png',
			ctype: 'text/html', data: png }], {}],
	];
	for (const [what, parts, opts] of cases) {
		test(what, async () => {
			const r = await uploadRaw(U, a.token, parts, opts);
			assert.equal(r.status, 201, `${what}: ${r.text}`);
			await assertServed(U, r.body.file_url, png, 'image/png', true);
		});
	}

	test('the boundary inside the data is kept byte-identical',
	    async () => {
		const B = 'xq7-bNd-7f3a9c';
		// Only CRLF "--" boundary delimits; none of these does.
		const data = Buffer.concat([png, Buffer.from(`--${B}\r\n` +
		    `\n--${B}--\n\r--${B}\r\n\r\n--xq7-bNd-7f3a9\r\n-${B}` +
		    `\r\n-\r\n--\r\n--${B.toUpperCase()}\r\n`)]);
		const r = await uploadRaw(U, a.token,
		    [{ filename: 'x.png', data }]);
		assert.equal(r.status, 201, r.text);
		assert.equal(r.body.size, data.length);
		await assertServed(U, r.body.file_url, data, 'image/png', true);
	});
});

test('8 concurrent uploads of 3 MB: distinct names, byte-identical',
    async () => {
	const files = Array.from({ length: 8 }, (_, i) =>
	    bigPng(3 * 1024 * 1024 + i * 1000, i + 1));
	const rs = await Promise.all(files.map((f, i) => upload(U, a.token, f,
	    { filename: `big${i}.png` })));
	for (const [i, r] of rs.entries()) {
		assert.equal(r.status, 201, r.text);
		assert.equal(r.body.size, files[i].length);
	}
	assert.equal(new Set(rs.map((r) => r.body.file_url)).size, 8);
	const gets = await Promise.all(rs.map((r) =>
	    fetchBytes(U, r.body.file_url)));
	for (const [i, g] of gets.entries()) {
		assert.equal(g.status, 200);
		assert.ok(g.bytes.equals(files[i]), `file ${i} differs`);
	}
	assert.deepEqual(ls(media).filter((n) => n.startsWith('.')), []);
});

// VmHWM (peak resident set) of process "pid" in KiB, after resetting it
// to the current resident set when "reset" (clear_refs 5, as root).
function peakKiB(pid, reset = false) {
	if (reset)
		writeFileSync(`/proc/${pid}/clear_refs`, '5');
	const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`,
	    'utf8'));
	assert.ok(m, `no VmHWM for ${pid}`);
	return Number(m[1]);
}

test('a 9 MB upload: the worker\'s peak memory grows by under 2 MiB',
    async () => {
	// The body streams through MEDIA_CHUNK (64 KiB) reads into the temp
	// file; libmagic sees only the first 64 KiB. A worker that held the
	// file in memory would grow by 9 MiB or more (the pages it wrote are
	// resident), so the bound fails it whichever worker took the request.
	const warm = await upload(U, a.token, bigPng(256 * 1024, 3));
	assert.equal(warm.status, 201, warm.text);
	const pids = workers(st);
	assert.ok(pids.length >= 1);
	const base = new Map(pids.map((p) => [p, peakKiB(p, true)]));
	const data = bigPng(9 << 20, 4);
	const r = await upload(U, a.token, data);
	assert.equal(r.status, 201, r.text);
	assert.equal(r.body.size, data.length);
	const growth = pids.map((p) => peakKiB(p) - base.get(p));
	assert.deepEqual(workers(st).sort(), [...pids].sort());
	assert.ok(Math.max(...growth) < 2048,
	    `peak RSS growth per worker (KiB): ${growth}`);
	const g = await fetchBytes(U, r.body.file_url);
	assert.ok(g.bytes.equals(data));
});

describe('media_url in a message', () => {
	test('a real upload\'s file_url: 201 with media_url', async () => {
		const b = await newUser(U);
		const room = await newRoom(U, a, [b.email]);
		const up = await upload(U, a.token, ALLOWED.jpeg.data);
		assert.equal(up.status, 201, up.text);
		const m = await post(U, a, room.id, 'look',
		    { media_url: up.body.file_url });
		assert.equal(m.status, 201, m.text);
		assert.equal(m.body.media_url, up.body.file_url);
		const e = await post(U, a, room.id, '',
		    { media_url: up.body.file_url });
		assert.equal(e.status, 201, e.text);
		const l = await call(U, 'GET',
		    `/chat/chat_rooms/${room.id}/messages`, { token: b.token });
		assert.deepEqual(l.body.map((x) => x.media_url),
		    [up.body.file_url, up.body.file_url]);
	});

	test('anything but an existing /media/ upload: 422', async () => {
		const room = await newRoom(U, a, []);
		const up = await upload(U, a.token, ALLOWED.png.data);
		const url = up.body.file_url;
		const hex = url.slice(7, 39);
		for (const media_url of [
			`/media/${randomBytes(16).toString('hex')}.png`,
			`/media/${hex}.gif`,
			`/media/${hex.toUpperCase()}.png`,
			`${url}?x=1`, `${url}/`, `${url}/../../chat.db`,
			`/media/../secret.key`, '/media/../../etc/passwd',
			'/media/', '/media', `https://evil.example${url}`,
			'https://evil.example/x.png', `//evil.example${url}`,
			`/media/.tmp-${hex}`, `media/${hex}.png`,
			'javascript:alert(1)', `/Media/${hex}.png`,
		]) {
			const r = await post(U, a, room.id, 'x', { media_url });
			assert.equal(r.status, 422, `${media_url}: ${r.text}`);
			assert.ok(Array.isArray(r.body?.detail), media_url);
		}
	});
});

describe('what /media/ serves', () => {
	test('unknown names: 404 JSON', async () => {
		for (const ext of ['png', 'jpg', 'gif', 'pdf', 'mp4', 'html']) {
			const r = await call(U, 'GET',
			    `/media/${randomBytes(16).toString('hex')}.${ext}`);
			assert.equal(r.status, 404, ext);
			assert.deepEqual(r.body, { detail: 'Not Found' }, ext);
			assert.match(r.headers.get('content-type') ?? '',
			    /^application\/json/, ext);
		}
	});

	test('never a listing', async () => {
		const up = await upload(U, a.token, ALLOWED.png.data);
		const hex = up.body.file_url.slice(7, 39);
		for (const path of ['/media/', '/media', '/media/?C=M;O=D',
			'/media//', '/media/./']) {
			const r = await call(U, 'GET', path);
			assert.ok(r.status === 404 || r.status === 403 ||
			    r.status === 301, `${path}: ${r.status}`);
			assert.ok(!r.text.includes(hex), `${path} lists files`);
			if (r.status === 301) {
				// nginx may add the slash; the target is the
				// same refused /media/.
				const t = await call(U, 'GET', new URL(
				    r.headers.get('location'), U).pathname);
				assert.ok(t.status === 404 || t.status === 403);
			}
		}
	});

	test('only names the store makes are served', async () => {
		const up = await upload(U, a.token, ALLOWED.png.data);
		const name = up.body.file_url.slice(7);
		const hex = name.slice(0, 32);
		// A temp file and files the store would never name, planted
		// by hand: none of them is served.
		const planted = [`.tmp-${hex}`, `${hex}.html`, `${hex}.svg`,
			`${hex.slice(1)}.png`, `${hex}.png.html`, 'index.html'];
		for (const n of planted)
			writeFileSync(join(media, n), '<script>alert(1)</script>');
		try {
			for (const n of planted) {
				const r = await call(U, 'GET', `/media/${n}`);
				assert.ok(r.status === 404 || r.status === 403,
				    `${n}: ${r.status}`);
				assert.ok(!r.text.includes('<script>'), n);
				assert.match(r.headers.get('content-type') ?? '',
				    /^application\/json/, n);
			}
			for (const path of [`/media/${name}/`,
				`/media/${hex.toUpperCase()}.png`,
				`/media/${hex}.PNG`, `/media/${hex}.gif`,
				`/media/x/../${name}x`]) {
				const r = await call(U, 'GET', path);
				assert.equal(r.status, 404, path);
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
			'/media/%2e%2e%2fsecret.key', '/media/..%5csecret.key',
			'/media/../chat.db', '/media/..%2fchat.db',
			'/media/../run/chat.conf']) {
			const r = await rawCall(U, 'GET', path);
			assert.ok(r.status >= 400 && r.status < 500,
			    `${path}: ${r.status}`);
			assert.ok(!r.text.includes(key), path);
			assert.ok(!r.text.includes('SQLite format'), path);
		}
	});

	test('HEAD and a range request on a stored file', async () => {
		const data = bigPng(10000, 77);
		const up = await upload(U, a.token, data);
		assert.equal(up.status, 201, up.text);
		const h = await fetch(U + up.body.file_url, { method: 'HEAD' });
		assert.equal(h.status, 200);
		assert.equal(h.headers.get('content-length'), '10000');
		assert.equal(h.headers.get('x-content-type-options'), 'nosniff');
		const g = await fetch(U + up.body.file_url,
		    { headers: { Range: 'bytes=100-199' } });
		assert.equal(g.status, 206);
		assert.ok(Buffer.from(await g.arrayBuffer()).equals(
		    data.subarray(100, 200)));
		assert.equal(g.headers.get('content-security-policy'), CSP);
	});
});
