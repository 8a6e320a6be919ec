// SPDX-License-Identifier: ISC
//
// Raw Engine.IO v4 WebSocket connections straight to the push daemon's Unix
// socket (push_socket), with nothing in between: for the daemon's own
// bounds (connection cap, handshake and ping timeouts) and for the soak,
// where nginx would cost two descriptors per connection. Pings ("2") are
// answered with pongs ("3") unless noPong is set.

import WebSocket from 'ws';

export class Direct {
	// A connection to "sock" (a Unix socket path); opts.noPong, opts.query.
	constructor(sock, { noPong = false, query = '' } = {}) {
		this.msgs = [];
		this.pings = 0;
		this.closed = false;
		this.closeCode = null;
		this.ws = new WebSocket(`ws+unix://${sock}:/socket.io/?EIO=4` +
		    `&transport=websocket${query}`, { perMessageDeflate: false });
		this.ws.on('message', (data) => {
			const m = data.toString();
			if (m === '2') {
				this.pings++;
				if (!noPong)
					this.ws.send('3');
			}
			this.msgs.push(m);
			this.onmessage?.(m);
		});
		this.ws.on('error', () => {});
		this.ws.on('close', (code) => {
			this.closed = true;
			this.closeCode = code;
		});
		// Resolves to the Engine.IO OPEN packet, or false when the
		// connection ends first.
		this.opened = new Promise((res) => {
			const on = (data) => {
				const m = data.toString();
				if (m.startsWith('0')) {
					this.ws.off('message', on);
					res(JSON.parse(m.slice(1)));
				}
			};
			this.ws.on('message', on);
			this.ws.on('close', () => res(false));
		});
	}

	// Socket.IO CONNECT with "auth"; resolves to the answer packet.
	async connect(auth) {
		const n = this.msgs.length;
		this.ws.send(`40${JSON.stringify(auth)}`);
		for (;;) {
			const m = this.msgs.slice(n).find((x) => /^4[04]/.test(x));
			if (m !== undefined)
				return m;
			if (this.closed)
				return null;
			await new Promise((res) => setTimeout(res, 20));
		}
	}

	close() {
		this.ws.terminate();
	}
}
