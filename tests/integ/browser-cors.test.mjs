// SPDX-License-Identifier: ISC
// test-timeout: 180
//
// CORS as a browser applies it: headless chromium opens a page served by
// this test from another origin (http://localhost:<port>, as a frontend
// dev server would be), listed in the stack's cors_origins, and that page
// uses the API by its own URL: signup and login, a REST call with the
// Authorization header (so a preflight), a 401 whose WWW-Authenticate it
// can read, an upload and its <img>, and Socket.IO (polling, then the
// WebSocket upgrade) with socket.io-client loaded from the stack. A page
// from an origin not listed gets none of it. Under nginx and lighttpd.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { freePort, startStack } from './lib/stack.mjs';
import { launch, vendorCheck } from './lib/browser.mjs';

// The page: its script runs the steps and leaves window.result.
function page(api) {
	return `<!doctype html><meta charset="utf-8"><title>cors</title>
<script type="module">
const B = ${JSON.stringify(api)};
const r = {};
window.result = null;
try {
	const u = 'c' + Math.random().toString(36).slice(2, 10);
	const j = { 'Content-Type': 'application/json' };
	const s = await fetch(B + '/auth/signup', { method: 'POST', headers: j,
		body: JSON.stringify({ username: u, email: u + '@example.com',
			password: 'pw-cors-12345', full_name: 'C' }) });
	r.signup = s.status;
	const l = await fetch(B + '/auth/login', { method: 'POST', headers: j,
		body: JSON.stringify({ email: u + '@example.com',
			password: 'pw-cors-12345' }) });
	const token = (await l.json()).access_token;
	const me = await fetch(B + '/auth/users/me',
	    { headers: { Authorization: 'Bearer ' + token } });
	r.me = me.status;
	const no = await fetch(B + '/chat/chat_rooms/');
	r.unauthorized = [no.status, no.headers.get('www-authenticate'),
		(await no.json()).detail];
	const png = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB' +
	    'CAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=='),
	    (c) => c.charCodeAt(0));
	const fd = new FormData();
	fd.append('file', new Blob([png], { type: 'image/png' }), 'a.png');
	const up = await fetch(B + '/chat/upload_media/', { method: 'POST',
		headers: { Authorization: 'Bearer ' + token }, body: fd });
	r.upload = up.status;
	const url = (await up.json()).file_url;
	r.img = await new Promise((res) => {
		const img = new Image();
		img.crossOrigin = 'anonymous';
		img.onload = () => res('loaded');
		img.onerror = () => res('error');
		img.src = B + url;
	});
	const { io } = await import(B + '/vendor/socket.io.esm.min.js');
	r.socket = await new Promise((res) => {
		const sock = io(B, { auth: { token }, reconnection: false });
		const done = (t) => { res('upgraded ' + t); sock.close(); };
		// The upgrade may end before or after the CONNECT's answer.
		sock.on('connect', () => {
			const e = sock.io.engine;
			if (e.transport.name === 'websocket')
				done('websocket');
			else
				e.once('upgrade', (t) => done(t.name));
		});
		sock.on('connect_error', (e) => res('connect_error ' + e.message));
	});
} catch (e) {
	r.error = String(e);
}
window.result = r;
</script>`;
}

// A page server on a free port; setApi(url) sets the API the page calls.
// Resolves to { origin, setApi, close }.
async function pageServer() {
	const port = await freePort();
	let api = '';
	const srv = createServer((req, res) => {
		res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
		res.end(page(api));
	});
	await new Promise((res) => srv.listen(port, '127.0.0.1', res));
	return { origin: `http://localhost:${port}`,
		setApi: (u) => { api = u; },
		close: () => new Promise((res) => srv.close(res)) };
}

async function run(browser, origin) {
	const p = await browser.newPage();
	try {
		await p.goto(`${origin}/`);
		await p.waitForFunction(() => window.result !== null &&
		    window.result !== undefined, null, { timeout: 30000 });
		return await p.evaluate(() => window.result);
	} finally {
		await p.close();
	}
}

let browser;
before(async () => {
	vendorCheck();
	browser = await launch();
});
after(async () => { await browser?.close(); });

for (const web of ['nginx', 'lighttpd']) {
	describe(`${web}: a page of another origin`, () => {
		let st;
		let listed;
		let other;
		before(async () => {
			listed = await pageServer();
			other = await pageServer();
			st = await startStack({ web, workers: 2, set: {
				cors_origins: listed.origin } });
			listed.setApi(st.url);
			other.setApi(st.url);
		});
		after(async () => {
			await listed?.close();
			await other?.close();
			await st?.stop();
		});

		test('listed: REST, 401, upload, <img> and Socket.IO work',
		    async () => {
			const r = await run(browser, listed.origin);
			assert.deepEqual(r, {
				signup: 201,
				me: 200,
				unauthorized: [401, 'Bearer', 'Not authenticated'],
				upload: 201,
				img: 'loaded',
				socket: 'upgraded websocket',
			});
		});

		test('not listed: the browser refuses the first call',
		    async () => {
			const r = await run(browser, other.origin);
			assert.match(r.error ?? '', /TypeError|Failed to fetch/,
			    JSON.stringify(r));
			assert.equal(r.signup, undefined);
		});
	});
}
