// SPDX-License-Identifier: ISC
//
// docs/api.md section 5 limits, each against its own stack: nginx's per-address
// limit on the auth endpoints with the default burst of 60, the
// application's failed-login limits (per account and client address, and
// per account for addresses that never logged in to it), its own
// per-address auth limit with IPv6 clients counted per /64, the per-user
// message limit, and the per-user limits on rooms created and members
// named (with the 422 of unknown members naming at most 10). Every 429 is
// JSON with a Retry-After header.
// Client addresses other than 127.0.0.1 are set as REMOTE_ADDR by talking
// FastCGI to the workers' socket directly.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, post, uniq } from './lib/api.mjs';
import { fcgiCall } from './lib/fcgi.mjs';

const TOO_MANY = { detail: 'Too many requests' };
const sock = (st) => join(st.var, 'run', 'fcgi.sock');

function assert429(r, detail = TOO_MANY) {
	assert.equal(r.status, 429, r.text);
	assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
	const ra = r.headers.get('retry-after');
	assert.match(ra ?? '', /^\d+$/, `Retry-After: ${ra}`);
	assert.ok(Number(ra) >= 1);
	if (detail)
		assert.deepEqual(r.body, detail);
	else
		assert.equal(typeof r.body?.detail, 'string', r.text);
}

describe('nginx: auth endpoints per address (defaults)', () => {
	let st;
	after(async () => { await st?.stop(); });

	test('past the burst of 60: 429 JSON, then the rate refills', async () => {
		st = await startStack({ relaxed: false });
		const U = st.url;
		const paths = ['/auth/login', '/auth/token/', '/auth/login/',
			'/auth/token'];
		// All 100 at once: nginx decides at arrival (burst ... nodelay),
		// so how long the workers then take to hash the ones let through
		// (seconds under ASan on a loaded machine, while the bucket
		// refills at 2/s) does not change how many pass.
		// The first 429 says the bucket is empty: the signups below go
		// then, while the ones let through are still being hashed.
		const t0 = Date.now();
		let emptied;
		const empty = new Promise((res) => { emptied = res; });
		const all = Promise.all(Array.from({ length: 100 }, (_, i) =>
		    call(U, 'POST', paths[i % 4], { form: {
			    username: uniq('nouser'), password: 'password1' } })
			.then((r) => {
				if (r.status === 429)
					emptied();
				return r;
			})));
		await Promise.race([empty, all]);
		const te = Date.now();
		// The zone is shared by signup: a few at once while the bucket
		// is empty; at most the refill (2/s) since then gets through.
		const ss = await Promise.all(Array.from({ length: 6 }, () =>
		    call(U, 'POST', '/auth/signup', { json: {
			    username: uniq('s'), email: `${uniq('s')}@example.com`,
			    password: 'password1' } })));
		const dt = (Date.now() - te) / 1000;
		const rs = await all;
		const secs = (Date.now() - t0) / 1000;
		const limited = rs.filter((r) => r.status === 429);
		const passed = rs.filter((r) => r.status !== 429);
		for (const r of passed)
			assert.equal(r.status, 401, r.text);
		assert.ok(limited.length > 0, 'no 429 after 100 requests');
		assert.ok(passed.length >= 60, `only ${passed.length} passed`);
		assert.ok(passed.length <= 61 + Math.ceil(2 * secs) + 2,
		    `${passed.length} passed in ${secs}s`);
		for (const r of limited)
			assert429(r);
		const sl = ss.filter((r) => r.status === 429);
		assert.ok(sl.length >= 1 && 6 - sl.length <= 2 * dt + 2,
		    `signups limited: ${sl.length} of 6 in ${dt}s`);
		for (const r of sl)
			assert429(r);
		// 2 per second come back.
		await new Promise((res) => setTimeout(res, 1600));
		const again = await call(U, 'POST', '/auth/login', { form: {
			username: uniq('nouser'), password: 'password1' } });
		assert.equal(again.status, 401, again.text);
		// Other routes are not limited.
		const me = await call(U, 'GET', '/auth/users/me');
		assert.equal(me.status, 401);
	});
});

describe('application limits', () => {
	let st;
	after(async () => { await st?.stop(); });

	test('failed logins per account and address: 429 past ' +
	    'login_fail_max for that pair only', async () => {
		st = await startStack({ set: { login_fail_max: '5',
			login_fail_account_max: '12', msg_burst: '5',
			msg_rate: '0.2' } });
		const U = st.url;
		const a = await newUser(U);
		const other = await newUser(U);
		const login = (remote, json) => fcgiCall(sock(st), 'POST',
		    '/auth/login', { remote, json });
		for (let i = 0; i < 5; i++) {
			const r = await login('198.51.100.1',
			    { email: a.email, password: `wrong-${i}-pw` });
			assert.equal(r.status, 401, `attempt ${i}: ${r.text}`);
		}
		assert429(await login('198.51.100.1',
		    { email: a.email, password: 'wrong-again' }));
		// The right password from that address waits too ...
		assert429(await login('198.51.100.1',
		    { username: a.username, password: a.password }));
		// ... but not from another one, nor through nginx.
		const b = await login('198.51.100.2',
		    { username: a.username, password: a.password });
		assert.equal(b.status, 200, b.text);
		const n = await call(U, 'POST', '/auth/token', { form: {
			username: a.username, password: a.password } });
		assert.equal(n.status, 200, n.text);
		// Another account from the limited address is not affected.
		const o = await login('198.51.100.1',
		    { email: other.email, password: other.password });
		assert.equal(o.status, 200, o.text);
	});

	test('an IPv6 client is counted per /64', async () => {
		const a = await newUser(st.url);
		const login = (remote, password) => fcgiCall(sock(st), 'POST',
		    '/auth/login', { remote, json: { email: a.email,
			    password } });
		for (let i = 0; i < 5; i++) {
			const r = await login(`2001:db8:1:2::${i + 1}`,
			    `wrong-${i}-pw`);
			assert.equal(r.status, 401, `attempt ${i}: ${r.text}`);
		}
		assert429(await login('2001:db8:1:2:ffff::beef', a.password));
		const r = await login('2001:db8:1:3::1', a.password);
		assert.equal(r.status, 200, r.text);
	});

	test('past login_fail_account_max, only the addresses that logged ' +
	    'in before pass', async () => {
		const a = await newUser(st.url); // logs in from 127.0.0.1
		const login = (remote, password) => fcgiCall(sock(st), 'POST',
		    '/auth/login', { remote, json: { username: a.username,
			    password } });
		const k = await login('203.0.113.9', a.password);
		assert.equal(k.status, 200, k.text);
		// Without REMOTE_ADDR: logged in, but never remembered.
		const none = await login('', a.password);
		assert.equal(none.status, 200, none.text);
		// 12 failures, each from its own address: no pair is limited.
		for (let i = 0; i < 12; i++) {
			const r = await login(`198.51.100.${10 + i}`,
			    `wrong-${i}-pw`);
			assert.equal(r.status, 401, `attempt ${i}: ${r.text}`);
		}
		assert429(await login('198.51.100.50', a.password));
		assert429(await login('198.51.100.10', a.password));
		assert429(await login('2001:db8:9::1', 'wrong-pw'));
		assert429(await login('', a.password));
		for (const remote of ['203.0.113.9', '127.0.0.1']) {
			const r = await login(remote, a.password);
			assert.equal(r.status, 200, `${remote}: ${r.text}`);
		}
		const n = await call(st.url, 'POST', '/auth/login', { json: {
			username: a.username, password: a.password } });
		assert.equal(n.status, 200, n.text);
		// Unknown accounts are counted the same way, by login.
		const ghost = uniq('ghost');
		for (let i = 0; i < 12; i++) {
			const r = await fcgiCall(sock(st), 'POST', '/auth/login',
			    { remote: `192.0.2.${i + 1}`, json: {
				    username: ghost, password: 'password1' } });
			assert.equal(r.status, 401, `ghost ${i}: ${r.text}`);
		}
		assert429(await fcgiCall(sock(st), 'POST', '/auth/login',
		    { remote: '192.0.2.100', json: {
			    username: ghost.toUpperCase(),
			    password: 'password1' } }));
	});

	test('messages per user: 429 with Retry-After past the burst',
	    async () => {
		const U = st.url;
		const a = await newUser(U);
		const b = await newUser(U);
		const room = await newRoom(U, a, [b.email]);
		for (let i = 0; i < 5; i++) {
			const r = await post(U, a, room.id, `m${i}`);
			assert.equal(r.status, 201, `message ${i}: ${r.text}`);
		}
		const r = await post(U, a, room.id, 'one too many');
		assert429(r, null);
		const l = await call(U, 'GET', `/chat/chat_rooms/${room.id}/messages`,
		    { token: b.token });
		assert.equal(l.body.length, 5);
		assert.ok(!l.body.some((m) => m.content === 'one too many'));
		// Another user in the same room is not affected.
		const rb = await post(U, b, room.id, 'from b');
		assert.equal(rb.status, 201, rb.text);
	});
});

describe('application per-address auth limit (auth_addr_limit)', () => {
	let st;
	after(async () => { await st?.stop(); });

	test('an IPv6 client is counted per /64', async () => {
		st = await startStack({ set: { auth_addr_limit: 'yes',
			auth_burst: '3', auth_rate: '0.001' } });
		const login = (remote) => fcgiCall(sock(st), 'POST',
		    '/auth/login', { remote, json: { username: uniq('nouser'),
			    password: 'password1' } });
		for (let i = 0; i < 3; i++) {
			const r = await login(`2001:db8:5:6::${i + 1}`);
			assert.equal(r.status, 401, `attempt ${i}: ${r.text}`);
		}
		assert429(await login('2001:db8:5:6:1:2:3:4'));
		const r = await login('2001:db8:5:7::1');
		assert.equal(r.status, 401, r.text);
	});
});

describe('room limits per user', () => {
	let st;
	let U;
	after(async () => { await st?.stop(); });
	const create = (user, json) => call(U, 'POST', '/chat/chat_rooms/',
	    { token: user.token, json });
	const roomsOf = (u) => Number(st.sql('SELECT count(*) FROM members ' +
	    `WHERE user_id = ${Number(u.id)};`));

	// The default bursts; rates slow enough that nothing refills
	// meanwhile.
	test('rooms created: the 31st in a burst gets 429', async () => {
		st = await startStack({ set: { room_create_burst: '30',
			room_create_rate: '0.0001', members_named_burst: '1000',
			members_named_rate: '0.0001' } });
		U = st.url;
		const [a, b, c] = [await newUser(U), await newUser(U),
			await newUser(U)];
		const p = await create(a, { is_private: true,
			members: [b.email] });
		assert.equal(p.status, 201, p.text);
		for (let i = 1; i < 30; i++) {
			const r = await create(a, { name: `r${i}`, members: [] });
			assert.equal(r.status, 201, `room ${i}: ${r.text}`);
		}
		assert429(await create(a, { name: 'r30', members: [] }));
		assert429(await create(a, { is_private: true,
			members: [c.email] }));
		assert.equal(roomsOf(a), 30);
		// Finding the existing private chat creates nothing.
		const again = await create(a, { is_private: true,
			members: [b.username] });
		assert.equal(again.status, 200, again.text);
		assert.equal(again.body.id, p.body.id);
		// Another user is not affected.
		const o = await create(b, { name: 'theirs', members: [c.email] });
		assert.equal(o.status, 201, o.text);
	});

	const ghostNames = (n) => Array.from({ length: n },
	    (_, i) => uniq(`ghost${i}_`));

	test('members named: 1000 names (unknown ones too) spend the ' +
	    'burst, then one more gets 429', async () => {
		const [d, e, f] = [await newUser(U), await newUser(U),
			await newUser(U)];
		const r = await create(d, { name: 'probe',
			members: ghostNames(1000) });
		assert.equal(r.status, 422, r.text.slice(0, 300));
		assert429(await create(d, { name: 'one', members: [e.email] }));
		assert429(await create(d, { is_private: true,
			members: [e.email] }));
		// A room of one names nobody.
		const solo = await create(d, { name: 'solo', members: [] });
		assert.equal(solo.status, 201, solo.text);
		// Another user's budget is their own.
		const ok = await create(e, { name: 'ok', members: [f.email] });
		assert.equal(ok.status, 201, ok.text);
	});

	test('unknown members: the 422 names the first 10', async () => {
		const [g, h] = [await newUser(U), await newUser(U)];
		const ghosts = ghostNames(999);
		const r = await create(g, { name: 'probe', members: [h.email,
			...ghosts] });
		assert.equal(r.status, 422, r.text.slice(0, 300));
		assert.equal(r.body.detail.length, 1);
		assert.deepEqual(r.body.detail[0].loc, ['body', 'members']);
		const msg = r.body.detail[0].msg;
		assert.ok(msg.length < 400, msg.slice(0, 400));
		assert.equal(msg, 'Unknown users: ' +
		    `${ghosts.slice(0, 10).join(', ')}, and more`);
		// 10 unknown or fewer are all named.
		const u = await newUser(U);
		const few = await create(u, { name: 'few', members: [h.email,
			...ghosts.slice(0, 10)] });
		assert.equal(few.status, 422, few.text);
		assert.equal(few.body.detail[0].msg, 'Unknown users: ' +
		    ghosts.slice(0, 10).join(', '));
	});
});
