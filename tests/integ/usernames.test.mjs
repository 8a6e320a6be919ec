// SPDX-License-Identifier: ISC
//
// Accounts through the real stack and programs: a user id is never given
// again after its row is deleted (the deleted user's token stays refused);
// usernames are one name regardless of case at signup, login and room
// creation, keeping the spelling of the signup; and a database of schema
// version 2 holding names that differ only in case makes chat-fcgi and
// chat-pushd refuse to start, listing the accounts, until chat-admin
// rename-user has renamed them (as INSTALL section 8 says), after which
// the stack starts on it and the renamed accounts log in.
// test-timeout: 240

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync,
	writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SRCDIR, startStack } from './lib/stack.mjs';
import { call, newRoom, newUser, uniq } from './lib/api.mjs';

const build = resolve(SRCDIR, process.env.CHAT_BUILD ?? 'build/default');
const FCGI = join(build, 'chat-fcgi');
const PUSHD = join(build, 'chat-pushd');
const ADMIN = join(build, 'chat-admin');
// The schema version the programs migrate to.
const SCHEMA_VERSION = readFileSync(join(SRCDIR, 'lib/chat/db.h'), 'utf8')
    .match(/#define DB_SCHEMA_VERSION (\d+)/)[1];
const SCHEMA_V2 = readFileSync(join(SRCDIR, 'tests/fixtures/schema-v2.sql'),
    'utf8');
const USER = 'chat-itest'; // the service user of privilege.test.mjs

const me = (U, token) => call(U, 'GET', '/auth/users/me', { token });
const login = (U, username, password) => call(U, 'POST', '/auth/login',
    { json: { username, password } });

let st;
let U;
before(async () => { st = await startStack(); U = st.url; });
after(async () => { await st?.stop(); });

describe('user ids', () => {
	test('a deleted user\'s id is not given again: their token is 401',
	    async () => {
		const a = await newUser(U);
		assert.equal((await me(U, a.token)).status, 200);
		// The newest row, the one an id without AUTOINCREMENT reuses.
		assert.equal(st.sql('SELECT max(id) FROM users;').trim(), a.id);
		st.sql(`DELETE FROM users WHERE id = ${Number(a.id)};`);
		const b = await newUser(U);
		assert.notEqual(b.id, a.id);
		assert.ok(Number(b.id) > Number(a.id), `${b.id} after ${a.id}`);
		const r = await me(U, a.token);
		assert.equal(r.status, 401, r.text);
		assert.deepEqual(r.body,
		    { detail: 'Could not validate credentials' });
		const rb = await me(U, b.token);
		assert.equal(rb.status, 200, rb.text);
		assert.equal(rb.body.username, b.username);
	});
});

describe('usernames regardless of case', () => {
	test('signup of another case of a taken name: 400', async () => {
		const name = uniq('Case');
		const a = await newUser(U, { username: name });
		for (const other of [name.toLowerCase(), name.toUpperCase()]) {
			const r = await call(U, 'POST', '/auth/signup', { json: {
				username: other, email: `${uniq('e')}@example.com`,
				password: 'password1' } });
			assert.equal(r.status, 400, r.text);
			assert.deepEqual(r.body,
			    { detail: 'Username already registered' });
		}
		assert.equal(st.sql('SELECT count(*) FROM users WHERE ' +
		    `lower(username) = '${name.toLowerCase()}';`).trim(), '1');
		// The spelling of the signup is what is shown.
		assert.equal((await me(U, a.token)).body.username, name);
	});

	test('login by username in any case, JSON and form', async () => {
		const name = uniq('Login');
		const a = await newUser(U, { username: name });
		for (const l of [name, name.toLowerCase(), name.toUpperCase()]) {
			const r = await login(U, l, a.password);
			assert.equal(r.status, 200, `${l}: ${r.text}`);
			const m = await me(U, r.body.access_token);
			assert.equal(m.body.id, a.id);
			assert.equal(m.body.username, name);
		}
		const f = await call(U, 'POST', '/auth/token', { form: {
			username: name.toUpperCase(), password: a.password } });
		assert.equal(f.status, 200, f.text);
		const bad = await login(U, name.toUpperCase(), 'wrong password');
		assert.equal(bad.status, 401, bad.text);
	});

	test('room members named in another case', async () => {
		const a = await newUser(U);
		const b = await newUser(U, { username: uniq('Member') });
		const room = await newRoom(U, a, [b.username.toUpperCase()]);
		assert.deepEqual(room.members.slice().sort(),
		    [a.email, b.email].sort());
		const p = await call(U, 'POST', '/chat/chat_rooms/', {
			token: a.token, json: { name: 'p', is_private: true,
				members: [b.username.toLowerCase()] } });
		assert.equal(p.status, 201, p.text);
		assert.deepEqual(p.body.members.slice().sort(),
		    [a.email, b.email].sort());
	});
});

// Run "bin" with "args"; it must exit within the timeout.
function run(bin, args) {
	const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 20000,
		stdio: ['ignore', 'pipe', 'pipe'] });
	return { status: r.status, signal: r.signal, stdout: r.stdout,
		out: r.stdout + r.stderr };
}

describe('a database whose usernames clash regardless of case', () => {
	let dir;
	let db;
	let conf;
	let hash;
	let password;
	let st2;
	// The sqlite3 CLI on the prepared database, "stmt" on its stdin.
	const sql = (stmt) => {
		const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db],
		    { encoding: 'utf8', input: stmt });
		assert.equal(r.status, 0, `sqlite3: ${r.stderr}`);
		return r.stdout;
	};
	// The accounts of the old database: two pairs that clash, one not.
	const ACCOUNTS = [[1, 'alice'], [2, 'Bob'], [3, 'Alice'], [4, 'BOB'],
		[5, 'carol']];

	before(async () => {
		assert.equal(process.getuid(), 0, 'this test runs as root');
		// A real password hash, from an account of the running stack.
		const u = await newUser(U);
		password = u.password;
		hash = st.sql(`SELECT pass_hash FROM users WHERE id = ${
			Number(u.id)};`).trim();
		assert.match(hash, /^\$argon2id\$/);
		dir = mkdtempSync(join(tmpdir(), 'chat-clash-'));
		db = join(dir, 'data/chat.db');
		mkdirSync(join(dir, 'data'));
		mkdirSync(join(dir, 'media'));
		mkdirSync(join(dir, 'run'), { mode: 0o700 });
		writeFileSync(join(dir, 'secret.key'), 'k'.repeat(64),
		    { mode: 0o400 });
		sql(SCHEMA_V2 + ACCOUNTS.map(([id, name]) => 'INSERT INTO users ' +
		    '(id, username, email, pass_hash, created_at) VALUES ' +
		    `(${id}, '${name}', 'u${id}@example.com', '${hash}', 1);`)
		    .join('\n'));
		conf = join(dir, 'chat.conf');
		writeFileSync(conf, [
			`database ${db}`,
			`media_dir ${join(dir, 'media')}`,
			`secret_file ${join(dir, 'secret.key')}`,
			`fcgi_socket ${join(dir, 'run/fcgi.sock')}`,
			`push_socket ${join(dir, 'run/push.sock')}`,
			`bus_events ipc://${join(dir, 'run/bus-events')}`,
			`bus_query ipc://${join(dir, 'run/bus-query')}`,
			'allow_root yes', ''].join('\n'));
	});
	after(async () => {
		await st2?.stop();
		if (dir !== undefined)
			rmSync(dir, { recursive: true, force: true });
	});

	// Both programs refuse to start, naming exactly the accounts in
	// "clashing", and leave the database as it was.
	function refused(clashing) {
		for (const bin of [FCGI, PUSHD]) {
			const r = run(bin, ['-c', conf]);
			assert.equal(r.signal, null, `${bin} kept running:\n${r.out}`);
			assert.equal(r.status, 1, r.out);
			assert.match(r.out, /usernames must be unique regardless of case/);
			assert.match(r.out, /chat-admin rename-user OLD NEW/);
			const listed = [...r.out.matchAll(/ user (\d+) "([^"]*)"/g)]
			    .map((m) => [Number(m[1]), m[2]]);
			assert.deepEqual(listed, clashing, r.out);
			assert.doesNotMatch(r.out, /\]: serving( \/|$)/m);
		}
		assert.equal(sql('PRAGMA user_version;').trim(), '2');
	}

	test('chat-fcgi and chat-pushd refuse to start and list them', () => {
		refused([[1, 'alice'], [3, 'Alice'], [2, 'Bob'], [4, 'BOB']]);
		assert.equal(sql('SELECT group_concat(id || \' \' || username, ' +
		    '\',\') FROM (SELECT * FROM users ORDER BY id);').trim(),
		    ACCOUNTS.map(([id, n]) => `${id} ${n}`).join(','));
	});

	test('chat-admin clashes lists them', () => {
		const r = run(ADMIN, ['-c', conf, 'clashes']);
		assert.equal(r.status, 0, r.out);
		assert.equal(r.stdout, '1 alice\n3 Alice\n2 Bob\n4 BOB\n');
	});

	test('chat-admin rename-user refuses a clashing or invalid name', () => {
		for (const [from, to, why] of [
			['Alice', 'ALICE', /another account is called "ALICE"/],
			['Alice', 'CAROL', /another account is called "CAROL"/],
			['Alice', 'a b', /"a b" is not a valid username/],
			['Alice', 'x@example.com', /not a valid username/],
			['Alice', 'al', /not a valid username/],
			['nobody', 'nobody2', /no user is called "nobody"/],
			['ALICE', 'alice9', /several users are called "ALICE"/],
		]) {
			const r = run(ADMIN, ['-c', conf, 'rename-user', from, to]);
			assert.equal(r.status, 1, `${from} ${to}: ${r.out}`);
			assert.match(r.out, why);
		}
		assert.equal(sql('SELECT username FROM users WHERE id = 3;').trim(),
		    'Alice');
	});

	test('one renamed: the programs still refuse, naming the rest', () => {
		const r = run(ADMIN, ['-c', conf, 'rename-user', 'Alice', 'alice2']);
		assert.equal(r.status, 0, r.out);
		assert.match(r.stdout, /^user 3: renamed "Alice" to "alice2"$/m);
		assert.match(r.stdout, /^2 accounts still share a username/m);
		refused([[2, 'Bob'], [4, 'BOB']]);
	});

	test('all renamed: both programs start, and the accounts log in',
	    async () => {
		// chat-admin becomes `user` before it opens the database (so
		// the -wal and -shm files it creates are the service user's):
		// a database only root may write is out of its reach.
		const pw = spawnSync('id', ['-u', USER], { encoding: 'utf8' });
		if (pw.status !== 0)
			assert.equal(spawnSync('useradd', ['--system',
				'--user-group', '--no-create-home', '--home-dir',
				'/nonexistent', '--shell', '/usr/sbin/nologin',
				USER]).status, 0);
		const uid = Number(spawnSync('id', ['-u', USER],
		    { encoding: 'utf8' }).stdout.trim());
		const gid = Number(spawnSync('id', ['-g', USER],
		    { encoding: 'utf8' }).stdout.trim());
		const uconf = join(dir, 'admin.conf');
		writeFileSync(uconf, `database ${db}\nuser ${USER}\n`);
		const r0 = run(ADMIN, ['-c', uconf, 'rename-user', 'BOB', 'Bob2']);
		assert.equal(r0.status, 1, r0.out);
		assert.doesNotMatch(r0.out, /renamed/);
		chmodSync(dir, 0o711);
		for (const f of ['data', 'data/chat.db'])
			chownSync(join(dir, f), uid, gid);
		const r = run(ADMIN, ['-c', uconf, 'rename-user', 'bob', 'bob2']);
		assert.equal(r.status, 1, r.out);
		assert.match(r.out, /several users are called "bob"/);
		const r2 = run(ADMIN, ['-c', uconf, 'rename-user', 'BOB', 'Bob2']);
		assert.equal(r2.status, 0, r2.out);
		assert.doesNotMatch(r2.stdout, /still share/);
		assert.equal(statSync(db).uid, uid);
		assert.equal(run(ADMIN, ['-c', uconf, 'clashes']).stdout, '');

		st2 = await startStack({ set: { database: db } });
		assert.equal(sql('PRAGMA user_version;').trim(), SCHEMA_VERSION);
		for (const [name, id, shown] of [['ALICE2', 3, 'alice2'],
			['Alice', 1, 'alice'], ['bob2', 4, 'Bob2'], ['bob', 2, 'Bob']]) {
			const l = await login(st2.url, name, password);
			assert.equal(l.status, 200, `${name}: ${l.text}`);
			const m = await me(st2.url, l.body.access_token);
			assert.equal(m.body.id, String(id));
			assert.equal(m.body.username, shown);
		}
		const s = await call(st2.url, 'POST', '/auth/signup', { json: {
			username: 'CAROL', email: 'carol2@example.com',
			password: 'password1' } });
		assert.equal(s.status, 400, s.text);
		assert.deepEqual(s.body, { detail: 'Username already registered' });
		// The daemon started on it too: the stack waits for its socket.
		assert.ok(st2.alive());
		assert.match(st2.output(), /migrating schema to version 3/);
	});
});
