// SPDX-License-Identifier: ISC
// test-timeout: 240
//
// CORS from chat.conf's one cors_origins key, under nginx and lighttpd,
// with real requests carrying an Origin header: every answer to a listed
// origin (a REST 200, the worker's 401 and 422, an upload, a /media/
// fetch, the web server's own 413, 429 and 503, the Socket.IO polling
// handshake) carries Access-Control-Allow-Origin (that origin), Vary:
// Origin and the exposed headers, exactly once and without credentials;
// a preflight answers 204 with the -Allow-* headers and -Max-Age; an
// unlisted origin gets the same statuses without any Access-Control-*
// header; uploads are served cross-origin only when origins are listed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { call, newUser } from './lib/api.mjs';
import { ALLOWED, upload } from './lib/media.mjs';

const DEV = 'http://localhost:5173';
const OTHER = 'http://a.example:8443';
const EVIL = 'http://evil.example';
const ORIGINS = `${DEV} ${OTHER}`;
const EXPOSE = 'Retry-After, WWW-Authenticate';

// The Access-Control-* headers of an answer, names in lower case.
function acHeaders(r) {
	return [...r.headers.keys()].filter((k) =>
	    k.startsWith('access-control-'));
}

// "r" answers the listed origin "o": each header once (fetch joins a
// repeated header with ", "), no credentials.
function assertCors(r, o, what) {
	assert.equal(r.headers.get('access-control-allow-origin'), o, what);
	assert.equal(r.headers.get('access-control-expose-headers'), EXPOSE,
	    what);
	assert.equal(r.headers.get('vary'), 'Origin', what);
	assert.equal(r.headers.get('access-control-allow-credentials'), null,
	    what);
}

function assertNoCors(r, what) {
	assert.deepEqual(acHeaders(r), [], what);
}

for (const web of ['nginx', 'lighttpd']) {
	describe(`${web}: cors_origins listed`, () => {
		let st;
		let U;
		let a;
		before(async () => {
			st = await startStack({ web, workers: 2, set: {
				cors_origins: ORIGINS, auth_burst: '20',
				auth_rate: '1', upload_burst: '100000',
				upload_rate: '1000' } });
			U = st.url;
			a = await newUser(U);
		});
		after(async () => { await st?.stop(); });

		test('REST 200, 401 and 422 for each listed origin', async () => {
			for (const o of [DEV, OTHER]) {
				const h = { Origin: o };
				const ok = await call(U, 'GET', '/auth/users/me',
				    { token: a.token, headers: h });
				assert.equal(ok.status, 200, ok.text);
				assertCors(ok, o, `${o} 200`);
				const no = await call(U, 'GET', '/chat/chat_rooms',
				    { headers: h });
				assert.equal(no.status, 401, no.text);
				assert.equal(no.headers.get('www-authenticate'),
				    'Bearer');
				assertCors(no, o, `${o} 401`);
				const bad = await call(U, 'POST', '/auth/login',
				    { json: {}, headers: h });
				assert.equal(bad.status, 422, bad.text);
				assert.ok(Array.isArray(bad.body.detail));
				assertCors(bad, o, `${o} 422`);
			}
		});

		test('unlisted and absent origins: same answers, no CORS',
		    async () => {
			for (const h of [{ Origin: EVIL }, {},
				{ Origin: `${DEV}.evil.example` },
				{ Origin: 'http://localhost' }]) {
				const ok = await call(U, 'GET', '/auth/users/me',
				    { token: a.token, headers: h });
				assert.equal(ok.status, 200);
				assertNoCors(ok, JSON.stringify(h));
				assert.equal(ok.headers.get('vary'), 'Origin');
				const no = await call(U, 'GET', '/chat/chat_rooms',
				    { headers: h });
				assert.equal(no.status, 401);
				assertNoCors(no, JSON.stringify(h));
			}
		});

		test('preflight: 204 with methods, headers and max-age',
		    async () => {
			for (const path of ['/auth/login', '/chat/chat_rooms',
				'/chat/upload_media/', '/socket.io/?EIO=4&transport=polling']) {
				const r = await call(U, 'OPTIONS', path, { headers: {
					Origin: DEV,
					'Access-Control-Request-Method': 'POST',
					'Access-Control-Request-Headers':
					    'authorization,content-type' } });
				assert.equal(r.status, 204, `${path}: ${r.text}`);
				assertCors(r, DEV, path);
				assert.match(r.headers.get(
				    'access-control-allow-methods') ?? '',
				    /\bPOST\b/, path);
				assert.match(r.headers.get(
				    'access-control-allow-methods') ?? '',
				    /\bGET\b/, path);
				assert.equal(r.headers.get(
				    'access-control-allow-headers'),
				    'Authorization, Content-Type', path);
				assert.match(r.headers.get(
				    'access-control-max-age') ?? '', /^[1-9]\d*$/,
				    path);
			}
			for (const path of ['/auth/login',
				'/socket.io/?EIO=4&transport=polling']) {
				const u = await call(U, 'OPTIONS', path,
				    { headers: { Origin: EVIL,
					    'Access-Control-Request-Method':
						'POST' } });
				assert.equal(u.status, 204, path);
				assertNoCors(u, `unlisted preflight ${path}`);
			}
		});

		test('upload and /media/ fetch: CORS, cross-origin resource',
		    async () => {
			const fd = new FormData();
			fd.append('file', new Blob([ALLOWED.png.data]), 'a.png');
			const r = await fetch(`${U}/chat/upload_media/`, {
				method: 'POST', body: fd, headers: {
					Authorization: `Bearer ${a.token}`,
					Origin: DEV } });
			const body = await r.json();
			assert.equal(r.status, 201, JSON.stringify(body));
			assertCors(r, DEV, 'upload');
			const m = await fetch(U + body.file_url, { headers:
			    { Origin: DEV } });
			assert.equal(m.status, 200);
			assertCors(m, DEV, 'media');
			assert.equal(m.headers.get(
			    'cross-origin-resource-policy'), 'cross-origin');
			assert.equal(m.headers.get('x-content-type-options'),
			    'nosniff');
			const e = await fetch(U + body.file_url, { headers:
			    { Origin: EVIL } });
			assert.equal(e.status, 200);
			assertNoCors(e, 'media, unlisted');
			assert.equal(e.headers.get(
			    'cross-origin-resource-policy'), 'cross-origin');
			const miss = await fetch(`${U}/media/${'0'.repeat(32)}.png`,
			    { headers: { Origin: DEV } });
			assert.equal(miss.status, 404);
			assertCors(miss, DEV, 'media 404');
		});

		test("the web server's own 413 is JSON (and CORS on nginx)",
		    async () => {
			const r = await call(U, 'POST', '/chat/chat_rooms',
			    { token: a.token, headers: { Origin: DEV },
				    type: 'application/json',
				    body: Buffer.alloc(3 << 20, 0x20) });
			assert.equal(r.status, 413);
			assert.equal(r.body.detail, 'Request body too large');
			// lighttpd answers a body past server.max-request-size
			// before any condition on request headers applies
			// (docs/api.md).
			if (web === 'nginx')
				assertCors(r, DEV, '413');
			else
				assertNoCors(r, '413');
		});

		test('Socket.IO polling handshake, own origin, foreign origin',
		    async () => {
			const hs = '/socket.io/?EIO=4&transport=polling';
			const r = await call(U, 'GET', hs,
			    { headers: { Origin: DEV } });
			assert.equal(r.status, 200, r.text);
			assert.equal(r.text[0], '0');
			assertCors(r, DEV, 'handshake');
			const sid = JSON.parse(r.text.slice(1)).sid;
			const p = await call(U, 'POST', `${hs}&sid=${sid}`,
			    { headers: { Origin: DEV }, type: 'text/plain',
				    body: '40' });
			assert.equal(p.status, 200, p.text);
			assertCors(p, DEV, 'poll post');
			const own = await call(U, 'GET', hs, { headers:
			    { Origin: `http://127.0.0.1:${st.port}` } });
			assert.equal(own.status, 200);
			assertNoCors(own, 'own origin');
			const e = await call(U, 'GET', hs,
			    { headers: { Origin: EVIL } });
			assert.equal(e.status, 403);
			assertNoCors(e, 'foreign origin');
		});

		test('daemon down: the web server 503 carries CORS', async () => {
			const st2 = await startStack({ web, workers: 1,
				daemon: false, set: { cors_origins: ORIGINS } });
			try {
				const r = await call(st2.url, 'GET',
				    '/socket.io/?EIO=4&transport=polling',
				    { headers: { Origin: DEV } });
				assert.equal(r.status, 503, r.text);
				assert.equal(r.body.detail, 'Service unavailable');
				assertCors(r, DEV, '503');
				const e = await call(st2.url, 'GET',
				    '/socket.io/?EIO=4&transport=polling',
				    { headers: { Origin: EVIL } });
				assert.equal(e.status, 503);
				assertNoCors(e, '503 unlisted');
			} finally {
				await st2.stop();
			}
		});

		// Last: it spends the auth limit of 127.0.0.1.
		test('429 of the auth limit carries CORS and exposes Retry-After',
		    async () => {
			let r;
			for (let i = 0; i < 500; i++) {
				r = await call(U, 'POST', '/auth/login', {
					headers: { Origin: DEV },
					json: { email: 'x@example.com',
						password: 'x' } });
				if (r.status === 429)
					break;
			}
			assert.equal(r.status, 429, r.text);
			assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
			assertCors(r, DEV, '429');
		});
	});
}

for (const web of ['nginx', 'lighttpd']) {
	describe(`${web}: no cors_origins`, () => {
		let st;
		before(async () => {
			st = await startStack({ web, workers: 1, set: {
				upload_burst: '100000', upload_rate: '1000' } });
		});
		after(async () => { await st?.stop(); });

		test('no Access-Control-*, uploads same-origin', async () => {
			const a = await newUser(st.url);
			const r = await call(st.url, 'GET', '/chat/chat_rooms',
			    { token: a.token, headers: { Origin: DEV } });
			assert.equal(r.status, 200);
			assertNoCors(r, 'REST');
			const u = await upload(st.url, a.token, ALLOWED.png.data,
			    { filename: 'a.png' });
			assert.equal(u.status, 201, u.text);
			const m = await fetch(st.url + u.body.file_url,
			    { headers: { Origin: DEV } });
			assert.equal(m.status, 200);
			assertNoCors(m, 'media');
			assert.equal(m.headers.get(
			    'cross-origin-resource-policy'), 'same-origin');
			const hs = await call(st.url, 'GET',
			    '/socket.io/?EIO=4&transport=polling',
			    { headers: { Origin: DEV } });
			assert.equal(hs.status, 403);
			assertNoCors(hs, 'socket.io');
		});
	});
}
