// SPDX-License-Identifier: ISC
// test-timeout: 180
//
// The status line a client reads (curl -i) for the workers' answers,
// through nginx and through lighttpd: each code with its own reason phrase
// (lib/common/http_status), never another code's (a 415 once read "415 Internal
// Server Error"), and the same line behind both web servers (nginx passes
// the worker's phrase on, lighttpd writes its own). Each answer is checked to be the worker's own by its
// JSON detail, so that a web server's error page cannot pass for it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startStack } from './lib/stack.mjs';
import { newRoom, newUser } from './lib/api.mjs';
import { REFUSED, multipart } from './lib/media.mjs';
import { holdLock } from './lib/sqlitelock.mjs';

// As lighttpd writes them (lib/common/http_status.h).
const PHRASE = {
	401: 'Unauthorized',
	404: 'Not Found',
	413: 'Payload Too Large',
	415: 'Unsupported Media Type',
	422: 'Unprocessable Entity',
	429: 'Too Many Requests',
	503: 'Service Unavailable',
};

// curl -i for "method path" on stack "st": the status line as sent, and
// the parsed JSON body.
function curl(st, method, path, { token, type, body } = {}) {
	const args = ['-sS', '-i', '--max-time', '30', '-X', method,
		'-H', 'Expect:'];
	if (token !== undefined)
		args.push('-H', `Authorization: Bearer ${token}`);
	if (type !== undefined)
		args.push('-H', `Content-Type: ${type}`);
	if (body !== undefined)
		args.push('--data-binary', '@-');
	args.push(st.url + path);
	const r = spawnSync('curl', args, { input: body ?? '' });
	assert.equal(r.status, 0, `curl: ${r.stderr}`);
	const out = r.stdout.toString('latin1');
	const line = out.slice(0, out.indexOf('\r\n'));
	const sep = out.indexOf('\r\n\r\n');
	let json;
	try {
		json = JSON.parse(out.slice(sep + 4));
	} catch {
		json = undefined;
	}
	return { line, json, out };
}

const stacks = [];
after(async () => {
	for (const st of stacks)
		await st.stop();
});

for (const web of ['nginx', 'lighttpd']) {
	describe(`status lines through ${web}`, () => {
		let st;
		let a;
		let msgs;
		before(async () => {
			// A small body_max for the worker's 413, one message
			// of burst for its 429, a short busy_timeout for its
			// 503.
			st = await startStack({ web, workers: 2, set: {
				body_max: '4k', msg_burst: '1',
				msg_rate: '0.001', busy_timeout: '200' } });
			stacks.push(st);
			a = await newUser(st.url);
			const room = await newRoom(st.url, a, []);
			msgs = `/chat/chat_rooms/${room.id}/messages`;
		});

		// Each case: [code, request, the worker's detail or null].
		const cases = [
			[401, () => curl(st, 'GET', '/auth/users/me'),
				'Not authenticated'],
			[404, () => curl(st, 'GET', '/chat/chat_rooms/999999',
			    { token: a.token }), null],
			[413, () => curl(st, 'POST', '/auth/login', {
				type: 'application/json',
				body: JSON.stringify({ email: 'x'.repeat(8192),
					password: 'p' }) }),
				'Request body too large'],
			[415, () => {
				const m = multipart([{ name: 'file',
					filename: 'x.png', ctype: 'image/png',
					data: REFUSED.html.data }]);
				return curl(st, 'POST', '/chat/upload_media/',
				    { token: a.token, type: m.type,
					    body: m.body });
			}, 'Unsupported file type'],
			[422, () => curl(st, 'POST', '/auth/signup', {
				type: 'application/json', body: '{}' }), null],
		];
		for (const [code, req, detail] of cases) {
			test(`${code} ${PHRASE[code]}`, () => {
				const r = req();
				assert.equal(r.line,
				    `HTTP/1.1 ${code} ${PHRASE[code]}`, r.out);
				assert.ok(r.json?.detail !== undefined, r.out);
				if (detail !== null)
					assert.equal(r.json.detail, detail);
			});
		}

		test(`429 ${PHRASE[429]}`, () => {
			const post = (content) => curl(st, 'POST', msgs, {
				token: a.token, type: 'application/json',
				body: JSON.stringify({ content }) });
			const first = post('one');
			assert.equal(first.line, 'HTTP/1.1 201 Created',
			    first.out);
			const r = post('two');
			assert.equal(r.line, `HTTP/1.1 429 ${PHRASE[429]}`,
			    r.out);
			assert.equal(r.json?.detail, 'Too many requests', r.out);
		});

		test(`503 ${PHRASE[503]}`, async () => {
			const release = await holdLock(join(st.var, 'chat.db'));
			let r;
			try {
				r = curl(st, 'POST', '/chat/chat_rooms/', {
					token: a.token,
					type: 'application/json',
					body: JSON.stringify({ name: 'r',
						members: [] }) });
			} finally {
				await release();
			}
			assert.equal(r.line, `HTTP/1.1 503 ${PHRASE[503]}`,
			    r.out);
			assert.equal(r.json?.detail,
			    'Service temporarily unavailable', r.out);
		});
	});
}
