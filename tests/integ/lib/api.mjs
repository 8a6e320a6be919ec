// SPDX-License-Identifier: ISC
//
// HTTP helpers for the integration tests: one request function over Node's
// fetch that never throws on an HTTP status, user creation, and JWT crafting
// with the service key (node:crypto HMAC) for the token tests. It talks only
// to the stack URL it is given.

import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';

let seq = 0;

// A fresh name of letters, digits and "_" (valid as a username).
export function uniq(prefix = 'u') {
	seq++;
	return `${prefix}${seq}_${randomBytes(4).toString('hex')}`;
}

// Send a request. opts: token, json (serialised), body (raw string or
// Buffer), type (Content-Type), headers, form (object, urlencoded).
// Resolves to { status, headers, text, body } where body is the parsed
// JSON or undefined when the answer is not JSON.
export async function call(base, method, path, opts = {}) {
	const headers = { ...(opts.headers ?? {}) };
	let body;
	if (opts.json !== undefined) {
		body = JSON.stringify(opts.json);
		headers['Content-Type'] = 'application/json';
	} else if (opts.form !== undefined) {
		body = new URLSearchParams(opts.form).toString();
		headers['Content-Type'] = 'application/x-www-form-urlencoded';
	} else if (opts.body !== undefined) {
		body = opts.body;
	}
	if (opts.type !== undefined)
		headers['Content-Type'] = opts.type;
	if (opts.token !== undefined)
		headers.Authorization = `Bearer ${opts.token}`;
	const r = await fetch(base + path, { method, headers, body,
		redirect: 'manual' });
	const text = await r.text();
	let parsed;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	return { status: r.status, headers: r.headers, text, body: parsed };
}

// A raw request over node:http, for what fetch refuses to send (bytes
// that are not UTF-8 in the body are fine with fetch; this is for raw
// paths and repeated headers). Resolves to { status, headers, text, body }.
export function rawCall(base, method, path, { headers = {}, body } = {}) {
	const u = new URL(base);
	return new Promise((res, rej) => {
		const rq = http.request({ host: u.hostname, port: u.port, method,
			path, headers }, (rs) => {
			const chunks = [];
			rs.on('data', (c) => chunks.push(c));
			rs.on('end', () => {
				const text = Buffer.concat(chunks).toString();
				let parsed;
				try {
					parsed = JSON.parse(text);
				} catch {
					parsed = undefined;
				}
				res({ status: rs.statusCode, headers: rs.headers,
					text, body: parsed });
			});
		});
		rq.on('error', rej);
		if (body !== undefined)
			rq.write(body);
		rq.end();
	});
}

// Sign up a new user (random names unless given) and log in.
// Resolves to { id, username, email, password, token }.
export async function newUser(base, fields = {}) {
	const username = fields.username ?? uniq('u');
	const email = fields.email ?? `${username.toLowerCase()}@example.com`;
	const password = fields.password ?? `pw-${randomBytes(6).toString('hex')}`;
	const s = await call(base, 'POST', '/auth/signup', { json: {
		username, email, password, full_name: fields.full_name ?? 'Test User' } });
	if (s.status !== 201)
		throw new Error(`signup ${username}: ${s.status} ${s.text}`);
	const l = await call(base, 'POST', '/auth/login',
	    { json: { email, password } });
	if (l.status !== 200)
		throw new Error(`login ${username}: ${l.status} ${l.text}`);
	return { id: s.body.id, username, email, password,
		token: l.body.access_token };
}

function b64url(buf) {
	return Buffer.from(buf).toString('base64url');
}

// The fixed iss and aud of every token (TOKEN_ISS and TOKEN_AUD of
// lib/chat/token.h): a crafted token needs both to be valid.
export const JWT_ISS = 'chat';
export const JWT_AUD = 'chat-api';

// A JWT with the given header and claims, signed HS256 with "key" (a string
// or Buffer); alg in the header is whatever the caller put there, and so
// are the claims (nothing is added: give iss and aud for a valid token).
export function signJwt(key, claims, header = { alg: 'HS256', typ: 'JWT' },
    hash = 'sha256') {
	const input = `${b64url(JSON.stringify(header))}.` +
	    b64url(JSON.stringify(claims));
	const sig = createHmac(hash, key).update(input).digest();
	return `${input}.${b64url(sig)}`;
}

// Decode the claims of a JWT without checking it.
export function jwtClaims(tok) {
	return JSON.parse(Buffer.from(tok.split('.')[1], 'base64url'));
}

// Create a room as "user" with "members" (emails or usernames).
export async function newRoom(base, user, members = [], name = uniq('room')) {
	const r = await call(base, 'POST', '/chat/chat_rooms/', { token: user.token,
		json: { name, members } });
	if (r.status !== 201)
		throw new Error(`create room: ${r.status} ${r.text}`);
	return r.body;
}

// Post a message; resolves to the call result.
export function post(base, user, roomId, content, extra = {}) {
	return call(base, 'POST', `/chat/chat_rooms/${roomId}/messages`,
	    { token: user.token, json: { content, ...extra } });
}

export const RFC3339_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
