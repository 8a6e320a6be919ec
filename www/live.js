// SPDX-License-Identifier: ISC
//
// The Socket.IO side of the browser client (docs/api.md, Socket.IO): one
// socket to /socket.io/ whose handshake auth is a function, so that every
// reconnect sends the current token and the newest message id seen; the
// server then replays what was missed and sends "catch_up". It reports its
// state (connecting, online, offline, unavailable) to the app and hands
// events over; the app removes duplicates by message id.

const ACK_MS = 8000;

// Open the live connection. h: token(), lastSeen() (id string or null),
// onState(state, why), onConnect(sentLastSeen), onMessage(msg),
// onCatchUp(ev), onStatus(ev), onError(ev), onUnauthorized().
// Resolves to an object with emit(), connected, close(), or null when the
// socket.io bundle is missing (www/vendor not built).
export async function liveOpen(h) {
	let io;
	try {
		({ io } = await import('./vendor/socket.io.esm.min.js'));
	} catch {
		h.onState('unavailable', 'live updates are not installed');
		return null;
	}
	let sentLastSeen = false;
	let closed = false;
	const socket = io({
		path: '/socket.io/',
		auth: (cb) => {
			const id = h.lastSeen();
			sentLastSeen = id !== null;
			cb(sentLastSeen ? { token: h.token(), last_message_id: id } :
			    { token: h.token() });
		},
		reconnectionDelay: 500,
		reconnectionDelayMax: 4000,
		timeout: 8000,
	});
	h.onState('connecting');
	socket.on('connect', () => {
		h.onState('online');
		h.onConnect(sentLastSeen);
	});
	socket.on('disconnect', (reason) => {
		if (closed)
			return;
		h.onState('offline', reason);
		// The server dropped us on purpose: try again later, once.
		if (reason === 'io server disconnect')
			setTimeout(() => closed || socket.connect(), 3000);
	});
	socket.on('connect_error', (err) => {
		if (closed)
			return;
		if (!socket.active) {
			// Refused by the server, not by the network.
			if (err?.message === 'unauthorized')
				h.onUnauthorized();
			else
				h.onState('offline', err?.message);
			return;
		}
		h.onState('offline', 'reconnecting');
	});
	socket.io.on('reconnect_attempt', () => h.onState('connecting'));
	socket.on('chat_response', (ev) => {
		if (ev && typeof ev === 'object' && ev.message)
			h.onMessage(ev.message);
	});
	socket.on('catch_up', (ev) => h.onCatchUp(ev ?? {}));
	socket.on('user_status', (ev) => ev && h.onStatus(ev));
	socket.on('error', (ev) => h.onError(ev ?? {}));

	// The browser knows before the heartbeat does: drop the transport at
	// once when the network goes, and dial again as soon as it is back.
	const onOffline = () => {
		if (socket.connected)
			socket.io.engine?.close();
		h.onState('offline', 'no network');
	};
	const onOnline = () => {
		if (!socket.connected) {
			socket.disconnect();
			socket.connect();
		}
	};
	window.addEventListener('offline', onOffline);
	window.addEventListener('online', onOnline);

	return {
		get connected() {
			return socket.connected;
		},
		// Emit with an acknowledgement; resolves to the answer or
		// rejects on timeout or when not connected.
		ask(event, payload) {
			if (!socket.connected)
				return Promise.reject(new Error('not connected'));
			return socket.timeout(ACK_MS).emitWithAck(event, payload);
		},
		close() {
			closed = true;
			window.removeEventListener('offline', onOffline);
			window.removeEventListener('online', onOnline);
			socket.disconnect();
		},
	};
}
