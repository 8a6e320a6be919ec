// SPDX-License-Identifier: ISC
// test-timeout: 300
//
// HTTP surface and bad input (docs/testing.md 4.2) through nginx: trailing
// slashes, unknown paths, wrong methods, malformed and hostile bodies and
// path ids. Every bad request must get a 4xx, never a 5xx, and the workers
// must keep serving (nginx's log must show no worker dying mid-request).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, rawCall, uniq } from './lib/api.mjs';

let st;
let U;
let a;
let b;
let room;
before(async () => {
	st = await startStack();
	U = st.url;
	[a, b] = [await newUser(U), await newUser(U)];
	room = await newRoom(U, a, [b.email]);
});
after(async () => { await st?.stop(); });

// The workers still answer a normal authenticated request.
async function stillServing() {
	const r = await call(U, 'GET', '/auth/users/me', { token: a.token });
	assert.equal(r.status, 200, `worker not serving: ${r.status} ${r.text}`);
}

function assert4xx(r, what) {
	assert.ok(r.status >= 400 && r.status < 500,
	    `${what}: ${r.status} ${r.text.slice(0, 300)}`);
	assert.ok(r.body !== undefined && 'detail' in r.body,
	    `${what}: not a JSON error: ${r.text.slice(0, 300)}`);
}

describe('routing', () => {
	test('trailing slashes are accepted both ways', async () => {
		const name = uniq('ts');
		let r = await call(U, 'POST', '/auth/signup/', { json: {
			username: name, email: `${name}@example.com`,
			password: 'password1' } });
		assert.equal(r.status, 201, r.text);
		for (const p of ['/auth/login/', '/auth/token/']) {
			r = await call(U, 'POST', p, { json: { username: name,
				password: 'password1' } });
			assert.equal(r.status, 200, `${p}: ${r.text}`);
		}
		for (const p of ['/auth/users/me/', '/chat/chat_rooms',
			'/chat/private_chats', `/chat/chat_rooms/${room.id}/`,
			`/chat/chat_rooms/${room.id}/messages/`]) {
			r = await call(U, 'GET', p, { token: a.token });
			assert.equal(r.status, 200, `${p}: ${r.text}`);
		}
		r = await call(U, 'POST', '/chat/chat_rooms', { token: a.token,
			json: { name: 'no slash', members: [] } });
		assert.equal(r.status, 201, r.text);
		r = await call(U, 'POST', `/chat/chat_rooms/${room.id}/messages/`,
		    { token: a.token, json: { content: 'slash' } });
		assert.equal(r.status, 201, r.text);
	});

	test('unknown paths: 404 JSON', async () => {
		for (const p of ['/auth/nope', '/chat/nope', '/chat/',
			'/auth/', `/chat/chat_rooms/${room.id}/nope`,
			'/chat/chat_rooms/1/messages/2', '/nope',
			'/auth/users/me/x', '/auth/signupx']) {
			const r = await call(U, 'GET', p, { token: a.token });
			assert.equal(r.status, 404, `${p}: ${r.text}`);
			assert.equal(typeof r.body?.detail, 'string', `${p}: ${r.text}`);
		}
	});

	test('wrong method: 405 with Allow', async () => {
		for (const [m, p, allow] of [
			['GET', '/auth/signup', ['POST']],
			['GET', '/auth/login', ['POST']],
			['PUT', '/auth/token/', ['POST']],
			['POST', '/auth/users/me', ['GET']],
			['DELETE', '/chat/chat_rooms/', ['GET', 'POST']],
			['PUT', `/chat/chat_rooms/${room.id}`, ['GET']],
			['PATCH', `/chat/chat_rooms/${room.id}/messages`,
				['GET', 'POST']],
			['POST', '/chat/private_chats/', ['GET']],
		]) {
			const r = await call(U, m, p, { token: a.token });
			assert.equal(r.status, 405, `${m} ${p}: ${r.text}`);
			const got = (r.headers.get('allow') ?? '').split(/\s*,\s*/)
			    .filter((x) => x && x !== 'HEAD' && x !== 'OPTIONS').sort();
			assert.deepEqual(got, allow, `${m} ${p}`);
			assert.equal(typeof r.body?.detail, 'string');
		}
	});

	// nginx itself answers 400 for a few (an encoded NUL).
	test('non-numeric or out-of-range room ids: 4xx', async () => {
		for (const id of ['abc', '1abc', '-1', '0x10', '1.0', '%00',
			'99999999999999999999999999999', '1%2f2', '%20', "1'"]) {
			for (const suffix of ['', '/messages']) {
				const r = await call(U, 'GET',
				    `/chat/chat_rooms/${id}${suffix}`, { token: a.token });
				assert.ok([400, 404, 422].includes(r.status),
				    `${id}${suffix}: ${r.status} ${r.text}`);
				assert.ok(r.status === 400 || r.body?.detail !==
				    undefined, r.text);
			}
			const p = await call(U, 'POST',
			    `/chat/chat_rooms/${id}/messages`,
			    { token: a.token, json: { content: 'x' } });
			assert.ok([400, 404, 422].includes(p.status),
			    `POST ${id}: ${p.status} ${p.text}`);
		}
		await stillServing();
	});
});

// Raw bodies sent to each JSON route.
const TARGETS = () => [
	['/auth/signup', undefined],
	['/auth/login', undefined],
	['/chat/chat_rooms/', a.token],
	[`/chat/chat_rooms/${room.id}/messages`, a.token],
];

async function sendAll(what, body, type = 'application/json') {
	for (const [path, token] of TARGETS()) {
		const r = await call(U, 'POST', path, { token, body, type });
		assert4xx(r, `${what} -> ${path}`);
	}
}

describe('bad input', () => {
	test('malformed JSON', async () => {
		for (const body of ['', '{', '}', '{"a":}', '{"a":1,}',
			"{'content':'x'}", '{"content":"x"} trailing',
			'{"content":"x"}{}', 'null', 'true', '"x"', '[]', '[1,2',
			'{"content":NaN}', '{"content":Infinity}',
			'{"content":"x\\q"}', '{"content":"\\u12"}', '{content:"x"}',
			'\ufeff{"content":"x"}', '{"content":"x",}', '\u0000',
			'{"content":"x"', '{"a":1}\u0000']) {
			await sendAll(JSON.stringify(body), body);
		}
		await stillServing();
	});

	test('deep nesting', async () => {
		for (const n of [3000, 200000]) {
			await sendAll(`[ x${n}`, '['.repeat(n) + ']'.repeat(n));
			await sendAll(`{ x${n}`,
			    '{"a":'.repeat(n) + '1' + '}'.repeat(n));
		}
		await stillServing();
	});

	test('invalid UTF-8 in strings and keys', async () => {
		const seqs = [[0xc0, 0xaf], [0xed, 0xa0, 0x80],
			[0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff], [0x80],
			[0xf8, 0x88, 0x80, 0x80, 0x80]];
		for (const seq of seqs) {
			const bad = Buffer.from(seq);
			for (const field of ['username', 'email', 'password',
				'name', 'content']) {
				const body = Buffer.concat([
					Buffer.from(`{"username":"u${seq[0]}x",` +
					    '"email":"e@example.com",' +
					    '"password":"password1","members":[],' +
					    `"name":"n","content":"c",` +
					    `"${field}":"a`), bad,
					Buffer.from('b"}')]);
				for (const [path, token] of TARGETS()) {
					const r = await call(U, 'POST', path,
					    { token, body, type: 'application/json' });
					assert4xx(r, `${bad.toString('hex')} in ` +
					    `${field} -> ${path}`);
				}
			}
		}
		await stillServing();
	});

	test('\\u0000 and lone surrogates in strings', async () => {
		for (const esc of ['\\u0000', '\\ud800', '\\udfff',
			'\\ud800\\u0041', 'x\\u0000y']) {
			const name = uniq('z');
			await sendAll(`signup ${esc}`, `{"username":"${name}",` +
			    `"email":"${name}@example.com","password":"pass${esc}word",` +
			    `"full_name":"a${esc}"}`);
			await sendAll(`content ${esc}`,
			    `{"content":"a${esc}b","name":"r${esc}","members":[]}`);
		}
		const l = await call(U, 'GET', `/chat/chat_rooms/${room.id}/messages`,
		    { token: a.token });
		assert.ok(!l.body.some((m) => m.content.includes('\u0000')));
		await stillServing();
	});

	test('valid edge characters are stored as sent', async () => {
		for (const s of ['\uffff', '\u{10ffff}', '😀', '\u202e', '\u200b',
			'tab\tnew\nline\r\n']) {
			const r = await call(U, 'POST',
			    `/chat/chat_rooms/${room.id}/messages`,
			    { token: a.token, json: { content: s } });
			assert.equal(r.status, 201, `${JSON.stringify(s)}: ${r.text}`);
			assert.equal(r.body.content, s);
		}
	});

	test('huge numbers and wrong types', async () => {
		for (const body of [
			'{"content":"x","client_id":123456789012345678901234567890}',
			'{"content":123456789012345678901234567890}',
			'{"content":1e400}', '{"content":-0}',
			'{"content":{"a":1}}', '{"content":["x"]}',
			'{"content":true}', '{"members":{},"name":"x"}',
			'{"members":[[]],"name":"x"}', '{"members":[],"name":null}',
			'{"email":1,"password":2,"username":3}',
		])
			await sendAll(body, body);
		await stillServing();
	});

	test('duplicate keys are refused', async () => {
		const r = await call(U, 'POST', `/chat/chat_rooms/${room.id}/messages`,
		    { token: a.token, body: '{"content":"a","content":"b"}',
			type: 'application/json' });
		assert4xx(r, 'duplicate content');
		const name = uniq('dk');
		const s = await call(U, 'POST', '/auth/signup', { body:
		    `{"username":"${name}","email":"${name}@example.com",` +
		    `"password":"password1","username":"${name}x"}`,
			type: 'application/json' });
		assert4xx(s, 'duplicate username');
	});

	test('a 1 MB string: 413 or 422', async () => {
		const big = 'x'.repeat(1000000);
		for (const [path, token] of TARGETS()) {
			const r = await call(U, 'POST', path, { token,
				json: { username: big, email: big, password: big,
					name: big, members: [], content: big } });
			assert.ok(r.status === 413 || r.status === 422,
			    `${path}: ${r.status}`);
		}
		await stillServing();
	});

	test('a body over 1 MiB: 413 JSON', async () => {
		const body = JSON.stringify({ content: 'x'.repeat(1048576) });
		for (const [path, token] of TARGETS()) {
			const r = await call(U, 'POST', path,
			    { token, body, type: 'application/json' });
			assert.equal(r.status, 413, `${path}: ${r.status}`);
			assert.deepEqual(r.body, { detail: 'Request body too large' });
		}
		await stillServing();
	});

	test('a Content-Length that lies', async () => {
		const body = '{"content":"short"}';
		for (const len of [5, 200]) {
			const r = await rawCall(U, 'POST',
			    `/chat/chat_rooms/${room.id}/messages`,
			    { headers: { 'Content-Type': 'application/json',
				'Authorization': `Bearer ${a.token}`,
				'Content-Length': String(len) }, body }).catch(
			    (e) => ({ status: 0, text: String(e) }));
			assert.ok(r.status === 0 || (r.status >= 400 && r.status < 500),
			    `Content-Length ${len}: ${r.status} ${r.text}`);
		}
		await stillServing();
	});

	test('a chunked body over 1 MiB: 413', async () => {
		const r = await new Promise((res, rej) => {
			const u = new URL(U);
			const rq = http.request({ host: u.hostname, port: u.port,
				method: 'POST',
				path: `/chat/chat_rooms/${room.id}/messages`,
				headers: { 'Content-Type': 'application/json',
					'Authorization': `Bearer ${a.token}` } },
			    (rs) => { rs.resume(); rs.on('end',
				() => res(rs.statusCode)); });
			rq.on('error', rej);
			rq.write('{"content":"');
			for (let i = 0; i < 20; i++)
				rq.write('x'.repeat(65536));
			rq.end('"}');
		}).catch((e) => String(e));
		assert.ok(r === 413 || /EPIPE|ECONNRESET/.test(r), `${r}`);
		await stillServing();
	});

	test('header sizes: 100 small headers pass, a 10 KB one is refused',
	    async () => {
		const many = {};
		for (let i = 0; i < 100; i++)
			many[`X-Test-${i}`] = `v${i}`;
		const ok = await call(U, 'GET', '/auth/users/me',
		    { token: a.token, headers: many });
		assert.equal(ok.status, 200, ok.text);
		const big = await call(U, 'GET', '/auth/users/me',
		    { token: a.token, headers: { 'X-Big': 'x'.repeat(10240) } });
		assert.ok(big.status === 400 || big.status === 431 ||
		    big.status === 494, `${big.status}`);
		await stillServing();
	});

	test('wrong Content-Type', async () => {
		const room2 = await newRoom(U, a, []);
		for (const type of ['text/plain', 'application/xml',
			'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']) {
			const r = await call(U, 'POST',
			    `/chat/chat_rooms/${room2.id}/messages`, { token: a.token,
				body: '{"content":"typed"}', type });
			assert4xx(r, type);
			const name = uniq('ct');
			const s = await call(U, 'POST', '/auth/signup', { body:
			    JSON.stringify({ username: name,
				    email: `${name}@example.com`,
				    password: 'password1' }), type });
			assert4xx(s, `signup ${type}`);
		}
		const l = await call(U, 'GET', `/chat/chat_rooms/${room2.id}/messages`,
		    { token: a.token });
		assert.deepEqual(l.body, []);
	});

	test('hostile query strings on the message list', async () => {
		for (const q of ['?limit=10&limit=20', '?before=1&after=1',
			'?limit=%ff', '?limit=1%00', '?before=' + '9'.repeat(5000),
			'?' + 'a=1&'.repeat(2000), '?limit', '?=', '?&&&']) {
			const r = await call(U, 'GET',
			    `/chat/chat_rooms/${room.id}/messages${q}`,
			    { token: a.token });
			assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500),
			    `${q.slice(0, 40)}: ${r.status}`);
		}
		await stillServing();
	});

	test('no worker died during this file', async () => {
		const log = readFileSync(join(st.var, 'run/nginx-error.log'), 'utf8');
		assert.ok(!/prematurely closed|reset by peer|no live upstreams/
		    .test(log), log.split('\n').filter((l) =>
		    /upstream/.test(l)).slice(0, 5).join('\n'));
		assert.ok(st.alive());
	});
});
