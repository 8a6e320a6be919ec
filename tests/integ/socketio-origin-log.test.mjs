// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// A handshake the daemon refuses for its Origin (not in cors_origins, not
// the Host's own origin) is explained in the daemon's log at the default
// log level: the refused Origin, the Host it was compared with, that it is
// not in cors_origins, and the dev-proxy hint (a proxy that rewrites Host,
// Vite's changeOrigin: true). A loop of refusals gives one line per
// 10 s window with their count, and client bytes are escaped.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStack } from './lib/stack.mjs';
import { call } from './lib/api.mjs';
import { until } from './lib/sio.mjs';

const ALLOWED = 'http://allowed.example:8080';
const FOREIGN = 'http://localhost:5173';
const POLL = '/socket.io/?EIO=4&transport=polling';
let st;
before(async () => {
	st = await startStack({ workers: 1, set: { cors_origins: ALLOWED } });
});
after(async () => { await st?.stop(); });

// The daemon's lines about Origin refusals so far.
const lines = () => st.output().split('\n')
    .filter((l) => l.includes('refused with 403 for their Origin'));

// A polling handshake with the raw bytes "origin" as its Origin header,
// over a plain socket (fetch would refuse bytes that are not a valid
// header value); resolves to the status line.
function rawHandshake(origin) {
	return new Promise((res, rej) => {
		const c = net.connect(st.port, '127.0.0.1');
		let buf = Buffer.alloc(0);
		c.on('connect', () => c.write(Buffer.concat([
			Buffer.from(`GET ${POLL} HTTP/1.1\r\nHost: 127.0.0.1:` +
			    `${st.port}\r\nOrigin: `),
			origin, Buffer.from('\r\nConnection: close\r\n\r\n')])));
		c.on('data', (d) => { buf = Buffer.concat([buf, d]); });
		c.on('end', () => res(buf.toString('latin1').split('\r\n')[0]));
		c.on('error', rej);
	});
}

describe('Origin refusals in the daemon log', () => {
	test('a foreign Origin: 403, and the log says why', async () => {
		const r = await call(st.url, 'GET', POLL,
		    { headers: { Origin: FOREIGN } });
		assert.equal(r.status, 403, r.text);
		const [l] = await until(() => lines().length > 0 && lines(),
		    10000, 'the log line', () => st.output().slice(-2000));
		assert.ok(l.includes(`Origin "${FOREIGN}"`), l);
		assert.ok(l.includes(`Host "127.0.0.1:${st.port}"`), l);
		assert.ok(l.includes('not in cors_origins'), l);
		assert.ok(l.includes('does not match Host'), l);
		assert.ok(l.includes("Vite's changeOrigin: true"), l);
		assert.match(l, /list the origin in cors_origins, or keep Host/);
		assert.match(l, /: 1 request\(s\) refused/);

		// The listed origin and the page's own are not refused.
		for (const o of [ALLOWED, `http://127.0.0.1:${st.port}`]) {
			const ok = await call(st.url, 'GET', POLL,
			    { headers: { Origin: o } });
			assert.equal(ok.status, 200, `${o}: ${ok.text}`);
		}
	});

	test('a refusing loop: one line per window, bytes escaped',
	    async () => {
		let sent = 0;
		for (let i = 0; i < 30; i++, sent++) {
			const r = await call(st.url, 'GET', POLL,
			    { headers: { Origin: FOREIGN } });
			assert.equal(r.status, 403);
		}
		// Keep refusing until the first line's window ends and the
		// next line names the escaped Origin, with the count of
		// the refusals since the line before.
		const odd = Buffer.from('http://\xc3\xa9vil\\.example',
		    'latin1');
		const l = await until(async () => {
			assert.equal(await rawHandshake(odd),
			    'HTTP/1.1 403 Forbidden');
			sent++;
			return lines().find((x) => x.includes('vil'));
		}, 30000, 'the next window\'s line');
		assert.ok(l.includes(
		    'Origin "http://\\xc3\\xa9vil\\x5c.example"'), l);
		const n = Number(l.match(/: (\d+) request\(s\) refused/)?.[1]);
		assert.ok(n > 1, l);
		// Far fewer lines than refusals, and none lost count.
		const all = lines();
		assert.ok(all.length * 10 < sent, `${all.length} lines for ` +
		    `${sent} refusals`);
		const counted = all.reduce((t, x) => t + Number(
		    x.match(/: (\d+) request\(s\) refused/)[1]), 0);
		assert.ok(counted <= sent + 1 && counted > sent - 5,
		    `${counted} counted, ${sent + 1} sent`);
	});
});
