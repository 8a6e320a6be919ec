// SPDX-License-Identifier: ISC
//
// Raw bytes to the push daemon, for the bad inputs of docs/testing.md 4.3 that
// no WebSocket library sends: an HTTP request written as given (one TCP
// write, with anything appended), RFC 6455 frames built bit by bit (mask,
// RSV bits, opcode, 64-bit lengths all chosen by the caller), and a reader
// of the server's frames that records the close code. A target is a
// { host, port } on 127.0.0.1: nginx's port or the daemon's own
// push_listen_tcp port.

import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { until } from './sio.mjs';

export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

// The request line and headers of a WebSocket upgrade to the Engine.IO
// endpoint; "headers" override or (null) delete the defaults.
export function upgradeRequest(t, { path = '/socket.io/?EIO=4&transport=' +
    'websocket', method = 'GET', version = '1.1', headers = {} } = {}) {
	const h = { Host: `127.0.0.1:${t.port}`, Upgrade: 'websocket',
		Connection: 'Upgrade', 'Sec-WebSocket-Key': KEY,
		'Sec-WebSocket-Version': '13', ...headers };
	let s = `${method} ${path} HTTP/${version}\r\n`;
	for (const [k, v] of Object.entries(h))
		if (v !== null)
			s += `${k}: ${v}\r\n`;
	return `${s}\r\n`;
}

// A client frame: op, payload (Buffer or string); opts fin, rsv (0-7),
// mask (default true), len (the length field to claim, a BigInt or number,
// default the payload's), len64 (use the 8-byte form).
export function frame(op, payload = '', { fin = true, rsv = 0, mask = true,
	len, len64 = false } = {}) {
	const p = Buffer.from(payload);
	const n = BigInt(len ?? p.length);
	const head = [(fin ? 0x80 : 0) | (rsv << 4) | op];
	const m = mask ? 0x80 : 0;
	if (n < 126n && !len64)
		head.push(m | Number(n));
	else if (n < 65536n && !len64)
		head.push(m | 126, Number(n >> 8n), Number(n & 255n));
	else {
		head.push(m | 127);
		for (let i = 7; i >= 0; i--)
			head.push(Number((n >> BigInt(8 * i)) & 255n));
	}
	if (!mask)
		return Buffer.concat([Buffer.from(head), p]);
	const key = randomBytes(4);
	const body = Buffer.from(p.map((b, i) => b ^ key[i & 3]));
	return Buffer.concat([Buffer.from(head), key, body]);
}

// A close frame with "code" and a reason (Buffer or string).
export function closeFrame(code, reason = '') {
	const c = Buffer.alloc(2);
	c.writeUInt16BE(code);
	return frame(0x8, Buffer.concat([c, Buffer.from(reason)]));
}

// A raw connection: write(), the HTTP answer (status, headers, body once
// complete), then the server's frames ({ op, fin, payload }) and the close
// code of its close frame.
export class Raw {
	constructor(t) {
		this.buf = Buffer.alloc(0);
		this.status = null;
		this.headers = {};
		this.body = '';
		this.frames = [];
		this.closeCode = null;
		this.ended = false;
		this.sock = net.connect(t.port, t.host ?? '127.0.0.1');
		this.sock.on('data', (d) => {
			this.buf = Buffer.concat([this.buf, d]);
			this.parse();
		});
		this.sock.on('error', () => {});
		this.sock.on('close', () => { this.ended = true; });
	}

	write(b) {
		if (!this.sock.destroyed)
			this.sock.write(b);
	}

	parse() {
		if (this.status === null) {
			const i = this.buf.indexOf('\r\n\r\n');
			if (i === -1)
				return;
			const lines = this.buf.subarray(0, i).toString('latin1')
			    .split('\r\n');
			this.status = Number(lines[0].split(' ')[1]);
			for (const l of lines.slice(1)) {
				const c = l.indexOf(':');
				this.headers[l.slice(0, c).toLowerCase()] =
				    l.slice(c + 1).trim();
			}
			this.buf = this.buf.subarray(i + 4);
		}
		if (this.status !== 101) {
			const n = Number(this.headers['content-length'] ?? -1);
			if (n >= 0 && this.buf.length >= n) {
				this.body = this.buf.subarray(0, n).toString();
				this.complete = true;
			}
			return;
		}
		for (;;) {
			const b = this.buf;
			if (b.length < 2)
				return;
			let n = b[1] & 0x7f;
			let hl = 2;
			if (n === 126) {
				if (b.length < 4)
					return;
				n = b.readUInt16BE(2);
				hl = 4;
			} else if (n === 127) {
				if (b.length < 10)
					return;
				n = Number(b.readBigUInt64BE(2));
				hl = 10;
			}
			if (b.length < hl + n)
				return;
			const f = { op: b[0] & 0x0f, fin: !!(b[0] & 0x80),
				payload: b.subarray(hl, hl + n) };
			this.frames.push(f);
			if (f.op === 0x8 && this.closeCode === null)
				this.closeCode = n >= 2 ? f.payload.readUInt16BE(0)
				    : 1005;
			this.buf = b.subarray(hl + n);
		}
	}

	// The text payloads received so far.
	texts() {
		return this.frames.filter((f) => f.op === 1)
		    .map((f) => f.payload.toString());
	}

	// Resolves to the HTTP status.
	answered(ms = 10000) {
		return until(() => this.status !== null ? this.status
		    : this.ended && 'ended', ms, 'an HTTP answer');
	}

	// Resolves to the whole HTTP answer { status, headers, body }.
	async response(ms = 10000) {
		await until(() => this.complete || this.ended, ms,
		    'a complete HTTP answer');
		return { status: this.status, headers: this.headers,
			body: this.body };
	}

	// Resolves to the server's close code once it sent a close frame
	// and ended the connection (1006 when it ended without one).
	async closed(ms = 10000) {
		await until(() => this.ended, ms, 'the server to close',
		    () => `frames ${JSON.stringify(this.frames.map((f) =>
			[f.op, f.payload.toString().slice(0, 40)]))}`);
		return this.closeCode ?? 1006;
	}

	// Resolves to the first frame matching pred.
	next(pred, ms = 10000, what = 'a frame') {
		return until(() => this.frames.find(pred), ms, what,
		    () => `ended=${this.ended} frames ${JSON.stringify(
			this.frames.map((f) => [f.op,
			    f.payload.toString().slice(0, 40)]))}`);
	}

	destroy() {
		this.sock.destroy();
	}
}

// An upgraded Engine.IO WebSocket on "t", its OPEN packet read; "extra"
// bytes go in the same write as the request.
export async function openWs(t, extra = Buffer.alloc(0), opts = {}) {
	const r = new Raw(t);
	r.write(Buffer.concat([Buffer.from(upgradeRequest(t, opts)), extra]));
	const st = await r.answered();
	if (st !== 101)
		throw new Error(`upgrade: ${st}`);
	await r.next((f) => f.op === 1 && f.payload[0] === 0x30, 10000,
	    'the Engine.IO OPEN packet');
	return r;
}
