// SPDX-License-Identifier: ISC
//
// docs/api.md section 1 through nginx and the real workers: signup, login (JSON
// and OAuth2 form, by email and by username, on /auth/login and
// /auth/token) and /auth/users/me with good, missing, forged, expired,
// alg=none, overlong tokens and tokens of deleted users.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { call, JWT_AUD, JWT_ISS, jwtClaims, newUser, signJwt, uniq } from
    './lib/api.mjs';

let st;
let U;
before(async () => { st = await startStack(); U = st.url; });
after(async () => { await st?.stop(); });

const CRED = 'Could not validate credentials';
const BADLOGIN = 'Incorrect email or password';

function assert422(r, field) {
	assert.equal(r.status, 422, r.text);
	assert.ok(Array.isArray(r.body?.detail), r.text);
	assert.ok(r.body.detail.length >= 1);
	for (const d of r.body.detail) {
		assert.ok(Array.isArray(d.loc), r.text);
		assert.equal(typeof d.msg, 'string');
		assert.equal(typeof d.type, 'string');
	}
	if (field)
		assert.ok(r.body.detail.some((d) => d.loc[0] === 'body' &&
		    d.loc.includes(field)), `no loc for ${field}: ${r.text}`);
}

function assert401(r, detail = CRED) {
	assert.equal(r.status, 401, r.text);
	assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
	if (detail)
		assert.deepEqual(r.body, { detail });
}

describe('signup', () => {
	test('201 with the public fields only', async () => {
		const username = uniq('Sig');
		const r = await call(U, 'POST', '/auth/signup', { json: {
			username, email: `${username}@Example.COM`,
			password: 'correct horse', full_name: 'Ada Lovelace' } });
		assert.equal(r.status, 201, r.text);
		assert.match(r.headers.get('content-type'), /^application\/json/);
		assert.match(r.body.id, /^\d+$/);
		assert.equal(r.body.username, username);
		assert.equal(r.body.email, `${username.toLowerCase()}@example.com`);
		assert.equal(r.body.full_name, 'Ada Lovelace');
		assert.deepEqual(Object.keys(r.body).sort(),
		    ['email', 'full_name', 'id', 'username']);
	});

	test('full_name is optional', async () => {
		const username = uniq('nofn');
		const r = await call(U, 'POST', '/auth/signup', { json: {
			username, email: `${username}@example.com`,
			password: 'password1' } });
		assert.equal(r.status, 201, r.text);
		assert.ok('full_name' in r.body);
	});

	test('duplicate email in any case: 400', async () => {
		const a = await newUser(U);
		const r = await call(U, 'POST', '/auth/signup', { json: {
			username: uniq('dup'), email: a.email.toUpperCase(),
			password: 'password1' } });
		assert.equal(r.status, 400, r.text);
		assert.deepEqual(r.body, { detail: 'Email already registered' });
	});

	test('duplicate username: 400', async () => {
		const a = await newUser(U);
		const r = await call(U, 'POST', '/auth/signup', { json: {
			username: a.username, email: `${uniq('x')}@example.com`,
			password: 'password1' } });
		assert.equal(r.status, 400, r.text);
		assert.deepEqual(r.body, { detail: 'Username already registered' });
	});

	test('field bounds are accepted exactly', async () => {
		for (const [username, password] of [
			[`a${randomBytes(1).toString('hex')}`, '12345678'],
			[uniq('b').padEnd(32, 'z'), 'p'.repeat(1024)],
		]) {
			const r = await call(U, 'POST', '/auth/signup', { json: {
				username, email: `${username}@example.com`,
				password } });
			assert.equal(r.status, 201, `${username}: ${r.text}`);
		}
	});

	const ok = () => {
		const username = uniq('v');
		return { username, email: `${username}@example.com`,
			password: 'password1' };
	};
	const bad = [
		['missing username', (b) => { delete b.username; }, 'username'],
		['missing email', (b) => { delete b.email; }, 'email'],
		['missing password', (b) => { delete b.password; }, 'password'],
		['short username', (b) => { b.username = 'ab'; }, 'username'],
		['long username', (b) => { b.username = 'a'.repeat(33); }, 'username'],
		['username with space', (b) => { b.username = 'a b c'; }, 'username'],
		['username with slash', (b) => { b.username = 'ab/cd'; }, 'username'],
		['username not a string', (b) => { b.username = 12345; }, 'username'],
		['email without @', (b) => { b.email = 'notanemail'; }, 'email'],
		['email not a string', (b) => { b.email = ['a@b.c']; }, 'email'],
		['short password', (b) => { b.password = '1234567'; }, 'password'],
		['long password', (b) => { b.password = 'p'.repeat(1025); }, 'password'],
		['password null', (b) => { b.password = null; }, 'password'],
		['full_name number', (b) => { b.full_name = 7; }, 'full_name'],
	];
	for (const [name, mutate, field] of bad) {
		test(`422: ${name}`, async () => {
			const body = ok();
			mutate(body);
			const r = await call(U, 'POST', '/auth/signup', { json: body });
			assert422(r, field);
		});
	}

	test('a body that is not an object: 4xx', async () => {
		for (const json of [[], 'x', 1, null]) {
			const r = await call(U, 'POST', '/auth/signup', { json });
			assert.ok(r.status === 400 || r.status === 422,
			    `${JSON.stringify(json)}: ${r.status} ${r.text}`);
		}
	});
});

describe('login', () => {
	let a;
	before(async () => { a = await newUser(U); });

	for (const path of ['/auth/login', '/auth/token']) {
		test(`${path}: JSON by email and by username`, async () => {
			for (const json of [
				{ email: a.email, password: a.password },
				{ username: a.username, password: a.password },
			]) {
				const r = await call(U, 'POST', path, { json });
				assert.equal(r.status, 200, r.text);
				assert.equal(r.body.token_type, 'bearer');
				assert.equal(typeof r.body.access_token, 'string');
				assert.equal(r.body.expires_in, 1800);
			}
		});

		test(`${path}: form by email and by username`, async () => {
			for (const username of [a.email, a.username]) {
				const r = await call(U, 'POST', path, {
					form: { username, password: a.password } });
				assert.equal(r.status, 200, r.text);
				assert.equal(r.body.token_type, 'bearer');
				const me = await call(U, 'GET', '/auth/users/me',
				    { token: r.body.access_token });
				assert.equal(me.status, 200, me.text);
				assert.equal(me.body.id, a.id);
			}
		});

		test(`${path}: wrong password and unknown user answer alike`,
		    async () => {
			const wrong = await call(U, 'POST', path, { json: {
				email: a.email, password: 'not the password' } });
			assert401(wrong, BADLOGIN);
			const unknown = await call(U, 'POST', path, { json: {
				email: `${uniq('ghost')}@example.com`,
				password: 'not the password' } });
			assert401(unknown, BADLOGIN);
			const form = await call(U, 'POST', path, { form: {
				username: uniq('ghost'), password: 'whatever1' } });
			assert401(form, BADLOGIN);
		});
	}

	test('email is matched in any case', async () => {
		const r = await call(U, 'POST', '/auth/login', { json: {
			email: a.email.toUpperCase(), password: a.password } });
		assert.equal(r.status, 200, r.text);
	});

	test('token claims: iss, aud, sub, iat, exp = iat + expires_in, jti',
	    async () => {
		const r = await call(U, 'POST', '/auth/login', { json: {
			email: a.email, password: a.password } });
		const [h] = r.body.access_token.split('.');
		assert.equal(JSON.parse(Buffer.from(h, 'base64url')).alg, 'HS256');
		const c = jwtClaims(r.body.access_token);
		assert.equal(c.iss, JWT_ISS);
		assert.equal(c.aud, JWT_AUD);
		assert.equal(String(c.sub), a.id);
		assert.ok(Number.isInteger(c.iat) && Number.isInteger(c.exp));
		assert.equal(c.exp - c.iat, r.body.expires_in);
		assert.ok(Math.abs(c.iat - Date.now() / 1000) < 60);
		assert.equal(typeof c.jti, 'string');
		assert.ok(c.jti.length >= 16);
		const r2 = await call(U, 'POST', '/auth/login', { json: {
			email: a.email, password: a.password } });
		assert.notEqual(jwtClaims(r2.body.access_token).jti, c.jti);
	});

	test('missing fields: 4xx, never a token', async () => {
		for (const opts of [
			{ json: { email: a.email } },
			{ json: { password: a.password } },
			{ json: {} },
			{ form: { username: a.username } },
			{ form: { password: a.password } },
		]) {
			const r = await call(U, 'POST', '/auth/login', opts);
			assert.ok([400, 401, 422].includes(r.status),
			    `${JSON.stringify(opts)}: ${r.status} ${r.text}`);
			assert.equal(r.body?.access_token, undefined);
		}
	});
});

describe('users/me', () => {
	let a;
	let key;
	const now = () => Math.floor(Date.now() / 1000);
	const claims = (extra = {}) => ({ iss: JWT_ISS, aud: JWT_AUD,
		sub: a.id, iat: now(), exp: now() + 600,
		jti: randomBytes(16).toString('hex'), ...extra });
	const me = (token) => call(U, 'GET', '/auth/users/me', { token });
	before(async () => { a = await newUser(U); key = st.secret(); });

	test('a good token: 200 with the public fields', async () => {
		const r = await me(a.token);
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(r.body, { id: a.id, username: a.username,
			email: a.email, full_name: 'Test User' });
	});

	test('a token we sign with the service key is accepted', async () => {
		// Proves the forged-token cases below fail for their flaw only.
		const r = await me(signJwt(key, claims()));
		assert.equal(r.status, 200, r.text);
		assert.equal(r.body.id, a.id);
	});

	test('no Authorization header: 401', async () => {
		assert401(await call(U, 'GET', '/auth/users/me'), null);
	});

	test('garbage and malformed tokens: 401', async () => {
		for (const t of ['abc', 'a.b.c', '..', `${a.token}.x`,
			a.token.slice(0, -3), a.token.split('.').slice(0, 2).join('.')])
			assert401(await me(t));
	});

	test('forged with another key: 401', async () => {
		assert401(await me(signJwt(randomBytes(32).toString('hex'),
		    claims())));
	});

	test('payload changed under the old signature: 401', async () => {
		const [h, , s] = a.token.split('.');
		const b = Buffer.from(JSON.stringify(claims({ sub: '1' })))
		    .toString('base64url');
		assert401(await me(`${h}.${b}.${s}`));
	});

	test('expired: 401', async () => {
		assert401(await me(signJwt(key, claims({ iat: now() - 7200,
			exp: now() - 3600 }))));
		assert401(await me(signJwt(key, claims({ exp: now() - 120 }))));
	});

	test('no exp, or exp not an integer: 401', async () => {
		const c = claims();
		delete c.exp;
		assert401(await me(signJwt(key, c)));
		assert401(await me(signJwt(key, claims({ exp: String(now() + 600) }))));
	});

	test('no iss or no aud, validly signed: 401', async () => {
		for (const drop of [['iss'], ['aud'], ['iss', 'aud']]) {
			const c = claims();
			for (const k of drop)
				delete c[k];
			assert401(await me(signJwt(key, c)));
		}
	});

	test('wrong iss or aud, validly signed: 401', async () => {
		for (const extra of [{ aud: 'other' }, { iss: 'other' },
			{ iss: JWT_AUD, aud: JWT_ISS }, { aud: [JWT_AUD] },
			{ aud: null }, { iss: 1 }, { aud: JWT_AUD.toUpperCase() }])
			assert401(await me(signJwt(key, claims(extra))));
	});

	test('alg none, with or without a signature: 401', async () => {
		for (const alg of ['none', 'None', 'NONE']) {
			const t = signJwt(key, claims(), { alg, typ: 'JWT' });
			const [h, p] = t.split('.');
			assert401(await me(`${h}.${p}.`));
			assert401(await me(t));
		}
	});

	test('HS384/HS512 with the right key: 401 (alg pinned)', async () => {
		assert401(await me(signJwt(key, claims(),
		    { alg: 'HS512', typ: 'JWT' }, 'sha512')));
		assert401(await me(signJwt(key, claims(),
		    { alg: 'HS384', typ: 'JWT' }, 'sha384')));
	});

	test('overlong token, validly signed: 401', async () => {
		const t = signJwt(key, claims({ pad: 'x'.repeat(4000) }));
		assert.ok(t.length > 4096);
		assert401(await me(t));
	});

	test('a 10 KB token: 4xx, and the service still answers', async () => {
		const t = signJwt(key, claims({ pad: 'x'.repeat(10000) }));
		const r = await me(t);
		assert.ok(r.status >= 400 && r.status < 500, `${r.status}`);
		assert.equal((await me(a.token)).status, 200);
	});

	test('token of a deleted user: 401', async () => {
		const b = await newUser(U);
		assert.equal((await me(b.token)).status, 200);
		st.sql(`DELETE FROM users WHERE id = ${Number(b.id)};`);
		assert401(await me(b.token));
	});

	test('sub that names no user: 401', async () => {
		assert401(await me(signJwt(key, claims({ sub: '999999999' }))));
	});
});
