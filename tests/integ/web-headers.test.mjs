// SPDX-License-Identifier: ISC
// test-timeout: 240
//
// What the web server itself answers, under nginx and lighttpd:
// - the browser client's pages (/, /docs, /api.html) and their assets
//   carry the Content-Security-Policy, nosniff and no-referrer;
// - the web server's own errors (a request line it cannot parse, an
//   encoded NUL, a URI or header too large, no Host, a bad chunked body,
//   an unknown HTTP version, a body too large, no daemon) are the API's
//   JSON {"detail": ...};
// - a token in the query string reaches no log file, whatever the path
//   that logs it: the web server's 413 on /socket.io/, the 502/503 with
//   the daemon down, malformed requests.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call } from './lib/api.mjs';
import { until } from './lib/sio.mjs';
import { PAGE_CSP } from './lib/browser.mjs';

// Send "bytes" on a new connection; resolve to everything read until the
// server closes it, parsed as status, headers and body.
function raw(port, bytes) {
	return new Promise((res, rej) => {
		const s = connect(port, '127.0.0.1');
		const chunks = [];
		s.on('connect', () => s.end(bytes));
		s.on('data', (d) => chunks.push(d));
		s.on('error', rej);
		s.on('close', () => {
			const t = Buffer.concat(chunks).toString('latin1');
			const i = t.indexOf('\r\n\r\n');
			const head = i === -1 ? t : t.slice(0, i);
			const m = head.match(/^HTTP\/1\.[01] (\d{3})/);
			const headers = {};
			for (const l of head.split('\r\n').slice(1)) {
				const c = l.indexOf(':');
				headers[l.slice(0, c).toLowerCase()] =
				    l.slice(c + 1).trim();
			}
			res({ status: m ? Number(m[1]) : 0, headers,
				body: i === -1 ? '' : t.slice(i + 4), text: t });
		});
	});
}

function assertJson(r, status, what) {
	assert.equal(r.status, status, `${what}: ${r.text.slice(0, 300)}`);
	assert.match(r.headers['content-type'] ?? '', /^application\/json/,
	    what);
	const body = JSON.parse(r.body);
	assert.equal(typeof body.detail, 'string', what);
}

// Every regular file under "dir" with its text.
function files(dir, out = []) {
	for (const e of readdirSync(dir)) {
		const p = join(dir, e);
		const s = statSync(p, { throwIfNoEntry: false });
		if (s?.isDirectory())
			files(p, out);
		else if (s?.isFile())
			out.push([p, readFileSync(p, 'latin1')]);
	}
	return out;
}

// Lines of the web server's access log in "st".
function accessLines(st) {
	const f = join(st.var, 'run', `${st.web}-access.log`);
	try {
		return readFileSync(f, 'utf8').split('\n').filter(Boolean).length;
	} catch {
		return 0;
	}
}

for (const web of ['nginx', 'lighttpd']) {
	describe(`${web}: pages, errors, logs`, () => {
		let st;
		let down;
		before(async () => {
			st = await startStack({ web, workers: 1 });
			down = await startStack({ web, workers: 1,
				daemon: false });
		});
		after(async () => {
			await st?.stop();
			await down?.stop();
		});

		test('pages and assets: CSP, nosniff, no-referrer', async () => {
			for (const p of ['/', '/index.html', '/docs', '/api.html',
				'/docs.html', '/app.js', '/style.css',
				'/openapi.json', '/vendor/swagger-ui.css']) {
				const r = await call(st.url, 'GET', p);
				assert.equal(r.status, 200, p);
				assert.equal(r.headers.get(
				    'content-security-policy'), PAGE_CSP, p);
				assert.equal(r.headers.get('x-content-type-options'),
				    'nosniff', p);
				assert.equal(r.headers.get('referrer-policy'),
				    'no-referrer', p);
			}
			// REST answers are the workers' own, uploads keep theirs.
			const r = await call(st.url, 'GET', '/chat/chat_rooms');
			assert.equal(r.status, 401);
			assert.equal(r.headers.get('content-security-policy'), null);
		});

		test('errors of the web server itself are JSON', async () => {
			const P = st.port;
			const cases = [
				['a request line it cannot parse', 'GARBAGE\r\n\r\n',
					400],
				['an encoded NUL', 'GET /%00 HTTP/1.1\r\nHost: x\r\n' +
				    'Connection: close\r\n\r\n', 400],
				['no Host', 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n',
					400],
				['a URI too long', `GET /${'a'.repeat(20000)} ` +
				    'HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
					web === 'nginx' ? 414 : 431],
				['a header too large', 'GET /chat/chat_rooms HTTP/1.1' +
				    `\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n` +
				    'Connection: close\r\n\r\n', 431],
				['a bad chunked body', 'POST /chat/chat_rooms HTTP/1.1' +
				    '\r\nHost: x\r\nTransfer-Encoding: chunked\r\n' +
				    'Connection: close\r\n\r\nzz\r\n', 400],
				['an unknown HTTP version', 'GET / HTTP/9.9\r\nHost: x' +
				    '\r\nConnection: close\r\n\r\n', 505],
				['a body too large', 'POST /chat/chat_rooms HTTP/1.1' +
				    '\r\nHost: x\r\nContent-Length: 3000000\r\n' +
				    'Connection: close\r\n\r\n', 413],
			];
			for (const [what, bytes, status] of cases)
				assertJson(await raw(P, bytes), status, what);
			const d = await raw(down.port, 'GET /socket.io/?EIO=4&' +
			    'transport=polling HTTP/1.1\r\nHost: x\r\n' +
			    'Connection: close\r\n\r\n');
			assertJson(d, 503, 'no daemon');
		});

		test('a token in the query reaches no log file', async () => {
			const T = `tok${randomBytes(12).toString('hex')}`;
			const q = `/socket.io/?EIO=4&transport=polling&token=${T}`;
			const n0 = accessLines(st);
			const d0 = accessLines(down);
			// The web server's 413 on /socket.io/.
			const big = await call(st.url, 'POST', `${q}&sid=x`,
			    { type: 'text/plain', body: Buffer.alloc(3 << 20, 0x31) });
			assert.equal(big.status, 413);
			// REST never reads it from the query: refused before
			// any check that logs (nginx), or answered by a worker.
			const rest = [
				await call(st.url, 'POST', `/chat/chat_rooms/?token=${T}`,
				    { type: 'text/plain', body: Buffer.alloc(3 << 20, 0x31) }),
				await call(st.url, 'GET', `/auth/users/me?token=${T}`),
				await call(down.url, 'GET', `/chat/chat_rooms/?x=1&TOKEN=${T}`),
			];
			for (const r of rest) {
				assert.ok(r.status >= 400 && r.status < 500, r.text);
				if (web === 'nginx')
					assert.equal(r.status, 400);
			}
			// Malformed requests carrying it.
			for (const bytes of [
				`GET ${q} HTTP/9.9\r\nHost: x\r\n\r\n`,
				`GET ${q}&%00 HTTP/1.1\r\nConnection: close\r\n\r\n`,
				`POST ${q} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ` +
				    'chunked\r\nConnection: close\r\n\r\nzz\r\n',
				`GET ${q} HTTP/1.1\r\nHost: x\r\nX-Big: ` +
				    `${'a'.repeat(20000)}\r\nConnection: close\r\n\r\n`,
			]) {
				const r = await raw(st.port, bytes);
				assert.ok(r.status >= 400 && r.status < 600, r.text);
			}
			// The daemon down: 502 from the proxy, answered 503.
			for (let i = 0; i < 3; i++) {
				const r = await call(down.url, 'GET', q);
				assert.equal(r.status, 503);
			}
			// Logged by now: the access log has the requests, and
			// lighttpd's error log (written through a pipe) the
			// failed connections to the daemon.
			await until(() => accessLines(st) >= n0 + 1 &&
			    accessLines(down) >= d0 + 3, 10000, 'access log lines');
			if (web === 'lighttpd')
				await until(() => (readFileSync(join(down.var, 'run',
				    'lighttpd-error.log'), 'utf8').match(
				    /handlers for \/socket\.io\//g) ?? []).length >= 1,
				    10000, 'the error log lines');
			for (const s of [st, down]) {
				for (const [p, text] of files(join(s.var, 'run')))
					assert.ok(!text.includes(T), `token in ${p}`);
				assert.ok(!s.output().includes(T),
				    'token in the stack output');
			}
		});
	});
}
