// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// The docs/testing.md 4.2 cases no other file asserts, through nginx: a missing
// Content-Type, top-level numbers, unknown fields, invalid UTF-8 in query
// and path parameters, SQL injection strings in every field and path
// parameter (stored literally, schema unchanged), the Authorization header
// variants, the token in the query string, exp around now and the leeway,
// and the authorization matrix of every endpoint and socket event against
// no token, an expired token and another user's token. Every answer is a
// 4xx JSON error or the normal success, and the workers keep serving.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { call, JWT_AUD, JWT_ISS, newRoom, newUser, post, rawCall, signJwt,
	uniq } from './lib/api.mjs';
import { ack, closeAll, connect, refused } from './lib/sio.mjs';
import { workers } from './lib/procs.mjs';

const LEEWAY = 30;
let st;
let U;
let a;
let b;
let room;
let w0;
before(async () => {
	st = await startStack({ workers: 2,
		set: { token_leeway: String(LEEWAY) } });
	U = st.url;
	[a, b] = [await newUser(U), await newUser(U)];
	room = await newRoom(U, a, []);
	w0 = workers(st).sort();
});
after(async () => {
	closeAll();
	await st?.stop();
});

async function stillServing() {
	const r = await call(U, 'GET', '/auth/users/me', { token: a.token });
	assert.equal(r.status, 200, r.text);
}

function is4xx(r, what, statuses) {
	assert.ok(statuses ? statuses.includes(r.status)
	    : r.status >= 400 && r.status < 500,
	`${what}: ${r.status} ${r.text.slice(0, 200)}`);
	assert.equal(typeof r.body?.detail === 'string' ||
	    Array.isArray(r.body?.detail), true, `${what}: ${r.text}`);
}

const now = () => Math.floor(Date.now() / 1000);
const tokenFor = (u, claims) => signJwt(st.secret(), { iss: JWT_ISS,
	aud: JWT_AUD, sub: String(u.id), iat: now(), exp: now() + 600,
	...claims });

describe('malformed JSON: the cases http.test.mjs leaves', () => {
	// FastAPI's rule, which docs/api.md follows: no Content-Type is read as
	// JSON (reqval.c); a wrong one is refused (http.test.mjs).
	test('no Content-Type: read as JSON; a body that is not: 4xx JSON',
	    async () => {
		const ok = await call(U, 'POST',
		    `/chat/chat_rooms/${room.id}/messages`, { token: a.token,
			body: Buffer.from('{"content":"untyped"}') });
		assert.equal(ok.status, 201, ok.text);
		assert.equal(ok.body.content, 'untyped');
		for (const [path, token] of [['/auth/signup'], ['/auth/login'],
			['/chat/chat_rooms/', a.token],
			[`/chat/chat_rooms/${room.id}/messages`, a.token]]) {
			for (const body of ['content=x', '<x/>', '{"a":'])
				is4xx(await call(U, 'POST', path, { token,
					body: Buffer.from(body) }),
				`no type ${path} ${body}`);
		}
	});

	test('top-level numbers: 4xx JSON', async () => {
		for (const body of ['42', '-1', '1e5', '0', '"s"'])
			is4xx(await call(U, 'POST',
			    `/chat/chat_rooms/${room.id}/messages`, { token: a.token,
				body, type: 'application/json' }), body);
	});

	test('unknown fields are ignored', async () => {
		const r = await call(U, 'POST', `/chat/chat_rooms/${room.id}/messages`,
		    { token: a.token, json: { content: 'with extras', x: 1,
			    is_admin: true, id: 1, __proto__x: {} } });
		assert.equal(r.status, 201, r.text);
		assert.equal(r.body.content, 'with extras');
		assert.equal('x' in r.body || 'is_admin' in r.body, false);
	});
});

describe('invalid UTF-8 in query and path parameters', () => {
	test('4xx, never 5xx', async () => {
		for (const bad of ['%C0%AF', '%ED%A0%80', '%F4%90%80%80', '%E2%82',
			'%FF', '%00']) {
			for (const p of [
				`/chat/chat_rooms/${room.id}/messages?limit=${bad}`,
				`/chat/chat_rooms/${room.id}/messages?before=1${bad}`,
				`/chat/chat_rooms/${room.id}/messages?x=${bad}`,
				`/chat/chat_rooms/${bad}`,
				`/chat/chat_rooms/${bad}/messages`,
			]) {
				const r = await call(U, 'GET', p, { token: a.token });
				assert.ok(r.status === 200 && p.includes('?x=') ||
				    (r.status >= 400 && r.status < 500),
				`${p}: ${r.status} ${r.text.slice(0, 100)}`);
			}
		}
		await stillServing();
	});
});

describe('SQL injection strings', () => {
	const S = ["' OR '1'='1", '1; DROP TABLE users;--', '%', '_', '\\',
		'"', '\u2019', "'); DELETE FROM messages; --"];

	test('stored literally in every text field, schema unchanged',
	    async () => {
		const schema = st.sql('SELECT type, name, sql FROM sqlite_master ' +
		    'ORDER BY name;');
		for (const s of S) {
			const r = await post(U, a, room.id, s);
			assert.equal(r.status, 201, r.text);
			assert.equal(r.body.content, s);
			const nr = await newRoom(U, a, [], `room ${s}`);
			assert.equal(nr.name, `room ${s}`);
			const su = await call(U, 'POST', '/auth/signup', { json: {
				username: uniq('q'), email: `${uniq('q')}@example.com`,
				password: `pw ${s} 123456`, full_name: `n ${s}` } });
			assert.equal(su.status, 201, su.text);
			assert.equal(su.body.full_name, `n ${s}`);
			// As a login name and a member name: no match.
			const l = await call(U, 'POST', '/auth/login', { json: {
				email: s, password: s } });
			assert.equal(l.status, 401, l.text);
			const m = await call(U, 'POST', '/chat/chat_rooms/', {
				token: a.token, json: { name: 'x', members: [s] } });
			assert.equal(m.status, 422, m.text);
		}
		const got = (await call(U, 'GET', `/chat/chat_rooms/${room.id
		}/messages?limit=100`, { token: a.token })).body
		    .map((m) => m.content);
		for (const s of S)
			assert.ok(got.includes(s), s);
		assert.equal(st.sql('SELECT type, name, sql FROM sqlite_master ' +
		    'ORDER BY name;'), schema);
		assert.ok(Number(st.sql('SELECT count(*) FROM users;')) >= 2);
	});

	test('in path and query parameters: 4xx', async () => {
		for (const s of S) {
			const e = encodeURIComponent(s);
			for (const p of [`/chat/chat_rooms/${e}`,
				`/chat/chat_rooms/${e}/messages`,
				`/chat/chat_rooms/${room.id}/messages?before=${e}`,
				`/chat/chat_rooms/${room.id}/messages?limit=${e}`]) {
				const r = await call(U, 'GET', p, { token: a.token });
				is4xx(r, p, [400, 404, 422]);
			}
		}
		await stillServing();
	});
});

describe('tokens', () => {
	test('Authorization variants', async () => {
		const me = (h) => rawCall(U, 'GET', '/auth/users/me',
		    { headers: h });
		for (const [h, want] of [
			[`Bearer ${a.token}`, 200],
			[`bearer ${a.token}`, 200],
			[`BEARER ${a.token}`, 200],
			[`Bearer  ${a.token}`, 200],
			[`Bearer\t${a.token} `, 200],
			[a.token, 401],
			[`Basic ${a.token}`, 401],
			[`Bearer${a.token}`, 401],
			['Bearer', 401],
			['Bearer ', 401],
			[`Bearer ${a.token} x`, 401],
			[`Bearer ${a.token},Bearer ${b.token}`, 401],
		]) {
			const r = await me({ Authorization: h });
			assert.equal(r.status, want, `${h.slice(0, 20)}: ${r.text}`);
			if (want === 401)
				assert.match(r.headers['www-authenticate'], /^Bearer/);
		}
		// Two Authorization headers: never someone's 200 by accident
		// of order, never a 5xx.
		const two = await rawCall(U, 'GET', '/auth/users/me', { headers: [
			'Authorization', `Bearer ${a.token}`,
			'Authorization', `Bearer ${b.token}`] });
		assert.ok([400, 401].includes(two.status), `two: ${two.status}`);
	});

	test('a token in the query string is not accepted', async () => {
		// nginx refuses ?token= on REST before it can be logged; the
		// worker never reads a token from the query.
		for (const [q, want] of [[`?token=${a.token}`, 400],
			[`?access_token=${a.token}`, 401]]) {
			const r = await call(U, 'GET', `/auth/users/me${q}`);
			assert.equal(r.status, want, r.text);
			assert.equal(typeof r.body?.detail, 'string', r.text);
		}
	});

	test('exp now and around the leeway', async () => {
		for (const [exp, want] of [[0, 200], [-LEEWAY + 10, 200],
			[-LEEWAY - 10, 401], [-3600, 401], [10, 200]]) {
			const r = await call(U, 'GET', '/auth/users/me',
			    { token: tokenFor(a, { exp: now() + exp }) });
			assert.equal(r.status, want, `exp now${exp}: ${r.text}`);
		}
	});
});

describe('authorization matrix', () => {
	test('every endpoint x no token, expired, another user\'s', async () => {
		const other = await newRoom(U, b, []);
		const expired = tokenFor(a, { iat: now() - 7200,
			exp: now() - 3600 });
		const routes = [
			['GET', '/auth/users/me'],
			['GET', '/chat/chat_rooms/'],
			['POST', '/chat/chat_rooms/', { name: 'x', members: [] }],
			['GET', '/chat/private_chats/'],
			['GET', `/chat/chat_rooms/${other.id}`],
			['GET', `/chat/chat_rooms/${other.id}/messages`],
			['POST', `/chat/chat_rooms/${other.id}/messages`,
				{ content: 'idor' }],
			['POST', '/chat/upload_media/'],
		];
		for (const [m, p, json] of routes) {
			for (const [who, token] of [['none', undefined],
				['expired', expired], ['garbage', 'x.y.z']]) {
				const r = await call(U, m, p, { token, json });
				assert.equal(r.status, 401, `${who} ${m} ${p}: ${r.text}`);
			}
		}
		// a's valid token on b's room: the one 404 for "not yours".
		for (const [m, p, json] of routes.slice(4, 7)) {
			const r = await call(U, m, p, { token: a.token, json });
			assert.equal(r.status, 404, `${m} ${p}: ${r.text}`);
		}
		const l = await call(U, 'GET', `/chat/chat_rooms/${other.id
		}/messages`, { token: b.token });
		assert.deepEqual(l.body, []);
	});

	test('socket events x no token, expired, another user\'s', async () => {
		const other = await newRoom(U, b, []);
		for (const auth of [undefined, {}, { token: tokenFor(a, {
			iat: now() - 7200, exp: now() - 3600 }) }]) {
			const { err } = await refused(U, auth);
			assert.equal(err.message, 'unauthorized');
		}
		const s = await connect(U, a);
		const r = await ack(s, 'chat_message', { room_id: other.id,
			content: 'idor' });
		assert.equal(r?.status, 'error', JSON.stringify(r));
		const o = await ack(s, 'get_online_users', { room_id: other.id });
		assert.equal(o?.status, 'error', JSON.stringify(o));
		s.close();
		const l = await call(U, 'GET', `/chat/chat_rooms/${other.id
		}/messages`, { token: b.token });
		assert.deepEqual(l.body, []);
	});
});

test('the workers are the same processes after all of it', () => {
	assert.deepEqual(workers(st).sort(), w0);
});
