// SPDX-License-Identifier: ISC
//
// Socket.IO helpers for the integration tests: stock socket.io-client
// sockets that record every event they receive, a condition wait, and a
// raw Engine.IO/Socket.IO client over the ws package for the inputs no
// stock client sends. Everything talks to the stack URL only (127.0.0.1).

import { io } from 'socket.io-client';
import WebSocket from 'ws';

export const TRANSPORTS = {
	websocket: ['websocket'],
	polling: ['polling'],
	upgrade: ['polling', 'websocket'],
};

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// Wait until fn() returns something truthy (polled every 20 ms) and
// resolve to it; reject after "ms" with "what" and describe() if given.
export async function until(fn, ms, what, describe) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out after ${ms} ms waiting for ` +
			    `${what}${describe ? `: ${describe()}` : ''}`);
		await sleep(20);
	}
}

// A socket.io-client socket (new Manager each time, no automatic
// reconnection unless opts say so; opts.transport: a TRANSPORTS key)
// whose received events are recorded in s.rec: s.rec.all is [{ ev, args }]
// in arrival order, s.rec.of(ev) the first arguments of one event,
// s.rec.ids() the message ids of the chat_response events. Engine.IO opens
// and server pings are counted in s.engineOpens and s.pings. The socket is
// not yet connected: see connected().
export function client(url, auth, opts = {}) {
	const { transport = 'websocket', ...rest } = opts;
	const s = io(url, {
		transports: TRANSPORTS[transport],
		upgrade: transport === 'upgrade',
		forceNew: true,
		reconnection: false,
		timeout: 15000,
		...(auth === undefined ? {} : { auth }),
		...rest,
	});
	const all = [];
	s.onAny((ev, ...args) => all.push({ ev, args }));
	// Engine.IO opens (handshakes that succeeded) and server pings.
	s.engineOpens = 0;
	s.pings = 0;
	s.io.on('open', () => { s.engineOpens++; });
	s.io.on('ping', () => { s.pings++; });
	s.rec = {
		all,
		of: (ev) => all.filter((e) => e.ev === ev).map((e) => e.args[0]),
		ids: () => all.filter((e) => e.ev === 'chat_response')
		    .map((e) => e.args[0]?.message?.id),
		clear: () => { all.length = 0; },
	};
	return s;
}

// Resolve when socket "s" is connected; reject with the connect_error.
export function connected(s, ms = 15000) {
	return new Promise((res, rej) => {
		if (s.connected) {
			res(s);
			return;
		}
		const t = setTimeout(() => {
			cleanup();
			rej(new Error(`no connect within ${ms} ms`));
		}, ms);
		const ok = () => { cleanup(); res(s); };
		const bad = (err) => { cleanup(); rej(err); };
		function cleanup() {
			clearTimeout(t);
			s.off('connect', ok);
			s.off('connect_error', bad);
		}
		s.on('connect', ok);
		s.on('connect_error', bad);
	});
}

// A connected socket for "user" (its token in auth unless opts has an
// "auth" key, undefined for none); closeAll() closes every socket made
// here and by refused().
const open = new Set();
export async function connect(url, user, opts = {}) {
	const { auth, ...rest } = opts;
	const s = client(url, 'auth' in opts ? auth : { token: user.token },
	    rest);
	open.add(s);
	await connected(s);
	return s;
}

// The connect_error of a socket that must be refused.
export async function refused(url, auth, opts = {}) {
	const s = client(url, auth, opts);
	open.add(s);
	try {
		await connected(s);
	} catch (err) {
		return { err, socket: s };
	}
	throw new Error('connected, but a refusal was expected');
}

export function closeAll() {
	for (const s of open)
		s.close();
	open.clear();
}

// Emit with an acknowledgement; resolves to the first ack argument.
export function ack(s, ev, data, ms = 15000) {
	return s.timeout(ms).emitWithAck(ev, data);
}

// The chat_response events of socket "s" for room "roomId", in order.
export function responses(s, roomId) {
	return s.rec.of('chat_response').filter((r) => r?.room_id === roomId);
}

// Wait until socket "s" has received a chat_response for every id.
export function gotIds(s, ids, ms = 20000) {
	return until(() => {
		const have = new Set(s.rec.ids());
		return ids.every((id) => have.has(id));
	}, ms, `chat_response for ${ids.length} ids`,
	() => `got ${s.rec.ids().length} chat_response`);
}

// A raw Engine.IO v4 client over the ws package: the text and binary
// messages it received (pings are answered with pongs unless noPong),
// whether and how it closed, and helpers to wait for a message.
export class RawSio {
	constructor(url, { query = '', headers = {}, noPong = false } = {}) {
		const u = new URL(url);
		this.msgs = [];
		this.closed = false;
		this.closeCode = null;
		this.errors = [];
		this.ws = new WebSocket(`ws://${u.host}/socket.io/?EIO=4` +
		    `&transport=websocket${query}`, { headers,
			perMessageDeflate: false, maxPayload: 64 << 20 });
		this.ws.on('message', (data, isBinary) => {
			const m = isBinary ? data : data.toString();
			if (!noPong && m === '2')
				this.ws.send('3');
			this.msgs.push(m);
		});
		this.ws.on('close', (code) => {
			this.closed = true;
			this.closeCode = code;
		});
		this.ws.on('error', (e) => { this.errors.push(e); });
		this.upgraded = new Promise((res) => {
			this.ws.on('open', () => res(true));
			this.ws.on('unexpected-response', (rq, rs) =>
				res(rs.statusCode));
			this.ws.on('close', () => res(false));
		});
	}

	// Open the connection and read the Engine.IO OPEN packet.
	static async open(url, opts) {
		const r = new RawSio(url, opts);
		const up = await r.upgraded;
		if (up !== true)
			throw new Error(`WebSocket upgrade failed: ${up}`);
		const m = await r.next((x) => typeof x === 'string' &&
		    x.startsWith('0'), 10000, 'the Engine.IO OPEN packet');
		r.open = JSON.parse(m.slice(1));
		return r;
	}

	// Open, then send a Socket.IO CONNECT with "auth" and resolve to the
	// answer ("40{...}" or "44{...}").
	static async connect(url, auth, opts) {
		const r = await RawSio.open(url, opts);
		r.send(`40${JSON.stringify(auth)}`);
		r.answer = await r.next((x) => typeof x === 'string' &&
		    /^4[04]/.test(x), 10000, 'the CONNECT answer');
		return r;
	}

	send(data) {
		this.ws.send(data);
	}

	// Resolve to the first received message matching pred (from
	// this.msgs, so one that came earlier counts too).
	next(pred, ms, what) {
		return until(() => this.msgs.find(pred), ms, what,
		    () => `closed=${this.closed} got ${JSON.stringify(
			this.msgs.slice(-5).map(String))}`);
	}

	// Resolve when the connection closed, or to false after ms.
	async closedWithin(ms) {
		try {
			await until(() => this.closed, ms, 'close');
			return true;
		} catch {
			return false;
		}
	}

	close() {
		this.ws.terminate();
	}
}
