// SPDX-License-Identifier: ISC
//
// The browser client: sign up and log in (the token lives in localStorage
// until logout; the header shows the full name given at signup), the lists
// of rooms and private chats with live online dots (shown as unknown while
// the live connection is down) and unread badges (a room someone else
// made counts from its first message), one open room with its history
// (older pages on scrolling up; kept at the newest message while images
// load), the composer (Enter sends, files upload first), and the live
// connection of live.js. Messages are keyed by id, so a message that comes
// from REST, an acknowledgement, a live push and a catch-up replay is
// shown once.

import { ApiError, request } from './api.js';
import { clear, element, isImageUrl, mediaUrl } from './dom.js';
import { liveOpen } from './live.js';

const TOKEN_KEY = 'chat.token';
const PAGE = 50;
const POLL_MS = 4000;

const $ = (id) => document.getElementById(id);

const S = {
	token: null,
	me: null,		// {id, username, email, full_name}
	rooms: new Map(),	// room id -> room without messages
	privates: new Map(),	// room id -> private chat entry
	online: new Set(),	// e-mails of users online
	presenceKnown: false,	// S.online is fresh from this connection
	unread: new Map(),	// room id -> count
	lastSeen: null,		// newest message id seen (BigInt)
	connectedOnce: false,	// the live connection was up at least once
	live: null,
	liveState: 'connecting',
	cur: null,		// the open room, see roomOpen()
	outbox: new Map(),	// client_id -> pending message
	listsTimer: null,
	pollTimer: null,
};

// ----- helpers ---------------------------------------------------------

function big(id) {
	try {
		return BigInt(id);
	} catch {
		return -1n;
	}
}

// Remember the newest message id seen, for the catch-up after reconnect.
function seen(id) {
	const b = big(id);
	if (b > 0n && (S.lastSeen === null || b > S.lastSeen))
		S.lastSeen = b;
}

function clientId() {
	const a = new Uint8Array(12);
	crypto.getRandomValues(a);
	return 'w' + Array.from(a, (x) => x.toString(16).padStart(2, '0')).join('');
}

function timeText(ts) {
	const d = new Date(ts);
	if (Number.isNaN(d.getTime()))
		return '';
	const now = new Date();
	if (d.toDateString() === now.toDateString())
		return d.toLocaleTimeString([], { hour: '2-digit',
			minute: '2-digit' });
	return d.toLocaleString([], { dateStyle: 'medium',
		timeStyle: 'short' });
}

// A REST call with the session token; a 401 ends the session.
async function api(method, path, opts = {}) {
	try {
		return await request(method, path, { ...opts, token: S.token });
	} catch (e) {
		if (e instanceof ApiError && e.status === 401 && S.token)
			sessionEnd('Your session has ended. Please log in again.');
		throw e;
	}
}

function errorText(e) {
	if (e instanceof ApiError)
		return e.message;
	return 'The server cannot be reached. Check your connection.';
}

// ----- connection state ------------------------------------------------

const CONN_TEXT = {
	connecting: 'Connecting…',
	online: 'Live',
	offline: 'Offline, reconnecting…',
	unavailable: 'Live updates unavailable',
};

function connSet(state) {
	S.liveState = state;
	const c = $('conn');
	c.hidden = false;
	c.dataset.state = state;
	c.textContent = CONN_TEXT[state] ?? state;
	document.body.dataset.conn = state;
	// Without the live connection nobody's presence is known: the dots
	// and the room header say so until get_online_users answers again.
	if (state !== 'online') {
		if (S.presenceKnown) {
			S.presenceKnown = false;
			listsRender();
		}
		roomOnlineQuery();
	}
}

// ----- views -----------------------------------------------------------

function authShow(message = '') {
	$('chat-view').hidden = true;
	$('logout').hidden = true;
	$('me').hidden = true;
	$('conn').hidden = true;
	$('auth-view').hidden = false;
	$('auth-error').textContent = message;
	document.title = 'Chat';
}

function chatShow() {
	$('auth-view').hidden = true;
	$('chat-view').hidden = false;
	$('logout').hidden = false;
	$('me').hidden = false;
	const full = fullName(S.me);
	$('me-full').hidden = !full;
	$('me-full').textContent = full;
	$('me-name').textContent = S.me.username;
	$('me').title = full ? `${full} (${S.me.username})` : S.me.username;
}

// The full name a user gave at signup, or '' when none.
function fullName(u) {
	return typeof u?.full_name === 'string' ? u.full_name.trim() : '';
}

// ----- session ---------------------------------------------------------

async function sessionStart() {
	try {
		S.me = await api('GET', '/auth/users/me');
	} catch (e) {
		if (!(e instanceof ApiError && e.status === 401))
			authShow(errorText(e));
		return;
	}
	chatShow();
	connSet('connecting');
	await listsLoad().catch(() => {});
	S.live = await liveOpen({
		token: () => S.token,
		// None on the first connect (REST loads the history); on
		// every reconnect the newest id seen, "0" when none yet.
		lastSeen: () => (S.connectedOnce ? String(S.lastSeen ?? 0n) :
		    null),
		onState: connSet,
		onConnect: liveConnected,
		onMessage: messageAdd,
		onCatchUp: (ev) => {
			if (ev.complete === false)
				roomFetchNewer();
		},
		onStatus: statusApply,
		onError: (ev) => {
			$('send-error').textContent = String(ev.message ?? 'Error');
		},
		onUnauthorized: () =>
			sessionEnd('Your session has ended. Please log in again.'),
	});
	if (S.pollTimer === null)
		S.pollTimer = setInterval(pollTick, POLL_MS);
}

function sessionReset() {
	S.live?.close();
	S.live = null;
	clearInterval(S.pollTimer);
	S.pollTimer = null;
	S.me = null;
	S.rooms.clear();
	S.privates.clear();
	S.online.clear();
	S.presenceKnown = false;
	S.unread.clear();
	S.outbox.clear();
	S.lastSeen = null;
	S.connectedOnce = false;
	S.cur = null;
	clear($('room-list'));
	clear($('private-list'));
	roomShowNone();
}

function sessionEnd(message) {
	localStorage.removeItem(TOKEN_KEY);
	S.token = null;
	sessionReset();
	authShow(message);
}

async function login(loginName, password) {
	const body = loginName.includes('@') ?
	    { email: loginName, password } : { username: loginName, password };
	const t = await request('POST', '/auth/login', { json: body });
	S.token = t.access_token;
	localStorage.setItem(TOKEN_KEY, S.token);
	await sessionStart();
}

function formsAuthWire() {
	$('login-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const f = ev.currentTarget;
		$('auth-error').textContent = '';
		try {
			await login(f.login.value.trim(), f.password.value);
			f.reset();
		} catch (e) {
			$('auth-error').textContent = errorText(e);
		}
	});
	$('signup-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const f = ev.currentTarget;
		$('auth-error').textContent = '';
		const body = { username: f.username.value.trim(),
			email: f.email.value.trim(), password: f.password.value };
		if (f.full_name.value.trim())
			body.full_name = f.full_name.value.trim();
		try {
			await request('POST', '/auth/signup', { json: body });
			await login(body.email, body.password);
			f.reset();
		} catch (e) {
			$('auth-error').textContent = errorText(e);
		}
	});
	$('logout').addEventListener('click', () => sessionEnd(''));
}

// ----- chat lists ------------------------------------------------------

async function listsLoad() {
	const [rooms, privates] = await Promise.all([
		api('GET', '/chat/chat_rooms/'),
		api('GET', '/chat/private_chats/'),
	]);
	S.rooms = new Map(rooms.map((r) => [r.id, r]));
	S.privates = new Map(privates.map((p) => [p.id, p]));
	for (const p of privates) {
		if (p.is_online)
			S.online.add(p.other_user_email);
		if (p.last_message)
			seen(p.last_message.id);
	}
	listsRender();
	// New rooms bring new peers, whose earlier user_status we missed.
	onlineRefresh();
}

// Ask who of the people sharing a room with me is online.
async function onlineRefresh() {
	if (!S.live?.connected)
		return;
	try {
		const users = await S.live.ask('get_online_users', {});
		if (Array.isArray(users) && S.live?.connected) {
			S.online = new Set(users.map((u) => u.email));
			S.presenceKnown = true;
			listsRender();
		}
	} catch {
		// No answer in time: presence stays unknown, ask again while
		// the connection lasts.
		if (S.live?.connected && !S.presenceKnown)
			setTimeout(onlineRefresh, 2000);
	}
}

// Reload the lists soon (a message came for a room we did not know).
function listsReloadSoon() {
	clearTimeout(S.listsTimer);
	S.listsTimer = setTimeout(() => listsLoad().catch(() => {}), 300);
}

function roomName(id) {
	const p = S.privates.get(id);
	if (p)
		return p.other_user?.username ?? p.other_user_email;
	return S.rooms.get(id)?.name ?? 'Chat';
}

// Whether anyone but me in room "id" is online.
function roomOnline(id) {
	const p = S.privates.get(id);
	if (p)
		return S.online.has(p.other_user_email);
	const r = S.rooms.get(id);
	return !!r && r.members.some((m) => m !== S.me?.email &&
	    S.online.has(m));
}

const PRESENCE = {
	on: { dot: 'dot on', said: ', online' },
	off: { dot: 'dot', said: ', offline' },
	unknown: { dot: 'dot unknown', said: ', online status unknown' },
};

function chatItem(id, name, sub) {
	const pr = PRESENCE[!S.presenceKnown ? 'unknown' :
	    roomOnline(id) ? 'on' : 'off'];
	const unread = S.unread.get(id) ?? 0;
	const current = S.cur?.id === id;
	const btn = element('button', { type: 'button', class: 'chat-item',
		'data-room-id': id, 'aria-current': current ? 'true' : null,
		onclick: () => roomOpen(id) },
	element('span', { class: pr.dot, 'aria-hidden': 'true' }),
	element('span', { class: 'chat-name', dir: 'auto', text: name }),
	element('span', { class: 'visually-hidden', text: pr.said }),
	sub ? element('span', { class: 'chat-sub', dir: 'auto', text: sub }) :
	    null,
	unread ? element('span', { class: 'badge',
		text: unread > 99 ? '99+' : String(unread) }) : null,
	unread ? element('span', { class: 'visually-hidden',
		text: `, ${unread} new` }) : null);
	return element('li', {}, btn);
}

function listsRender() {
	const rl = $('room-list');
	const pl = $('private-list');
	const focused = document.activeElement?.dataset?.roomId;
	clear(rl);
	clear(pl);
	for (const r of S.rooms.values())
		if (!r.is_private)
			rl.append(chatItem(r.id, r.name,
			    `${r.members.length} member${r.members.length === 1 ? '' : 's'}`));
	for (const p of S.privates.values())
		pl.append(chatItem(p.id, roomName(p.id),
		    p.last_message?.content || (p.last_message ? 'Attachment' : '')));
	$('rooms-empty').hidden = rl.childElementCount > 0;
	$('privates-empty').hidden = pl.childElementCount > 0;
	if (focused)
		document.querySelector(`[data-room-id="${CSS.escape(focused)}"]`)
		    ?.focus();
	if (S.cur)
		$('room-title').textContent = roomName(S.cur.id);
}

// Put room "id" first in its list (most recent activity first).
function listsBump(id) {
	if (S.privates.has(id)) {
		const p = S.privates.get(id);
		S.privates.delete(id);
		S.privates = new Map([[id, p], ...S.privates]);
	} else if (S.rooms.has(id)) {
		const r = S.rooms.get(id);
		S.rooms.delete(id);
		S.rooms = new Map([[id, r], ...S.rooms]);
	}
}

function formsNewWire() {
	$('private-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const f = ev.currentTarget;
		$('new-error').textContent = '';
		try {
			const r = await api('POST', '/chat/chat_rooms/', { json: {
				members: [f.who.value.trim()], is_private: true } });
			f.reset();
			await listsLoad();
			$('new-chat').open = false;
			roomOpen(r.id);
		} catch (e) {
			$('new-error').textContent = errorText(e);
		}
	});
	$('room-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const f = ev.currentTarget;
		$('new-error').textContent = '';
		const members = f.members.value.split(/[,;\s]+/)
		    .map((s) => s.trim()).filter(Boolean);
		try {
			const r = await api('POST', '/chat/chat_rooms/', { json: {
				name: f.name.value.trim(), members } });
			f.reset();
			await listsLoad();
			$('new-chat').open = false;
			roomOpen(r.id);
		} catch (e) {
			$('new-error').textContent = errorText(e);
		}
	});
}

// ----- presence --------------------------------------------------------

function statusApply(ev) {
	if (typeof ev.email !== 'string')
		return;
	if (ev.is_online)
		S.online.add(ev.email);
	else
		S.online.delete(ev.email);
	listsRender();
	const r = S.cur && S.rooms.get(S.cur.id);
	if (r && r.members.includes(ev.email))
		roomOnlineQuery();
}

async function liveConnected(sentLastSeen) {
	S.connectedOnce = true;
	outboxFlush();
	await listsLoad().catch(() => {});
	if (S.cur) {
		roomOnlineQuery();
		if (!sentLastSeen)
			roomFetchNewer();
	}
}

async function roomOnlineQuery() {
	const cur = S.cur;
	const p = $('room-online');
	if (!cur)
		return;
	if (!S.live?.connected || S.liveState !== 'online') {
		const text = S.liveState === 'unavailable' ? '' :
		    'Online status unknown: not connected';
		// Said once (the region is live), not at every retry.
		if (p.textContent !== text)
			p.textContent = text;
		p.dataset.presence = 'unknown';
		return;
	}
	try {
		const users = await S.live.ask('get_online_users',
		    { room_id: cur.id });
		if (S.cur !== cur || !Array.isArray(users) ||
		    !S.live?.connected)
			return;
		// The answer is fresher than the dots: update them too.
		const r = S.rooms.get(cur.id);
		if (r) {
			for (const m of r.members)
				S.online.delete(m);
			for (const u of users)
				S.online.add(u.email);
			listsRender();
		}
		clear(p);
		p.dataset.presence = 'known';
		if (users.length === 0) {
			p.textContent = 'Nobody is online';
			return;
		}
		p.append('Online: ');
		users.forEach((u, i) => {
			if (i > 0)
				p.append(', ');
			p.append(element('span', { dir: 'auto',
				text: u.username ?? u.email }));
		});
	} catch {
		p.textContent = '';
		delete p.dataset.presence;
	}
}

// ----- the open room ---------------------------------------------------

function roomShowNone() {
	$('room-none').hidden = false;
	$('room-head').hidden = true;
	$('messages').hidden = true;
	$('composer').hidden = true;
	document.body.classList.remove('in-room');
}

async function roomOpen(id) {
	const cur = { id, els: new Map(), oldest: null, newest: null,
		hasMore: true, loading: false, stick: true, endTop: null };
	S.cur = cur;
	S.unread.delete(id);
	listsRender();
	$('room-none').hidden = true;
	$('room-head').hidden = false;
	$('messages').hidden = false;
	$('composer').hidden = false;
	$('older').hidden = true;
	$('history-start').hidden = true;
	$('send-error').textContent = '';
	$('room-online').textContent = '';
	delete $('room-online').dataset.presence;
	$('room-title').textContent = roomName(id);
	document.title = `${roomName(id)} · Chat`;
	document.body.classList.add('in-room');
	clear($('message-list'));
	for (const o of S.outbox.values())
		if (o.room_id === id)
			$('message-list').append(o.li);
	$('msg').focus();
	try {
		const room = await api('GET', `/chat/chat_rooms/${encodeURIComponent(id)}`);
		if (S.cur !== cur)
			return;
		S.rooms.set(id, Object.assign(S.rooms.get(id) ?? {}, room,
		    { messages: undefined }));
		cur.hasMore = room.messages.length >= PAGE;
		for (const m of room.messages)
			messageAdd(m);
		olderShow();
		messagesScrollEnd();
	} catch (e) {
		if (S.cur === cur)
			$('send-error').textContent = errorText(e);
	}
	roomOnlineQuery();
}

function olderShow() {
	const cur = S.cur;
	$('older').hidden = !cur || !cur.hasMore;
	$('history-start').hidden = !cur || cur.hasMore || cur.els.size === 0;
}

async function roomLoadOlder() {
	const cur = S.cur;
	if (!cur || cur.loading || !cur.hasMore || cur.oldest === null)
		return;
	cur.loading = true;
	const box = $('messages');
	try {
		const msgs = await api('GET', `/chat/chat_rooms/${encodeURIComponent(cur.id)}/messages`,
		    { query: { before: String(cur.oldest), limit: PAGE } });
		if (S.cur !== cur)
			return;
		const h = box.scrollHeight;
		for (const m of msgs)
			messageAdd(m);
		cur.hasMore = msgs.length >= PAGE;
		olderShow();
		box.scrollTop += box.scrollHeight - h;
	} catch (e) {
		$('send-error').textContent = errorText(e);
	} finally {
		cur.loading = false;
	}
}

// Fetch what the open room got since its newest message (after a
// reconnect without catch-up, a cut-short catch-up, or while polling).
async function roomFetchNewer() {
	const cur = S.cur;
	if (!cur || cur.fetching)
		return;
	cur.fetching = true;
	try {
		for (let i = 0; i < 20; i++) {
			const q = { limit: 100 };
			if (cur.newest !== null)
				q.after = String(cur.newest);
			const msgs = await api('GET', `/chat/chat_rooms/${encodeURIComponent(cur.id)}/messages`,
			    { query: q });
			if (S.cur !== cur)
				return;
			const end = messagesNearEnd();
			for (const m of msgs)
				messageAdd(m);
			if (end)
				messagesScrollEnd();
			if (msgs.length < 100 || cur.newest === null)
				break;
		}
	} catch {
		// Offline: the next reconnect or poll tries again.
	} finally {
		cur.fetching = false;
	}
}

// Without a live connection, look for new messages now and then.
function pollTick() {
	if (S.cur && S.token && !S.live?.connected && navigator.onLine)
		roomFetchNewer();
}

function messagesNearEnd() {
	const b = $('messages');
	return b.scrollHeight - b.scrollTop - b.clientHeight < 80;
}

// Scroll to the newest message and stay there (see composerWire).
function messagesScrollEnd() {
	const b = $('messages');
	b.scrollTop = b.scrollHeight;
	if (S.cur) {
		S.cur.endTop = b.scrollTop;
		S.cur.stick = true;
	}
}

// ----- messages --------------------------------------------------------

function messageEl(m) {
	const mine = m.sender_id === S.me?.id;
	const who = m.sender_username ?? m.sender ?? '';
	const full = mine ? fullName(S.me) : '';
	const media = mediaUrl(m.media_url);
	let attach = null;
	if (media && isImageUrl(media))
		attach = element('a', { href: media, target: '_blank',
			rel: 'noopener', class: 'media' },
		element('img', { src: media, alt: `Image sent by ${who}`,
			loading: 'lazy', decoding: 'async' }));
	else if (media)
		attach = element('a', { href: media, target: '_blank',
			rel: 'noopener', class: 'file', download: true,
			text: `Download attached file (${media.split('.').pop()})` });
	return element('li', { class: mine ? 'msg mine' : 'msg',
		'data-id': m.id },
	element('div', { class: 'meta' },
		full ? element('span', { class: 'sender-full', dir: 'auto',
			text: full }) : null,
		element('span', { class: 'sender', dir: 'auto', text: who }),
		' ',
		element('time', { datetime: m.timestamp, title: m.timestamp,
			text: timeText(m.timestamp) })),
	m.content ? element('p', { class: 'text', dir: 'auto',
		text: m.content }) : null,
	attach);
}

// Show one message (from any source) once, in id order.
function messageAdd(m) {
	if (!m || typeof m.id !== 'string' || typeof m.room_id !== 'string')
		return;
	seen(m.id);
	const cur = S.cur;
	if (!cur || cur.id !== m.room_id) {
		// A room made by someone else arrives with its first
		// message: that one is unread too, shown once the list has
		// the room.
		if (m.sender_id !== S.me?.id && !messageKnown(m)) {
			S.unread.set(m.room_id, (S.unread.get(m.room_id) ?? 0) + 1);
			messageRemember(m);
		}
		if (!S.rooms.has(m.room_id) && !S.privates.has(m.room_id)) {
			listsReloadSoon();
			return;
		}
		const p = S.privates.get(m.room_id);
		if (p)
			p.last_message = m;
		listsBump(m.room_id);
		listsRender();
		return;
	}
	if (cur.els.has(m.id))
		return;
	const id = big(m.id);
	const end = messagesNearEnd();
	const li = messageEl(m);
	const list = $('message-list');
	// Walk back from the newest: most messages are appended.
	let after = null;
	for (let n = list.lastElementChild; n; n = n.previousElementSibling) {
		if (!n.dataset.id)
			continue;
		if (big(n.dataset.id) < id)
			break;
		after = n;
	}
	if (after)
		list.insertBefore(li, after);
	else
		list.insertBefore(li, list.querySelector('li.pending'));
	cur.els.set(m.id, li);
	if (cur.oldest === null || id < cur.oldest)
		cur.oldest = id;
	if (cur.newest === null || id > cur.newest)
		cur.newest = id;
	// Our own message confirmed: the pending copy goes.
	if (m.client_id && S.outbox.has(m.client_id) &&
	    m.sender_id === S.me?.id) {
		S.outbox.get(m.client_id).li.remove();
		S.outbox.delete(m.client_id);
	}
	const p = S.privates.get(m.room_id);
	if (p && (!p.last_message || big(p.last_message.id) < id))
		p.last_message = m;
	if (end || m.sender_id === S.me?.id)
		messagesScrollEnd();
	olderShow();
}

// Ids counted as unread in rooms not open, so a replay counts once.
const unreadSeen = new Set();
function messageKnown(m) {
	return unreadSeen.has(m.id);
}
function messageRemember(m) {
	unreadSeen.add(m.id);
}

// ----- sending ---------------------------------------------------------

function pendingEl(o) {
	const li = element('li', { class: 'msg mine pending',
		'data-client-id': o.client_id },
	element('div', { class: 'meta' },
		fullName(S.me) ? element('span', { class: 'sender-full',
			dir: 'auto', text: fullName(S.me) }) : null,
		element('span', { class: 'sender', dir: 'auto',
			text: S.me?.username ?? '' }),
		' ',
		element('span', { class: 'state', text: 'Sending…' })),
	o.content ? element('p', { class: 'text', dir: 'auto',
		text: o.content }) : null,
	o.media_url ? element('p', { class: 'hint', text: 'With an attached file' }) :
	    null);
	return li;
}

function pendingState(o, text, retry) {
	const st = o.li.querySelector('.state');
	st.textContent = text;
	o.li.querySelector('button')?.remove();
	if (retry)
		o.li.append(element('button', { type: 'button', class: 'retry',
			text: 'Retry sending', onclick: () => outboxSend(o) }));
}

// Send one pending message: over the socket when live (acknowledged),
// else over REST. The client_id makes a repeat harmless.
async function outboxSend(o) {
	if (o.busy)
		return;
	o.busy = true;
	pendingState(o, 'Sending…', false);
	const body = { room_id: o.room_id, content: o.content,
		client_id: o.client_id };
	if (o.media_url)
		body.media_url = o.media_url;
	try {
		let msg;
		if (S.live?.connected) {
			let ack;
			try {
				ack = await S.live.ask('chat_message', body);
			} catch {
				ack = null;	// no answer in time: try REST
			}
			if (ack?.status === 'received')
				msg = ack.message;
			else if (ack?.status === 'error')
				throw new ApiError(422, String(ack.detail));
		}
		if (!msg) {
			const { room_id: rid, ...rest } = body;
			msg = await api('POST', `/chat/chat_rooms/${encodeURIComponent(rid)}/messages`,
			    { json: rest });
		}
		S.outbox.delete(o.client_id);
		o.li.remove();
		messageAdd(msg);
	} catch (e) {
		if (e instanceof ApiError)
			pendingState(o, `Not sent: ${e.message}`, true);
		else
			pendingState(o, 'Waiting for the connection…', true);
	} finally {
		o.busy = false;
	}
}

function outboxFlush() {
	for (const o of S.outbox.values())
		if (!o.busy)
			outboxSend(o);
}

async function composerSubmit() {
	const cur = S.cur;
	const text = $('msg').value;
	const file = $('file').files[0];
	if (!cur || (!text.trim() && !file))
		return;
	$('send-error').textContent = '';
	let media;
	if (file) {
		const fd = new FormData();
		fd.append('file', file, file.name);
		$('send').disabled = true;
		try {
			const up = await api('POST', '/chat/upload_media/',
			    { body: fd });
			media = mediaUrl(up.file_url);
		} catch (e) {
			$('send-error').textContent = `Upload failed: ${errorText(e)}`;
			return;
		} finally {
			$('send').disabled = false;
		}
		attachmentClear();
	}
	$('msg').value = '';
	composerResize();
	const o = { client_id: clientId(), room_id: cur.id,
		content: text.trim() ? text : '', media_url: media };
	o.li = pendingEl(o);
	S.outbox.set(o.client_id, o);
	$('message-list').append(o.li);
	messagesScrollEnd();
	outboxSend(o);
}

function attachmentClear() {
	$('file').value = '';
	$('attachment').hidden = true;
	$('attachment-name').textContent = '';
}

function composerResize() {
	const t = $('msg');
	t.style.height = 'auto';
	t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
}

function composerWire() {
	$('composer').addEventListener('submit', (ev) => {
		ev.preventDefault();
		composerSubmit();
	});
	$('msg').addEventListener('keydown', (ev) => {
		if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
			ev.preventDefault();
			composerSubmit();
		}
	});
	$('msg').addEventListener('input', composerResize);
	$('file').addEventListener('change', () => {
		const f = $('file').files[0];
		$('attachment').hidden = !f;
		$('attachment-name').textContent = f ? f.name : '';
	});
	$('attachment-remove').addEventListener('click', () => {
		attachmentClear();
		$('msg').focus();
	});
	$('older').addEventListener('click', roomLoadOlder);
	// The reader stays at the end unless they scroll away from it. The
	// event of our own scroll to the end may come after more content
	// (an image) has grown: that one does not count as scrolling away.
	$('messages').addEventListener('scroll', () => {
		const top = $('messages').scrollTop;
		if (S.cur)
			S.cur.stick = top === S.cur.endTop || messagesNearEnd();
		if (top < 48)
			roomLoadOlder();
	}, { passive: true });
	// While the reader is at the end, the newest message stays in view
	// whatever grows: an image that loads, the composer, the window.
	const grown = new ResizeObserver(() => {
		if (S.cur?.stick)
			messagesScrollEnd();
	});
	grown.observe($('messages'));
	grown.observe($('message-list'));
	$('back').addEventListener('click', () => {
		const id = S.cur?.id;
		S.cur = null;
		roomShowNone();
		listsRender();
		if (id)
			document.querySelector(`[data-room-id="${CSS.escape(id)}"]`)
			    ?.focus();
	});
}

// ----- start -----------------------------------------------------------

formsAuthWire();
formsNewWire();
composerWire();
S.token = localStorage.getItem(TOKEN_KEY);
if (S.token)
	sessionStart();
else
	authShow();
