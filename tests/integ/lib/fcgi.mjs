// SPDX-License-Identifier: ISC
//
// A minimal FastCGI client (responder role, one request per connection) that
// talks to the workers' Unix socket (fcgi_socket) the way nginx does, with
// the parameters the test chooses: for what no HTTP client can pick, such as
// the client address (REMOTE_ADDR) a worker sees. It reaches only the socket
// path it is given.

import { connect } from 'node:net';

const VERSION = 1;
const BEGIN_REQUEST = 1;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const RESPONDER = 1;

function record(type, content = Buffer.alloc(0)) {
	const pad = (8 - (content.length % 8)) % 8;
	const h = Buffer.alloc(8);
	h.writeUInt8(VERSION, 0);
	h.writeUInt8(type, 1);
	h.writeUInt16BE(1, 2); // request id
	h.writeUInt16BE(content.length, 4);
	h.writeUInt8(pad, 6);
	return Buffer.concat([h, content, Buffer.alloc(pad)]);
}

function nvLen(n) {
	if (n < 128)
		return Buffer.from([n]);
	const b = Buffer.alloc(4);
	b.writeUInt32BE((n | 0x80000000) >>> 0);
	return b;
}

// Records of at most 65535 bytes each, then the empty one that ends them.
function stream(type, data) {
	const out = [];
	for (let i = 0; i < data.length; i += 65535)
		out.push(record(type, data.subarray(i, i + 65535)));
	out.push(record(type));
	return out;
}

// Send one request to the worker socket "sock". opts: method, path, json
// (serialised), form (object, urlencoded), token, remote (REMOTE_ADDR).
// Resolves to { status, headers (lower-case names), text, body } as
// lib/api.mjs's call() does.
export function fcgiCall(sock, method, path, opts = {}) {
	let body = Buffer.alloc(0);
	let type = '';
	if (opts.json !== undefined) {
		body = Buffer.from(JSON.stringify(opts.json));
		type = 'application/json';
	} else if (opts.form !== undefined) {
		body = Buffer.from(new URLSearchParams(opts.form).toString());
		type = 'application/x-www-form-urlencoded';
	}
	const params = {
		GATEWAY_INTERFACE: 'CGI/1.1',
		REQUEST_METHOD: method,
		REQUEST_URI: path,
		DOCUMENT_URI: path.split('?')[0],
		QUERY_STRING: path.includes('?') ? path.split('?')[1] : '',
		CONTENT_TYPE: type,
		CONTENT_LENGTH: String(body.length),
		SERVER_PROTOCOL: 'HTTP/1.1',
		REMOTE_ADDR: opts.remote ?? '127.0.0.1',
		REMOTE_PORT: '40000',
	};
	if (opts.token !== undefined)
		params.HTTP_AUTHORIZATION = `Bearer ${opts.token}`;
	const nv = Buffer.concat(Object.entries(params).flatMap(([k, v]) => {
		const kb = Buffer.from(k);
		const vb = Buffer.from(v);
		return [nvLen(kb.length), nvLen(vb.length), kb, vb];
	}));
	const begin = Buffer.alloc(8);
	begin.writeUInt16BE(RESPONDER, 0);
	const req = Buffer.concat([record(BEGIN_REQUEST, begin),
		...stream(PARAMS, nv), ...stream(STDIN, body)]);
	return new Promise((res, rej) => {
		const chunks = [];
		const s = connect(sock);
		s.on('error', rej);
		s.on('data', (d) => chunks.push(d));
		s.on('connect', () => s.write(req));
		s.on('close', () => {
			const all = Buffer.concat(chunks);
			const out = [];
			let ended = false;
			for (let i = 0; i + 8 <= all.length;) {
				const t = all.readUInt8(i + 1);
				const n = all.readUInt16BE(i + 4);
				const pad = all.readUInt8(i + 6);
				if (t === STDOUT)
					out.push(all.subarray(i + 8, i + 8 + n));
				if (t === END_REQUEST)
					ended = true;
				i += 8 + n + pad;
			}
			if (!ended) {
				rej(new Error('FastCGI: no END_REQUEST'));
				return;
			}
			const text = Buffer.concat(out).toString();
			const sep = text.indexOf('\r\n\r\n');
			const head = text.slice(0, sep).split('\r\n');
			const headers = new Map();
			for (const line of head) {
				const c = line.indexOf(':');
				headers.set(line.slice(0, c).trim().toLowerCase(),
				    line.slice(c + 1).trim());
			}
			const status = Number((headers.get('status') ?? '200')
			    .split(' ')[0]);
			const rest = text.slice(sep + 4);
			let parsed;
			try {
				parsed = JSON.parse(rest);
			} catch {
				parsed = undefined;
			}
			res({ status, headers, text: rest, body: parsed });
		});
	});
}
