// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// sockets_per_user_max at its default (64), with max_connections_per_addr
// at its default: through nginx, 64 stock socket.io-client sockets of one
// user connect, the 65th is refused with the CONNECT_ERROR {"message":
// "too many connections"} while another user still connects; a socket
// that leaves (a namespace DISCONNECT, or its transport closing) frees
// its slot for exactly one new socket, and a refused CONNECT takes none.
// Then straight on push_socket with a different X-Forwarded-For address
// for each socket: the cap counts the user's sockets whatever their
// addresses.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startStack } from './lib/stack.mjs';
import { newUser } from './lib/api.mjs';
import { client, closeAll, connect, connected, refused, until } from
    './lib/sio.mjs';

const CAP = 64; // the default
const FULL = 'too many connections';
let st;
let U;
let a;
let b;
before(async () => {
	st = await startStack({ workers: 2, set: {
		sockets_per_user_max: null, max_connections_per_addr: null } });
	U = st.url;
	a = await newUser(U);
	b = await newUser(U);
});
after(async () => {
	closeAll();
	await st?.stop();
});

// Once the daemon has seen a socket of "user" leave, a new one connects
// (retried while it is still refused as full: the daemon reads the close
// a moment after the client sends it).
async function replaced(user) {
	return until(async () => {
		const s = client(U, { token: user.token });
		try {
			return await connected(s);
		} catch (err) {
			s.close();
			assert.equal(err.message, FULL);
			return false;
		}
	}, 15000, 'a socket in the freed slot');
}

// A user's socket straight on push_socket, its client address "addr" as
// the web server would append it; resolves to the CONNECT answer.
function direct(open, sock, user, addr) {
	return new Promise((res) => {
		const ws = new WebSocket(`ws+unix://${sock}:/socket.io/?EIO=4` +
		    '&transport=websocket', { perMessageDeflate: false,
			headers: { 'X-Forwarded-For': addr } });
		open.push(ws);
		ws.on('message', (d) => {
			const m = d.toString();
			if (m === '2')
				ws.send('3');
			else if (m.startsWith('0'))
				ws.send(`40${JSON.stringify({ token: user.token })}`);
			else if (/^4[04]/.test(m))
				res(m);
		});
		ws.on('error', () => {});
		ws.on('close', () => res(null));
	});
}

describe('sockets_per_user_max', () => {
	test(`${CAP} sockets of one user, the next refused, others served`,
	    async () => {
		const held = await Promise.all(Array.from({ length: CAP },
		    () => connect(U, a)));
		assert.ok(held.every((s) => s.connected));
		const { err, socket } = await refused(U, { token: a.token });
		assert.equal(err.message, FULL);
		assert.equal(socket.active, false, 'not retried by the client');
		// Another user behind the same address is not concerned.
		const sb = await connect(U, b);
		assert.ok(sb.connected);

		// A namespace DISCONNECT frees one slot, once.
		held.shift().disconnect();
		held.push(await replaced(a));
		assert.equal((await refused(U, { token: a.token })).err.message,
		    FULL);
		// So does a transport that closes without one.
		held.shift().io.engine.close();
		held.push(await replaced(a));
		assert.equal((await refused(U, { token: a.token })).err.message,
		    FULL);
		for (const s of held)
			s.close();
		sb.close();
	});

	test('one count for the user whatever the client address',
	    async () => {
		const sock = join(st.var, 'run/push.sock');
		const open = [];
		try {
			// The sockets of the first test may still be
			// closing: wait until the user has a free slot.
			await replaced(a).then((s) => s.close());
			const answers = await until(async () => {
				const r = await Promise.all(Array.from(
				    { length: CAP }, (_, i) => direct(open, sock,
					a, `10.0.${i >> 8}.${(i & 255) + 1}`)));
				if (r.every((m) => m?.startsWith('40')))
					return r;
				for (const ws of open.splice(0))
					ws.terminate();
				return false;
			}, 15000, `${CAP} sockets from ${CAP} addresses`);
			assert.equal(answers.length, CAP);
			const m = await direct(open, sock, a, '10.9.9.9');
			assert.ok(m?.startsWith('44'), m);
			assert.deepEqual(JSON.parse(m.slice(2)),
			    { message: FULL });
		} finally {
			for (const ws of open)
				ws.terminate();
		}
	});
});
