// SPDX-License-Identifier: ISC
//
// The API reference served by the stack: /openapi.json (through nginx) has
// exactly the routes of the workers' route table (`chat-fcgi -r`) plus the
// paths the web server serves itself (WEB_SERVED), every $ref resolves,
// every operation documents its success and error answers and its path
// parameters, GET /media/{name} is documented with the headers the web
// server really sends, and /docs is an HTML page that loads swagger-ui
// from www/vendor/ and the document.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { SRCDIR, startStack } from './lib/stack.mjs';
import { call, newUser } from './lib/api.mjs';
import { ALLOWED, upload } from './lib/media.mjs';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch',
	'trace'];
// Served by nginx (and lighttpd) from the media directory, never by a
// worker: not in `chat-fcgi -r`, but the document must have them.
const WEB_SERVED = new Set(['GET /media/{}']);
const PUBLIC = new Set(['POST /auth/signup', 'POST /auth/login',
	'POST /auth/token', ...WEB_SERVED]);

let st;
let doc;
before(async () => {
	st = await startStack();
	const r = await call(st.url, 'GET', '/openapi.json');
	assert.equal(r.status, 200, r.text);
	assert.match(r.headers.get('content-type'), /^application\/json/);
	doc = r.body;
	assert.equal(typeof doc, 'object');
});
after(async () => { await st?.stop(); });

// "METHOD /path/{}" with the trailing slash and parameter names dropped.
function key(method, path) {
	const p = path.replace(/\{[^}]*\}/g, '{}').replace(/(.)\/$/, '$1');
	return `${method.toUpperCase()} ${p}`;
}

// The route table of the built worker, as keys.
function routeTable() {
	const bin = join(resolve(SRCDIR, process.env.CHAT_BUILD ??
	    'build/default'), 'chat-fcgi');
	const r = spawnSync(bin, ['-r'], { encoding: 'utf8' });
	assert.equal(r.status, 0, `${bin} -r: ${r.stderr}`);
	const lines = r.stdout.split('\n').filter(Boolean);
	assert.ok(lines.length >= 10, `route table too short:\n${r.stdout}`);
	return lines.map((l) => {
		const m = /^([A-Z]+) (\/\S*)$/.exec(l);
		assert.ok(m, `unexpected route line "${l}"`);
		return key(m[1], m[2]);
	});
}

function operations() {
	const ops = [];
	for (const [path, item] of Object.entries(doc.paths))
		for (const m of METHODS)
			if (item[m])
				ops.push({ path, method: m, item, op: item[m] });
	return ops;
}

// Follow a local "#/a/b" reference.
function deref(ref) {
	assert.match(ref, /^#\//, `non-local $ref ${ref}`);
	let v = doc;
	for (const part of ref.slice(2).split('/')) {
		v = v?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
		assert.notEqual(v, undefined, `$ref ${ref} does not resolve`);
	}
	return v;
}

describe('/openapi.json', () => {
	test('is OpenAPI 3.1 with bearer and OAuth2 password security', () => {
		assert.match(doc.openapi, /^3\.1\.\d+$/);
		assert.equal(typeof doc.info?.title, 'string');
		const s = doc.components.securitySchemes;
		assert.deepEqual([s.bearerAuth.type, s.bearerAuth.scheme],
		    ['http', 'bearer']);
		assert.equal(s.OAuth2PasswordBearer.type, 'oauth2');
		assert.equal(s.OAuth2PasswordBearer.flows.password.tokenUrl,
		    '/auth/token');
	});

	test('every route of chat-fcgi -r is documented', () => {
		const documented = new Set(operations().map((o) =>
		    key(o.method, o.path)));
		const missing = routeTable().filter((k) => !documented.has(k));
		assert.deepEqual(missing, []);
	});

	test('every documented operation is a route of chat-fcgi -r', () => {
		const routes = new Set(routeTable());
		const extra = operations().map((o) => key(o.method, o.path))
		    .filter((k) => !routes.has(k) && !WEB_SERVED.has(k));
		assert.deepEqual(extra, []);
	});

	test('every path the web server serves itself is documented, and ' +
	    'is not a worker route', () => {
		const documented = new Set(operations().map((o) =>
		    key(o.method, o.path)));
		const routes = new Set(routeTable());
		for (const k of WEB_SERVED) {
			assert.ok(documented.has(k), `${k} not documented`);
			assert.ok(!routes.has(k), `${k} is a worker route`);
		}
	});

	test('every $ref resolves', () => {
		const refs = [];
		const walk = (v) => {
			if (Array.isArray(v))
				v.forEach(walk);
			else if (v && typeof v === 'object')
				for (const [k, x] of Object.entries(v))
					if (k === '$ref')
						refs.push(x);
					else
						walk(x);
		};
		walk(doc);
		assert.ok(refs.length > 20, 'expected the document to use $ref');
		for (const r of refs)
			deref(r);
	});

	test('every operation has a success answer with a schema, its ' +
	    'errors and its path parameters', () => {
		for (const { path, method, item, op } of operations()) {
			const name = key(method, path);
			const codes = Object.keys(op.responses ?? {});
			const ok = codes.filter((c) => /^2\d\d$/.test(c));
			assert.ok(ok.length > 0, `${name}: no 2xx answer`);
			for (const c of ok) {
				const r = op.responses[c].$ref ?
				    deref(op.responses[c].$ref) : op.responses[c];
				// A stored file is binary, in its own type.
				const types = WEB_SERVED.has(name) ?
				    Object.keys(r.content ?? {}) : ['application/json'];
				assert.ok(types.length > 0, `${name} ${c}: no content`);
				for (const t of types)
					assert.ok(r.content?.[t]?.schema,
					    `${name} ${c}: no ${t} schema`);
			}
			assert.ok(codes.some((c) => /^4\d\d$/.test(c)),
			    `${name}: no error answer`);
			const secured = !PUBLIC.has(name);
			assert.equal(Array.isArray(op.security) &&
			    op.security.length === 0, !secured,
			    `${name}: security`);
			if (secured)
				assert.ok(codes.includes('401'), `${name}: no 401`);
			if (path.includes('{room_id}'))
				assert.ok(codes.includes('404') && codes.includes('422'),
				    `${name}: no 404/422 for the room id`);
			if (method === 'post')
				assert.ok(op.requestBody?.content, `${name}: no body`);
			const params = [...(item.parameters ?? []),
				...(op.parameters ?? [])].filter((p) => p.in === 'path')
			    .map((p) => p.name).sort();
			const inPath = [...path.matchAll(/\{([^}]+)\}/g)]
			    .map((m) => m[1]).sort();
			assert.deepEqual(params, inPath, `${name}: path parameters`);
		}
	});

	test('the documented examples of a message match the service', async () => {
		// A real message has exactly the documented required fields.
		const { newUser, newRoom, post } = await import('./lib/api.mjs');
		const u = await newUser(st.url);
		const room = await newRoom(st.url, u);
		const m = (await post(st.url, u, room.id, 'hi')).body;
		const schema = doc.components.schemas.Message;
		assert.deepEqual(Object.keys(m).sort(),
		    [...schema.required].sort());
		const r = (await call(st.url, 'GET', `/chat/chat_rooms/${room.id}`,
		    { token: u.token })).body;
		const rs = doc.components.schemas.RoomSummary.required;
		assert.deepEqual(Object.keys(r).sort(),
		    [...rs, 'messages'].sort());
	});
});

describe('GET /media/{name}', () => {
	test('documents what nginx serves: the types, the headers, 404',
	    async () => {
		const op = doc.paths['/media/{name}'].get;
		const ok = op.responses['200'];
		const pattern = new RegExp(op.parameters[0].schema.pattern);
		const u = await newUser(st.url);
		const byType = {};
		for (const s of Object.values(ALLOWED)) {
			const r = await upload(st.url, u.token, s.data);
			assert.equal(r.status, 201, r.text);
			const name = r.body.file_url.slice('/media/'.length);
			assert.match(name, pattern);
			const g = await fetch(`${st.url}${r.body.file_url}`);
			assert.equal(g.status, 200);
			byType[g.headers.get('content-type')] = g.headers;
		}
		// Every stored type is documented, and nothing else.
		assert.deepEqual(Object.keys(ok.content).sort(),
		    Object.keys(byType).sort());
		for (const [type, h] of Object.entries(byType))
			for (const [hn, hd] of Object.entries(ok.headers)) {
				const attach = hn === 'Content-Disposition';
				const want = attach && type !== 'application/pdf' ?
				    null : hd.schema.const;
				// An enum: the value depends on chat.conf.
				if (hd.schema.enum !== undefined)
					assert.ok(hd.schema.enum.includes(h.get(hn)),
					    `${type} ${hn}`);
				else
					assert.equal(h.get(hn), want, `${type} ${hn}`);
			}
		const miss = await call(st.url, 'GET',
		    '/media/0123456789abcdef0123456789abcdef.png');
		assert.equal(miss.status, 404);
		assert.deepEqual(miss.body, op.responses['404'].content[
		    'application/json'].example);
	});
});

describe('/docs', () => {
	test('answers an HTML page that loads swagger-ui and the document',
	    async () => {
		const r = await call(st.url, 'GET', '/docs');
		assert.equal(r.status, 200);
		assert.match(r.headers.get('content-type'), /^text\/html/);
		assert.match(r.text, /<div id="swagger-ui">/);
		const scripts = [...r.text.matchAll(/<script src="([^"]+)"/g)]
		    .map((m) => m[1]);
		assert.ok(scripts.includes('/vendor/swagger-ui-bundle.js'));
		for (const s of [...scripts, '/vendor/swagger-ui.css']) {
			const a = await call(st.url, 'GET', s);
			assert.equal(a.status, 200, s);
			assert.ok(a.text.length > 100, `${s} is empty`);
		}
		const init = await call(st.url, 'GET', '/docs.js');
		assert.match(init.text, /url: '\/openapi\.json'/);
	});
});
