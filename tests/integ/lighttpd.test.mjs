// SPDX-License-Identifier: ISC
//
// The same workers behind lighttpd instead of nginx (tools/stack --web
// lighttpd): a subset of the API (signup, login, rooms, messages, routing,
// body limit), and the per-address auth limit that the workers enforce
// themselves there (auth_addr_limit yes, since lighttpd has no limit_req).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post, uniq } from './lib/api.mjs';

describe('lighttpd: the API subset', () => {
	let st;
	let U;
	after(async () => { await st?.stop(); });

	test('the rendered chat.conf turns the application limit on', async () => {
		st = await startStack({ web: 'lighttpd' });
		U = st.url;
		const conf = readFileSync(`${st.var}/run/chat.conf`, 'utf8');
		assert.match(conf, /^auth_addr_limit yes$/m);
	});

	test('signup, login (JSON and form), users/me', async () => {
		const name = uniq('L');
		const s = await call(U, 'POST', '/auth/signup/', { json: {
			username: name, email: `${name}@Example.com`,
			password: 'password1', full_name: 'Li Ght' } });
		assert.equal(s.status, 201, s.text);
		assert.equal(s.body.email, `${name.toLowerCase()}@example.com`);
		const dup = await call(U, 'POST', '/auth/signup', { json: {
			username: name, email: `${uniq('o')}@example.com`,
			password: 'password1' } });
		assert.equal(dup.status, 400, dup.text);
		const j = await call(U, 'POST', '/auth/login', { json: {
			email: s.body.email, password: 'password1' } });
		assert.equal(j.status, 200, j.text);
		const f = await call(U, 'POST', '/auth/token', { form: {
			username: name, password: 'password1' } });
		assert.equal(f.status, 200, f.text);
		const bad = await call(U, 'POST', '/auth/login', { json: {
			email: s.body.email, password: 'password2' } });
		assert.equal(bad.status, 401, bad.text);
		assert.deepEqual(bad.body, { detail: 'Incorrect email or password' });
		for (const token of [j.body.access_token, f.body.access_token]) {
			const me = await call(U, 'GET', '/auth/users/me', { token });
			assert.equal(me.status, 200, me.text);
			assert.equal(me.body.username, name);
		}
		const none = await call(U, 'GET', '/auth/users/me');
		assert.equal(none.status, 401);
		assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
	});

	test('rooms and messages', async () => {
		const a = await newUser(U);
		const b = await newUser(U);
		const c = await newUser(U);
		const room = await newRoom(U, a, [b.username]);
		assert.deepEqual([...room.members].sort(), [a.email, b.email].sort());
		const m = await post(U, b, room.id, 'über lighttpd',
		    { client_id: 'l-1' });
		assert.equal(m.status, 201, m.text);
		const rep = await post(U, b, room.id, 'again', { client_id: 'l-1' });
		assert.equal(rep.status, 200, rep.text);
		assert.equal(rep.body.id, m.body.id);
		for (let i = 0; i < 4; i++)
			await post(U, a, room.id, `n${i}`);
		const l = await call(U, 'GET',
		    `/chat/chat_rooms/${room.id}/messages?limit=2&before=` +
		    `${m.body.id}`, { token: a.token });
		assert.deepEqual(l.body, []);
		const l2 = await call(U, 'GET',
		    `/chat/chat_rooms/${room.id}/messages?after=${m.body.id}&limit=2`,
		    { token: a.token });
		assert.deepEqual(l2.body.map((x) => x.content), ['n0', 'n1']);
		const g = await call(U, 'GET', `/chat/chat_rooms/${room.id}/`,
		    { token: b.token });
		assert.equal(g.status, 200, g.text);
		assert.equal(g.body.messages.length, 5);
		const no = await call(U, 'GET', `/chat/chat_rooms/${room.id}`,
		    { token: c.token });
		assert.equal(no.status, 404);
		assert.deepEqual(no.body,
		    { detail: 'Chat room not found or access denied' });
		const bad = await call(U, 'GET',
		    `/chat/chat_rooms/${room.id}/messages?limit=0`, { token: a.token });
		assert.equal(bad.status, 422, bad.text);
	});

	test('routing and limits of the web server', async () => {
		const a = await newUser(U);
		const r404 = await call(U, 'GET', '/chat/nope', { token: a.token });
		assert.equal(r404.status, 404, r404.text);
		const r405 = await call(U, 'DELETE', '/chat/chat_rooms/',
		    { token: a.token });
		assert.equal(r405.status, 405, r405.text);
		assert.match(r405.headers.get('allow') ?? '', /GET/);
		const big = await call(U, 'POST', '/chat/chat_rooms/', {
			token: a.token, type: 'application/json',
			body: JSON.stringify({ name: 'x'.repeat(1100000),
				members: [] }) });
		assert.equal(big.status, 413, big.text.slice(0, 200));
		assert.deepEqual(big.body, { detail: 'Request body too large' });
		const bad = await call(U, 'POST', '/chat/chat_rooms/', {
			token: a.token, type: 'application/json', body: '{"name":' });
		assert.ok(bad.status === 400 || bad.status === 422, bad.text);
		const me = await call(U, 'GET', '/auth/users/me', { token: a.token });
		assert.equal(me.status, 200);
	});
});

describe('lighttpd: auth limit in the application', () => {
	let st;
	after(async () => { await st?.stop(); });

	test('past auth_burst: 429 JSON with Retry-After', async () => {
		st = await startStack({ web: 'lighttpd',
			set: { auth_burst: '8', auth_rate: '0.5' } });
		const U = st.url;
		const rs = [];
		for (let i = 0; i < 12; i++)
			rs.push(await call(U, 'POST', i % 2 ? '/auth/login' :
			    '/auth/token/', { form: { username: uniq('nouser'),
				password: 'password1' } }));
		const codes = rs.map((r) => r.status);
		assert.deepEqual(codes.slice(0, 8), Array(8).fill(401),
		    codes.join());
		const limited = rs.filter((r) => r.status === 429);
		assert.ok(limited.length >= 3, codes.join());
		for (const r of limited) {
			assert.deepEqual(r.body, { detail: 'Too many requests' });
			assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
		}
		const s = await call(U, 'POST', '/auth/signup', { json: {
			username: uniq('s'), email: `${uniq('s')}@example.com`,
			password: 'password1' } });
		assert.equal(s.status, 429, s.text);
	});
});
