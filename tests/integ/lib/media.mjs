// SPDX-License-Identifier: ISC
//
// Helpers for the upload tests: tiny real samples of every allowed type (the
// byte recipes of tests/unit/chat/test-upload.c), the refused and polyglot samples
// of docs/security.md 3.1, a hand-built multipart/form-data body for shapes
// that fetch's FormData cannot send, an upload call, and snapshots of a
// directory tree to prove that nothing was written where it should not be, and
// the check that a served upload is byte-identical and inert; the check that a
// large upload without a valid token is a clean 401.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { call, signJwt } from './api.mjs';

const bin = (s) => Buffer.from(s, 'latin1');

const PNG = '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00' +
    '\x00\x01\x08\x00\x00\x00\x00:~\x9bU';
const JPEG = '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00' +
    '\x01\x00\x00';
const HTML = '<!DOCTYPE html><html><body><script>alert(document.cookie)' +
    '</script></body></html>\n';
const ZIP = 'PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' +
    '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00evil.html';

// Every type docs/api.md section 3 allows, with the extension the store uses
// and whether it may be shown inline (raster image, audio, video).
export const ALLOWED = {
	png: { data: bin(PNG), type: 'image/png', ext: 'png', inline: true },
	jpeg: { data: bin(`${JPEG}\xff\xd9`), type: 'image/jpeg', ext: 'jpg',
		inline: true },
	gif: { data: bin('GIF89a\x01\x00\x01\x00\x00\x00\x00;'),
		type: 'image/gif', ext: 'gif', inline: true },
	webp: { data: bin('RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00' +
	    '\x00'.repeat(14)), type: 'image/webp', ext: 'webp', inline: true },
	mp4: { data: bin('\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2' +
	    '\x00\x00\x00\x08free'), type: 'video/mp4', ext: 'mp4',
		inline: true },
	mp3: { data: bin('ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90d' +
	    '\x00'.repeat(16)), type: 'audio/mpeg', ext: 'mp3', inline: true },
	ogg: { data: bin('OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01' +
	    '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1e\x01vorbis' +
	    '\x00\x00\x00\x00\x02D\xac\x00\x00\x00\x00\x00\x00\x00\x00\x00' +
	    '\x00\x00\x00\x00\x00\xb8\x01'), type: 'audio/ogg', ext: 'ogg',
		inline: true },
	pdf: { data: bin('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n'),
		type: 'application/pdf', ext: 'pdf', inline: false },
};

// Active or unknown content, each with the lie a client might tell.
export const REFUSED = {
	html: { data: bin('<!DOCTYPE html><html><body><script>alert(' +
	    'document.cookie)</script></body></html>\n'), filename: 'x.png',
		ctype: 'image/png' },
	svg: { data: bin('<svg xmlns="http://www.w3.org/2000/svg"><script>' +
	    'alert(1)</script></svg>\n'), filename: 'x.png', ctype: 'image/png' },
	'svg-xml': { data: bin('<?xml version="1.0"?>\n<svg xmlns="http://' +
	    'www.w3.org/2000/svg"><script>alert(1)</script></svg>\n'),
		filename: 'x.gif', ctype: 'image/gif' },
	elf: { data: bin('\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00' +
	    '\x00\x00\x03\x00>\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00' +
	    '\x00\x00@\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' +
	    '\x00\x00\x00\x00\x00\x00@\x008\x00\x00\x00@\x00\x00\x00\x00\x00'),
		filename: 'x.jpg', ctype: 'image/jpeg' },
	text: { data: bin('just some text\n'), filename: 'x.pdf',
		ctype: 'application/pdf' },
	js: { data: bin('alert(1);\n'), filename: 'x.mp3', ctype: 'audio/mpeg' },
	empty: { data: Buffer.alloc(0), filename: 'x.png', ctype: 'image/png' },
	zip: { data: bin(ZIP), filename: 'x.webp', ctype: 'image/webp' },
	// The other rows of docs/security.md 3.1's table: HTML in gzip (the
	// store never looks inside compressed data), UTF-16 HTML with a BOM,
	// and a <script> after three lines of prose.
	'html-gzip': { data: gzipSync(bin(HTML)), filename: 'x.gif',
		ctype: 'image/gif' },
	'html-utf16': { data: Buffer.from(`\ufeff${HTML}`, 'utf16le'),
		filename: 'x.png', ctype: 'image/png' },
	'prose-script': { data: bin('Dear reader,\nthis is a plain letter ' +
	    'about nothing at all.\nKind regards, the sender.\n' +
	    '<script>alert(document.cookie)</script>\n'), filename: 'x.jpg',
		ctype: 'image/jpeg' },
};

// Polyglots libmagic labels as allowed types (docs/security.md 3.1):
// stored, but served only with nosniff and a sandboxing CSP, and the PDF
// whose OpenAction runs JavaScript as an attachment ("inline": false).
export const POLYGLOTS = {
	'gif-js': { data: bin('GIF89a/*\x01\x00\x00\x00\x00*/=1;alert(1)//' +
	    '<html><script>alert(1)</script>'), type: 'image/gif', ext: 'gif',
		inline: true },
	'png-zip': { data: bin(`${PNG}${ZIP}<script>alert(1)</script>`),
		type: 'image/png', ext: 'png', inline: true },
	'jpeg-com': { data: bin(`${JPEG}\xff\xfe\x00\x22<script>alert(1)` +
	    '</script>\n\n\n\n\n\n\xff\xd9'), type: 'image/jpeg', ext: 'jpg',
		inline: true },
	'pdf-openaction': { data: bin('%PDF-1.4\n1 0 obj<</Type/Catalog' +
	    '/Pages 2 0 R/OpenAction 3 0 R>>endobj\n2 0 obj<</Type/Pages' +
	    '/Kids[]/Count 0>>endobj\n3 0 obj<</S/JavaScript' +
	    '/JS(app.alert(1))>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n'),
		type: 'application/pdf', ext: 'pdf', inline: false },
};

// What file(1), libmagic's own front end, says of "data" (MIME type).
export function magicType(data) {
	const r = spawnSync('file', ['-b', '--mime-type', '-'],
	    { input: data, encoding: 'utf8' });
	if (r.status !== 0)
		throw new Error(`file: ${r.stderr}`);
	return r.stdout.trim();
}

// A PNG of "size" bytes: the 1x1 PNG sample, then pseudo-random bytes
// from "seed", so that files of different seeds differ.
export function bigPng(size, seed = 1) {
	const b = Buffer.alloc(size);
	ALLOWED.png.data.copy(b);
	let x = seed * 2654435761 >>> 0 || 1;
	for (let i = ALLOWED.png.data.length; i < size; i++) {
		x ^= x << 13; x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5; x >>>= 0;
		b[i] = x & 0xff;
	}
	return b;
}

export const FILE_URL = /^\/media\/[0-9a-f]{32}\.(png|jpg|gif|webp|mp4|mp3|ogg|pdf)$/;

// A multipart/form-data body built byte by byte. parts: [{ name, filename
// (raw, inserted as is between quotes), disposition (the whole header
// value, overrides name/filename), ctype, headers (extra lines), data }].
// opts: boundary, eol ("\r\n"), close (default true), preamble, epilogue.
// Resolves to { body, type } (type: the request Content-Type).
export function multipart(parts, opts = {}) {
	const bnd = opts.boundary ?? 'xq7-bNd-7f3a9c';
	const eol = opts.eol ?? '\r\n';
	const chunks = [];
	// Strings are bytes (latin1) unless they hold wider characters.
	const push = (s) => chunks.push(Buffer.isBuffer(s) ? s
	    : Buffer.from(s, /[^\x00-\xff]/.test(s) ? 'utf8' : 'latin1'));
	if (opts.preamble !== undefined)
		push(opts.preamble + eol);
	for (const p of parts) {
		push(`--${bnd}${eol}`);
		let disp = p.disposition;
		if (disp === undefined) {
			disp = `form-data; name="${p.name ?? 'file'}"`;
			if (p.filename !== undefined)
				disp += `; filename="${p.filename}"`;
		}
		if (disp !== null)
			push(`Content-Disposition: ${disp}${eol}`);
		if (p.ctype !== undefined)
			push(`Content-Type: ${p.ctype}${eol}`);
		for (const h of p.headers ?? [])
			push(`${h}${eol}`);
		push(eol);
		push(p.data ?? Buffer.alloc(0));
		push(eol);
	}
	if (opts.close !== false)
		push(`--${bnd}--${eol}`);
	if (opts.epilogue !== undefined)
		push(opts.epilogue);
	return { body: Buffer.concat(chunks),
		type: `multipart/form-data; boundary=${bnd}` };
}

// POST /chat/upload_media/ with one "file" part through fetch's FormData.
// opts: filename, ctype (the part's claimed type), path.
export async function upload(base, token, data, opts = {}) {
	const fd = new FormData();
	fd.append('file', new Blob([data], opts.ctype !== undefined
	    ? { type: opts.ctype } : {}), opts.filename ?? 'sample.bin');
	const headers = token !== undefined
	    ? { Authorization: `Bearer ${token}` } : {};
	const r = await fetch(base + (opts.path ?? '/chat/upload_media/'),
	    { method: 'POST', headers, body: fd });
	const text = await r.text();
	let body;
	try {
		body = JSON.parse(text);
	} catch {
		body = undefined;
	}
	return { status: r.status, headers: r.headers, text, body };
}

// POST a hand-built multipart body (see multipart()).
export function uploadRaw(base, token, parts, opts = {}) {
	const m = multipart(parts, opts);
	return call(base, 'POST', '/chat/upload_media/', { token,
		body: m.body, type: opts.type ?? m.type });
}

// GET "url" (no token) with the raw bytes of the answer.
export async function fetchBytes(base, url) {
	const r = await fetch(base + url, { redirect: 'manual' });
	return { status: r.status, headers: r.headers,
		bytes: Buffer.from(await r.arrayBuffer()) };
}

// The policy every served upload carries (nginx and lighttpd alike).
export const CSP = "default-src 'none'; sandbox";

// The copy of "url" served by "base" must be "data", typed "type", inert:
// nosniff, the sandboxing CSP, and attachment unless "inline".
export async function assertServed(base, url, data, type, inline) {
	const r = await fetchBytes(base, url);
	assert.equal(r.status, 200, url);
	assert.ok(r.bytes.equals(data), `${url}: bytes differ`);
	assert.equal(r.headers.get('content-type'), type);
	assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
	assert.equal(r.headers.get('content-security-policy'), CSP);
	const cd = r.headers.get('content-disposition');
	if (inline)
		assert.equal(cd, null, `${url}: ${cd}`);
	else
		assert.match(cd ?? '', /^attachment\b/, url);
}

// Every entry under "dir" as a map path -> "type size mtime" (relative
// paths; directories as "d"). Missing directory: an empty map.
export function tree(dir) {
	const out = new Map();
	const walk = (rel) => {
		let names;
		try {
			names = readdirSync(join(dir, rel));
		} catch {
			return;
		}
		for (const n of names) {
			const p = rel ? `${rel}/${n}` : n;
			const s = lstatSync(join(dir, p), { throwIfNoEntry: false });
			if (s === undefined)
				continue;
			if (s.isDirectory()) {
				out.set(p, 'd');
				walk(p);
			} else {
				out.set(p, `${s.isFile() ? 'f' : 'o'} ${s.size} ` +
				    `${s.mtimeMs}`);
			}
		}
	};
	walk('');
	return out;
}

// The names in "dir" (one level), sorted.
export function ls(dir) {
	try {
		return readdirSync(dir).sort();
	} catch {
		return [];
	}
}

// A 9 MB upload (under upload_max) without a valid token, on stack "st"
// (whose workers() are "pids()") for "user": no token, garbage, a token
// signed with the service key but expired, and one for a user id that
// does not exist. The worker refuses each before reading the body: the
// answer must still be the worker's 401 JSON, not the web server's 5xx
// for a reset connection, nothing is stored, no worker is replaced, and
// the next upload on the same workers is stored.
export async function assertBigUnauthorized(st, user, pids) {
	const media = join(st.var, 'media');
	const names = ls(media);
	const before = pids();
	const now = Math.floor(Date.now() / 1000);
	const claims = (extra) => ({ sub: user.id, iat: now - 7200,
		exp: now + 600, jti: randomBytes(16).toString('hex'), ...extra });
	const tokens = {
		none: [undefined, 'Not authenticated'],
		garbage: ['not-a-jwt', 'Could not validate credentials'],
		expired: [signJwt(st.secret(), claims({ exp: now - 3600 })),
			'Could not validate credentials'],
		'unknown user': [signJwt(st.secret(), claims({ sub: '999999999' })),
			'Could not validate credentials'],
	};
	const big = bigPng(9 << 20, 77);
	// Twice each: a kept FastCGI connection is reused by the next one.
	for (let round = 0; round < 2; round++)
		for (const [what, [token, detail]] of Object.entries(tokens)) {
			const r = await upload(st.url, token, big)
			    .catch((e) => ({ status: String(e.cause ?? e) }));
			assert.equal(r.status, 401, `${what}: ${r.text}`);
			assert.deepEqual(r.body, { detail }, what);
			assert.match(r.headers.get('www-authenticate') ?? '',
			    /^Bearer/, what);
		}
	assert.deepEqual(ls(media), names);
	assert.deepEqual(pids().sort(), before.sort(), 'a worker was replaced');
	for (let i = 0; i < 3; i++) {
		const ok = await upload(st.url, user.token, ALLOWED.gif.data);
		assert.equal(ok.status, 201, ok.text);
	}
}
