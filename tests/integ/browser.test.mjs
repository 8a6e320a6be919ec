// SPDX-License-Identifier: ISC
// test-timeout: 300
//
// The browser client end to end, in headless Debian chromium against the
// real stack, every page served with the web server's
// Content-Security-Policy (nothing it blocks may happen): two people (one
// at 1200x800, one at phone size 390x844) sign up with full names (shown
// in the header, one of them Persian), make a room and a private chat
// (picked by e-mail), talk both ways in real time, see the badge of a room
// someone else made, watch each other's online dot go off and on and their
// own presence turn unknown while their browser is offline, open a room
// whose images load late and still see its newest message above the
// composer, send an image and a PDF, page back through history, lose the
// network and get what they missed once, see markup (in a message, a room
// name, a file name) and right-to-left text shown as text, stay signed in
// across a reload, and open a chat and send with the keyboard alone.
// /docs and /api.html are checked under the same policy. Every control
// is found by its accessible name (getByRole/getByLabel): that is the
// accessibility check. Screenshots of each step go to the folder printed
// at the start.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { startStack } from './lib/stack.mjs';
import { call, post, uniq } from './lib/api.mjs';
import { watchCsp, launch, shots, vendorCheck } from './lib/browser.mjs';
import { upload } from './lib/media.mjs';

const WAIT = 15000;

let st;
let browser;
let shot;
const people = {};
const dialogs = [];
const pageErrors = [];
const cspErrors = [];

// Poll fn() until it returns a truthy value or "ms" pass.
async function until(fn, what, ms = WAIT) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e;
		}
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what} ` +
			    `(last: ${last})`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

// A w x h RGBA PNG of one colour, made here (no fixture file).
function png(w, h, rgba) {
	const crcTable = Array.from({ length: 256 }, (_, n) => {
		let c = n;
		for (let k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		return c >>> 0;
	});
	const crc = (buf) => {
		let c = 0xffffffff;
		for (const b of buf)
			c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
		return (c ^ 0xffffffff) >>> 0;
	};
	const chunk = (type, data) => {
		const len = Buffer.alloc(4);
		len.writeUInt32BE(data.length);
		const td = Buffer.concat([Buffer.from(type), data]);
		const c = Buffer.alloc(4);
		c.writeUInt32BE(crc(td));
		return Buffer.concat([len, td, c]);
	};
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(h, 4);
	ihdr[8] = 8;	// bit depth
	ihdr[9] = 6;	// RGBA
	const row = Buffer.concat([Buffer.from([0]),
		...Array(w).fill(Buffer.from(rgba))]);
	const raw = Buffer.concat(Array(h).fill(row));
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)),
		chunk('IEND', Buffer.alloc(0))]);
}

// A minimal PDF file.
function pdf() {
	return Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n' +
	    'trailer\n<< /Root 1 0 R >>\n%%EOF\n');
}

// A person: a browser context of its own (own localStorage) and a page,
// served under the pages' Content-Security-Policy. "full" is the full name
// given at signup.
async function person(name, viewport, full) {
	const ctx = await browser.newContext({ viewport });
	const page = await ctx.newPage();
	const served = await watchCsp(page, name, cspErrors);
	page.on('dialog', (d) => {
		dialogs.push(`${name}: ${d.type()} ${d.message()}`);
		d.dismiss().catch(() => {});
	});
	page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
	// What the server sent over Socket.IO, by WebSocket or polling.
	const sio = [];
	page.on('websocket', (ws) => ws.on('framereceived',
	    (f) => sio.push(String(f.payload))));
	page.on('response', async (r) => {
		if (r.url().includes('/socket.io/') &&
		    r.request().method() === 'GET')
			sio.push(await r.text().catch(() => ''));
	});
	const username = uniq(name);
	const p = { name, ctx, page, username, sio, served, full,
		email: `${username.toLowerCase()}@example.com`,
		password: `pw-${uniq('x')}` };
	people[name] = p;
	return p;
}

function connState(p) {
	return p.page.getByRole('status');
}

async function waitLive(p) {
	await until(async () => (await connState(p).textContent()) === 'Live',
	    `${p.name} to be live`);
}

function messageBox(p) {
	return p.page.getByRole('textbox', { name: 'Message', exact: true });
}

// The message items of the open room that hold "text".
function messageItems(p, text) {
	return p.page.getByRole('log', { name: 'Messages' })
	    .getByRole('listitem').filter({ hasText: text });
}

async function send(p, text) {
	await messageBox(p).fill(text);
	await messageBox(p).press('Enter');
}

// Wait until "text" shows in exactly one confirmed message of p's room.
async function seesOnce(p, text) {
	await until(async () => await messageItems(p, text)
	    .and(p.page.locator('li[data-id]')).count() === 1,
	`${p.name} to see "${text}"`);
}

// The ids of the messages shown, in order; they must all differ.
async function shownIds(p) {
	const ids = await p.page.locator('#message-list li[data-id]')
	    .evaluateAll((els) => els.map((e) => e.dataset.id));
	assert.equal(new Set(ids).size, ids.length,
	    `${p.name} shows a message twice: ${ids}`);
	return ids;
}

// The item of the chat named "name" in p's list "list" ('Rooms' or
// 'Private chats').
function chatButton(p, list, name) {
	return p.page.getByRole('list', { name: list })
	    .getByRole('button', { name });
}

// The online dot of that item: 'on', 'off' or 'unknown' (not connected).
async function dotState(p, list, name) {
	const btn = chatButton(p, list, name);
	const cls = await btn.locator('.dot').getAttribute('class');
	const state = /\bon\b/.test(cls) ? 'on' :
	    /\bunknown\b/.test(cls) ? 'unknown' : 'off';
	// Screen readers get the same through the hidden text.
	const said = await btn.locator('.visually-hidden').first().textContent();
	assert.equal(said, { on: ', online', off: ', offline',
		unknown: ', online status unknown' }[state]);
	return state;
}

// Whether the online dot of that item is on (green).
async function dotOn(p, list, name) {
	return await dotState(p, list, name) === 'on';
}

// The box of a locator in CSS pixels of the viewport.
async function box(loc) {
	const b = await loc.boundingBox();
	assert.ok(b, 'element has no box');
	return { top: b.y, bottom: b.y + b.height, left: b.x,
		right: b.x + b.width, height: b.height };
}

function overlap(a, b) {
	return a.left < b.right && b.left < a.right && a.top < b.bottom &&
	    b.top < a.bottom;
}

// Nothing wider than the viewport (a layout that broke scrolls sideways).
async function noSideScroll(p) {
	const [sw, w] = await p.page.evaluate(() =>
	    [document.documentElement.scrollWidth, window.innerWidth]);
	assert.ok(sw <= w, `${p.name}: page ${sw}px wide in ${w}px`);
}

// Inline script that the pages' CSP would refuse, in "page": script
// elements without src, on* attributes, javascript: URLs.
async function inlineScript(page) {
	return page.evaluate(() => {
		const bad = [];
		for (const e of document.querySelectorAll('*')) {
			if (e.localName === 'script' && !e.hasAttribute('src'))
				bad.push('<script> without src');
			for (const a of e.attributes)
				if (/^on/i.test(a.name) ||
				    /^\s*javascript:/i.test(a.value))
					bad.push(`${e.localName} ${a.name}="${a.value}"`);
		}
		return bad;
	});
}

// Go to the list of chats (at phone width the list and a room take turns).
async function toList(p) {
	const back = p.page.getByRole('button', { name: 'Back to chats' });
	if (await back.isVisible())
		await back.click();
}

async function openRoom(p, name) {
	// At phone width the list and the room take turns.
	const back = p.page.getByRole('button', { name: 'Back to chats' });
	if (await back.isVisible())
		await back.click();
	const btn = p.page.getByRole('navigation', { name: 'Chats' })
	    .getByRole('button', { name });
	await until(() => btn.isVisible(), `${p.name} to list "${name}"`);
	await btn.click();
	await p.page.getByRole('heading', { name, exact: true })
	    .waitFor({ timeout: WAIT });
}

before(async () => {
	vendorCheck();
	st = await startStack();
	browser = await launch();
	const s = shots('browser');
	shot = s.shot;
	console.log(`screenshots: ${s.dir}`);
});

after(async () => {
	await browser?.close();
	await st?.stop();
});

test('two people sign up through the forms', async () => {
	const a = await person('ann', { width: 1200, height: 800 },
	    'Ann Example');
	const b = await person('bob', { width: 390, height: 844 },
	    'بابک رضایی');
	for (const p of [a, b]) {
		await p.page.goto(`${st.url}/`);
		const form = p.page.getByRole('form', { name: 'Sign up' });
		await form.getByLabel('Username').fill(p.username);
		await form.getByLabel('Email').fill(p.email);
		await form.getByLabel('Password').fill(p.password);
		await form.getByLabel('Full name (optional)').fill(p.full);
		if (p === a)
			await shot(p.page, 'signup-form');
		await form.getByRole('button', { name: 'Sign up' }).click();
		await p.page.getByRole('button', { name: 'Log out' })
		    .waitFor({ timeout: WAIT });
		await waitLive(p);
		assert.ok(await p.page.evaluate(() =>
		    localStorage.getItem('chat.token')));
		await shot(p.page, `${p.name}-signed-up`);
	}
});

test('the full name given at signup shows in the header, RTL too',
    async () => {
	for (const p of Object.values(people)) {
		const full = p.page.locator('#me-full');
		await until(async () => await full.isVisible() &&
		    await full.textContent() === p.full,
		`${p.name} to see the full name in the header`);
		assert.equal(await full.getAttribute('dir'), 'auto');
		assert.equal(await p.page.locator('#me-name').textContent(),
		    p.username);
		// Persian reads right to left inside the LTR header.
		assert.equal(await full.evaluate((e) =>
		    getComputedStyle(e).direction),
		p.full === 'Ann Example' ? 'ltr' : 'rtl');
		const me = await box(p.page.locator('#me'));
		const out = await box(p.page.getByRole('button',
		    { name: 'Log out' }));
		assert.ok(!overlap(me, out), `${p.name}: name over Log out`);
		assert.ok(me.height < 2 * 24, `${p.name}: header name wraps`);
		await noSideScroll(p);
		await shot(p.page, `${p.name}-full-name-in-header`);
	}
});

// The members hint of the open "Create room" form of p: under its field,
// on one line, above the button (not running on beside it).
async function hintAboveButton(p) {
	const form = p.page.getByRole('form', { name: 'Create room' });
	const hint = form.locator('#members-help');
	const btn = form.getByRole('button', { name: 'Create room' });
	await btn.waitFor();
	await form.getByLabel('Room name').fill('اتاق تازه');
	await shot(p.page, `${p.name}-create-room-form`);
	assert.equal(await form.getByLabel('Room name')
	    .evaluate((e) => getComputedStyle(e).direction), 'rtl');
	const h = await box(hint);
	const b = await box(btn);
	const m = await box(form.getByLabel('Members'));
	assert.ok(h.bottom <= b.top, `${p.name}: the hint (bottom ` +
	    `${h.bottom}) runs beside the button (top ${b.top})`);
	assert.ok(h.top >= m.bottom, `${p.name}: hint above its field`);
	const line = await hint.evaluate((e) =>
	    parseFloat(getComputedStyle(e).lineHeight) ||
	    parseFloat(getComputedStyle(e).fontSize) * 1.4);
	assert.ok(h.height < 1.5 * line, `${p.name}: the hint wraps`);
	await noSideScroll(p);
	await form.getByLabel('Room name').fill('');
}

test('the members hint has a line of its own above Create room',
    async () => {
	for (const p of Object.values(people)) {
		await toList(p);
		await p.page.getByText('New chat or room').click();
		try {
			await hintAboveButton(p);
		} finally {
			await p.page.locator('#new-chat').evaluate((d) => {
				d.open = false;
			});
		}
	}
});

test('a room made with members by username, messages both ways live',
    async () => {
	const { ann: a, bob: b } = people;
	a.room = `Team ${uniq('r')}`;
	await a.page.getByText('New chat or room').click();
	const form = a.page.getByRole('form', { name: 'Create room' });
	await form.getByLabel('Room name').fill(a.room);
	await form.getByLabel('Members').fill(b.username);
	await shot(a.page, 'create-room');
	await form.getByRole('button', { name: 'Create room' }).click();
	await a.page.getByRole('heading', { name: a.room, exact: true })
	    .waitFor({ timeout: WAIT });

	await send(a, 'hello bob');
	await seesOnce(a, 'hello bob');
	// Bob's list learns of the room from the live message.
	await openRoom(b, a.room);
	await seesOnce(b, 'hello bob');
	const item = messageItems(b, 'hello bob');
	assert.equal(await item.locator('.sender').textContent(), a.username);
	assert.match(await item.locator('time').getAttribute('datetime'),
	    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
	assert.ok((await item.locator('time').textContent()).length > 0);
	await shot(b.page, 'bob-sees-hello');

	await send(b, 'hi ann, bob here');
	await seesOnce(a, 'hi ann, bob here');
	await send(a, 'second from ann');
	await seesOnce(b, 'second from ann');
	await shownIds(a);
	await shownIds(b);
	await shot(a.page, 'ann-conversation');
	await shot(b.page, 'bob-conversation');
	// Ann's own messages carry her full name beside her username.
	assert.equal(await messageItems(a, 'hello bob')
	    .locator('.sender-full').textContent(), a.full);
	assert.equal(await messageItems(a, 'hello bob')
	    .locator('.sender').textContent(), a.username);
});

test('who is online: room list dot and the room header', async () => {
	const { ann: a, bob: b } = people;
	await until(async () => /Online: .*/.test(
	    await a.page.locator('#room-online').textContent()) &&
	    (await a.page.locator('#room-online').textContent())
		.includes(b.username), 'ann to see bob online in the room');
	const dot = a.page.getByRole('button', { name: a.room })
	    .locator('.dot');
	assert.match(await dot.getAttribute('class'), /\bon\b/);
});

test('a private chat started by e-mail: both list it, talk both ways',
    async () => {
	const { ann: a, bob: b } = people;
	await a.page.getByText('New chat or room').click();
	const form = a.page.getByRole('form', { name: 'Start a private chat' });
	await form.getByLabel('Person (email or username)').fill(b.email);
	await shot(a.page, 'start-private-chat');
	await form.getByRole('button', { name: 'Start private chat' }).click();
	await a.page.getByRole('heading', { name: b.username, exact: true })
	    .waitFor({ timeout: WAIT });
	await chatButton(a, 'Private chats', b.username).waitFor();
	// Not among the rooms.
	assert.equal(await chatButton(a, 'Rooms', b.username).count(), 0);
	await send(a, 'private hello');
	await seesOnce(a, 'private hello');
	// Bob's private chats list it once the first message arrives.
	const back = b.page.getByRole('button', { name: 'Back to chats' });
	if (await back.isVisible())
		await back.click();
	const item = chatButton(b, 'Private chats', a.username);
	await until(() => item.isVisible(), 'bob to list the private chat');
	await shot(b.page, 'bob-lists-private-chat');
	await item.click();
	await b.page.getByRole('heading', { name: a.username, exact: true })
	    .waitFor({ timeout: WAIT });
	await seesOnce(b, 'private hello');
	await send(b, 'private reply');
	await seesOnce(a, 'private reply');
	await shownIds(a);
	await shownIds(b);
	await shot(a.page, 'ann-private-conversation');
});

// "from" makes a room for "to" over REST (as another device would) and
// writes in it: "to" lists it live with an unread badge of 1, its Persian
// name right to left beside the badge; opening it reads it.
async function newRoomBadged(from, to) {
	const token = await from.page.evaluate(() =>
	    localStorage.getItem('chat.token'));
	const name = `گروه تازه ${uniq('n')}`;
	const r = await call(st.url, 'POST', '/chat/chat_rooms/', { token,
		json: { name, members: [to.email] } });
	assert.equal(r.status, 201);
	await toList(to);
	const m = await post(st.url, { token }, r.body.id,
	    'سلام، اولین پیام');
	assert.equal(m.status, 201);
	const item = chatButton(to, 'Rooms', name);
	await until(() => item.isVisible(), `${to.name} to list it`);
	const badge = item.locator('.badge');
	await until(() => badge.isVisible(),
	    `${to.name} to see the badge`);
	assert.equal(await badge.textContent(), '1');
	assert.equal(await item.locator('.visually-hidden',
	    { hasText: 'new' }).textContent(), ', 1 new');
	// The Persian name reads right to left and keeps clear of the
	// badge and the dot.
	const nameEl = item.locator('.chat-name');
	assert.equal(await nameEl.getAttribute('dir'), 'auto');
	assert.equal(await nameEl.evaluate((e) =>
	    getComputedStyle(e).direction), 'rtl');
	assert.ok(!overlap(await box(nameEl), await box(badge)),
	    `${to.name}: name over badge`);
	assert.ok(!overlap(await box(nameEl),
	    await box(item.locator('.dot'))), `${to.name}: name over dot`);
	await noSideScroll(to);
	await shot(to.page, `${to.name}-new-room-badge`);
	// Opening it reads it.
	await item.click();
	await seesOnce(to, 'سلام، اولین پیام');
	await toList(to);
	await until(async () => await chatButton(to, 'Rooms', name)
	    .locator('.badge').count() === 0, `${to.name}: badge gone`);
}

test('a room someone else made arrives with an unread badge of 1, RTL',
    async () => {
	const { ann: a, bob: b } = people;
	try {
		for (const [from, to] of [[a, b], [b, a]])
			await newRoomBadged(from, to);
	} finally {
		await openRoom(a, a.room);
		await openRoom(b, a.room);
	}
});

test('a peer\'s online dot goes off while it is offline, on once back',
    async () => {
	const { ann: a, bob: b } = people;
	await until(() => dotOn(a, 'Private chats', b.username),
	    'bob\'s dot on');
	assert.ok(await dotOn(a, 'Rooms', a.room));
	await b.ctx.setOffline(true);
	await until(async () => !await dotOn(a, 'Private chats', b.username),
	    'bob\'s dot to go off');
	await until(async () => !await dotOn(a, 'Rooms', a.room),
	    'the room\'s dot to go off');
	await shot(a.page, 'ann-sees-bob-offline');
	await b.ctx.setOffline(false);
	await waitLive(b);
	await until(() => dotOn(a, 'Private chats', b.username),
	    'bob\'s dot back on');
	await until(() => dotOn(a, 'Rooms', a.room), 'the room\'s dot on');
	await shot(a.page, 'ann-sees-bob-online-again');
	// Back to the first room for the tests below.
	await openRoom(a, a.room);
	await openRoom(b, a.room);
});

test('own browser offline: presence unknown, never green; back on reconnect',
    async () => {
	const { ann: a, bob: b } = people;
	const online = (p) => p.page.locator('#room-online');
	await until(async () => (await online(a).textContent())
	    .includes(b.username), 'ann to see bob online in the room');
	await until(() => dotOn(a, 'Private chats', b.username),
	    'bob\'s dot on for ann');
	await a.ctx.setOffline(true);
	await b.ctx.setOffline(true);
	try {
		for (const p of [a, b])
			await until(async () => /Offline/.test(await connState(p)
			    .textContent()), `${p.name} to show offline`);
		// Ann's dots no longer claim anyone is online, and say why.
		await until(async () => await dotState(a, 'Private chats',
		    b.username) === 'unknown', 'ann: bob\'s dot unknown');
		assert.equal(await dotState(a, 'Rooms', a.room), 'unknown');
		assert.equal(await a.page.locator('.chat-list .dot.on').count(), 0);
		for (const p of [a, b]) {
			await until(async () => /unknown/.test(
			    await online(p).textContent()), `${p.name}: room header`);
			assert.doesNotMatch(await online(p).textContent(), /^Online:/);
			await shot(p.page, `${p.name}-offline-presence-unknown`);
		}
		// At phone width the list says so too.
		await toList(b);
		assert.equal(await dotState(b, 'Private chats', a.username),
		    'unknown');
		assert.equal(await b.page.locator('.chat-list .dot.on').count(), 0);
		await shot(b.page, 'bob-offline-list-unknown');
	} catch (e) {
		// Bob back in the room for the tests below.
		await openRoom(b, a.room);
		throw e;
	} finally {
		await a.ctx.setOffline(false);
		await b.ctx.setOffline(false);
	}
	await waitLive(a);
	await waitLive(b);
	await until(() => dotOn(a, 'Private chats', b.username),
	    'bob\'s dot back on');
	await until(() => dotOn(a, 'Rooms', a.room), 'the room\'s dot on');
	await until(async () => /^Online: .*/.test(await online(a)
	    .textContent()) && (await online(a).textContent())
	    .includes(b.username), 'ann: Online: bob again');
	await shot(a.page, 'ann-online-presence-back');
	await until(() => dotOn(b, 'Private chats', a.username),
	    'ann\'s dot back on');
	await openRoom(b, a.room);
	await until(async () => (await online(b).textContent())
	    .includes(a.username), 'bob: Online: ann again');
	await shot(b.page, 'bob-online-presence-back');
});

test('an image shows inline, another file as a link', async () => {
	const { ann: a, bob: b } = people;
	await a.page.getByLabel('Attach file', { exact: true }).setInputFiles({
		name: 'red.png', mimeType: 'image/png',
		buffer: png(24, 16, [220, 30, 30, 255]) });
	await a.page.getByRole('button', { name: 'Remove attachment' })
	    .waitFor();
	await send(a, 'a red square');
	await seesOnce(b, 'a red square');
	const img = messageItems(b, 'a red square')
	    .getByRole('img', { name: `Image sent by ${a.username}` });
	await img.waitFor({ timeout: WAIT });
	assert.match(await img.getAttribute('src'), /^\/media\/[0-9a-f]{32}\.png$/);
	await until(() => img.evaluate((e) => e.complete &&
	    e.naturalWidth === 24 && e.naturalHeight === 16),
	'the image to load at 24x16');
	await shot(b.page, 'bob-sees-image');

	await a.page.getByLabel('Attach file', { exact: true }).setInputFiles({
		name: 'notes.pdf', mimeType: 'application/pdf', buffer: pdf() });
	await messageBox(a).press('Enter');
	const link = b.page.getByRole('link',
	    { name: 'Download attached file (pdf)' });
	await link.waitFor({ timeout: WAIT });
	assert.match(await link.getAttribute('href'), /^\/media\/[0-9a-f]{32}\.pdf$/);
	await shot(b.page, 'bob-sees-file-link');
});

// p opens room "name", whose picture arrives only after the room is drawn
// (as on a slow network): once it is in, the newest message is still in
// view above the composer.
async function lateImageRoom(p, name) {
	let release;
	const held = new Promise((res) => {
		release = res;
	});
	let asked = false;
	await p.page.route('**/media/*.png', async (route) => {
		asked = true;
		await held;
		await route.continue();
	});
	try {
		await openRoom(p, name);
		await seesOnce(p, 'after the picture');
		await until(() => asked, `${p.name}: the image requested`);
		release();
		const img = messageItems(p, 'a tall picture').getByRole('img');
		await until(() => img.evaluate((e) => e.complete &&
		    e.naturalHeight === 360), `${p.name}: the image loaded`);
		const last = messageItems(p, 'after the picture');
		const composer = p.page.getByRole('form',
		    { name: 'Send a message' });
		await until(async () => (await box(last)).bottom <=
		    (await box(composer)).top, `${p.name}: the newest message ` +
		    'above the composer');
		assert.ok((await box(last)).top >=
		    (await box(p.page.locator('#messages'))).top);
	} finally {
		release();
		await shot(p.page, `${p.name}-room-with-image-opened`);
		await p.page.unroute('**/media/*.png');
	}
}

test('a room whose images load late opens with its newest message in view',
    async () => {
	const { ann: a, bob: b } = people;
	const token = await a.page.evaluate(() =>
	    localStorage.getItem('chat.token'));
	const name = `Pictures ${uniq('p')}`;
	const r = await call(st.url, 'POST', '/chat/chat_rooms/', { token,
		json: { name, members: [b.email] } });
	assert.equal(r.status, 201);
	for (let i = 1; i <= 12; i++)
		assert.equal((await post(st.url, { token }, r.body.id,
		    `before the picture ${i}`)).status, 201);
	const up = await upload(st.url, token, png(240, 360,
	    [30, 90, 200, 255]), { filename: 'tall.png' });
	assert.equal(up.status, 201);
	assert.equal((await post(st.url, { token }, r.body.id,
	    'a tall picture', { media_url: up.body.file_url })).status, 201);
	assert.equal((await post(st.url, { token }, r.body.id,
	    'after the picture')).status, 201);
	try {
		for (const p of [a, b])
			await lateImageRoom(p, name);
	} finally {
		await openRoom(a, a.room);
		await openRoom(b, a.room);
	}
});

test('markup in a message is shown as text, never run', async () => {
	const { ann: a, bob: b } = people;
	const evil = '<img src=x onerror=alert(1)>';
	await send(a, evil);
	await seesOnce(b, evil);
	await b.page.getByText(evil, { exact: true }).waitFor();
	assert.equal(await b.page.locator('img[src="x"]').count(), 0);
	await new Promise((r) => setTimeout(r, 500));
	assert.deepEqual(dialogs, []);
	await shot(b.page, 'bob-sees-markup-as-text');
});

test('markup in a room name and in a file name is shown as text',
    async () => {
	const { ann: a, bob: b } = people;
	const evil = '<img src=x onerror=alert(1)>';
	await a.page.getByText('New chat or room').click();
	const form = a.page.getByRole('form', { name: 'Create room' });
	await form.getByLabel('Room name').fill(evil);
	await form.getByLabel('Members').fill(b.email);
	await form.getByRole('button', { name: 'Create room' }).click();
	await a.page.getByRole('heading', { name: evil, exact: true })
	    .waitFor({ timeout: WAIT });
	await chatButton(a, 'Rooms', evil).waitFor();
	// A file whose name is markup: shown as the pending attachment.
	await a.page.getByLabel('Attach file', { exact: true }).setInputFiles({
		name: `${evil}.pdf`, mimeType: 'application/pdf', buffer: pdf() });
	assert.equal(await a.page.locator('#attachment-name').textContent(),
	    `${evil}.pdf`);
	await shot(a.page, 'ann-markup-room-and-file-name');
	await send(a, 'see the file');
	await seesOnce(a, 'see the file');
	// Bob's list learns of the room from the message. (The private
	// chat's last message is the same markup: pick from the Rooms.)
	const back = b.page.getByRole('button', { name: 'Back to chats' });
	if (await back.isVisible())
		await back.click();
	const item = chatButton(b, 'Rooms', evil);
	await until(() => item.isVisible(), 'bob to list the room');
	await item.click();
	await b.page.getByRole('heading', { name: evil, exact: true })
	    .waitFor({ timeout: WAIT });
	await seesOnce(b, 'see the file');
	await messageItems(b, 'see the file').getByRole('link',
	    { name: 'Download attached file (pdf)' }).waitFor();
	await shot(b.page, 'bob-sees-markup-room-name');
	for (const p of [a, b]) {
		assert.equal(await p.page.locator('img[src="x"]').count(), 0,
		    p.name);
		assert.equal(await p.page.locator('#room-title').textContent(),
		    evil);
	}
	await new Promise((r) => setTimeout(r, 500));
	assert.deepEqual(dialogs, []);
	// Back to the first room for the tests below.
	await openRoom(a, a.room);
	await openRoom(b, a.room);
});

test('right-to-left text gets dir=auto and displays right to left',
    async () => {
	const { ann: a, bob: b } = people;
	const fa = 'سلام، حالت چطوره؟';
	await send(b, fa);
	await seesOnce(a, fa);
	const p = messageItems(a, fa).locator('p.text');
	assert.equal(await p.getAttribute('dir'), 'auto');
	assert.equal(await p.evaluate((e) => getComputedStyle(e).direction),
	    'rtl');
	assert.equal(await messageItems(a, fa).locator('.sender')
	    .getAttribute('dir'), 'auto');
	await shot(a.page, 'ann-sees-persian');
});

test('offline and back: the missed messages appear once, in order',
    async () => {
	const { ann: a, bob: b } = people;
	const before = await shownIds(b);
	await b.ctx.setOffline(true);
	await until(async () => /Offline/.test(await connState(b)
	    .textContent()), 'bob to show offline');
	await shot(b.page, 'bob-offline');
	const missed = ['missed one', 'missed two', 'missed three'];
	for (const t of missed) {
		await send(a, t);
		await seesOnce(a, t);
	}
	// Not delivered while offline.
	assert.equal(await messageItems(b, 'missed').count(), 0);
	const mark = b.sio.length;
	await b.ctx.setOffline(false);
	await waitLive(b);
	for (const t of missed)
		await seesOnce(b, t);
	// They came from the server's catch-up replay, which completed.
	const got = b.sio.slice(mark).join('\n');
	assert.match(got, /"catch_up",\{"complete":true/);
	for (const t of missed)
		assert.ok(got.includes(`"content":"${t}"`), `${t} replayed`);
	const ids = await shownIds(b);
	assert.equal(ids.length, before.length + missed.length);
	const texts = await b.page.locator('#message-list li[data-id] p.text')
	    .allTextContents();
	assert.deepEqual(texts.slice(-3), missed);
	// Still once after a while (no late duplicates from a replay).
	await new Promise((r) => setTimeout(r, 1500));
	assert.equal((await shownIds(b)).length, ids.length);
	await shot(b.page, 'bob-back-online');
	// Live again both ways.
	await send(b, 'back again');
	await seesOnce(a, 'back again');
});

test('older messages load on scrolling up', async () => {
	const { ann: a, bob: b } = people;
	const token = await a.page.evaluate(() =>
	    localStorage.getItem('chat.token'));
	const name = `History ${uniq('h')}`;
	const r = await call(st.url, 'POST', '/chat/chat_rooms/', { token,
		json: { name, members: [b.email] } });
	assert.equal(r.status, 201);
	for (let i = 1; i <= 70; i++) {
		const m = await post(st.url, { token }, r.body.id, `h${i}`);
		assert.equal(m.status, 201);
	}
	await openRoom(b, name);
	await seesOnce(b, 'h70');
	await until(async () => (await shownIds(b)).length === 50,
	    'the latest 50');
	assert.equal(await messageItems(b, /^.*h1$/).count(), 0);
	await b.page.locator('#messages').evaluate((e) => {
		e.scrollTop = 0;
	});
	await until(async () => (await shownIds(b)).length === 70,
	    'the older 20 after scrolling up');
	const texts = await b.page.locator('#message-list li[data-id] p.text')
	    .allTextContents();
	assert.deepEqual(texts, Array.from({ length: 70 }, (_, i) => `h${i + 1}`));
	await b.page.getByText('Start of the conversation').waitFor();
	await shot(b.page, 'bob-history-start');
});

test('keyboard: Tab order through the composer, Enter sends', async () => {
	const { ann: a } = people;
	await a.page.getByRole('button', { name: a.room }).click();
	await a.page.getByLabel('Attach file', { exact: true }).focus();
	await a.page.keyboard.press('Tab');
	assert.equal(await a.page.evaluate(() => document.activeElement.id),
	    'msg');
	await a.page.keyboard.type('typed with the keyboard');
	await a.page.keyboard.press('Tab');
	assert.equal(await a.page.evaluate(() =>
	    document.activeElement.textContent), 'Send');
	await a.page.keyboard.press('Enter');
	await seesOnce(a, 'typed with the keyboard');
});

test('keyboard only: Tab to a chat, Enter opens it, type, Enter sends',
    async () => {
	const { ann: a, bob: b } = people;
	// Start from the top of the page, as after loading it.
	await a.page.evaluate(() => document.activeElement?.blur());
	await a.page.locator('#new-chat > summary').focus();
	let reached = false;
	for (let i = 0; i < 40 && !reached; i++) {
		await a.page.keyboard.press('Tab');
		reached = await a.page.evaluate((name) => {
			const e = document.activeElement;
			return !!e?.dataset?.roomId &&
			    e.querySelector('.chat-name')?.textContent === name;
		}, b.username);
	}
	assert.ok(reached, 'Tab never reached the private chat with bob');
	await shot(a.page, 'ann-keyboard-chat-focused');
	await a.page.keyboard.press('Enter');
	await a.page.getByRole('heading', { name: b.username, exact: true })
	    .waitFor({ timeout: WAIT });
	assert.equal(await a.page.evaluate(() => document.activeElement.id),
	    'msg');
	await a.page.keyboard.type('sent without a mouse');
	await a.page.keyboard.press('Enter');
	await seesOnce(a, 'sent without a mouse');
	await openRoom(b, a.username);
	await seesOnce(b, 'sent without a mouse');
	await shot(a.page, 'ann-keyboard-sent');
});

test('every visible control has a plain accessible name', async () => {
	for (const p of Object.values(people)) {
		const unnamed = await p.page.evaluate(() => {
			const bad = [];
			for (const e of document.querySelectorAll(
			    'button, input, textarea, select, a[href]')) {
				if (e.closest('[hidden]') || (e.type === 'hidden'))
					continue;
				const name = (e.getAttribute('aria-label') ||
				    [...(e.labels ?? [])].map((l) => l.textContent)
					.join(' ') || e.textContent ||
				    [...e.querySelectorAll('img[alt]')]
					.map((i) => i.alt).join(' ') || '').trim();
				if (!/[A-Za-z]{2,}/.test(name))
					bad.push(e.outerHTML.slice(0, 80));
			}
			return bad;
		});
		assert.deepEqual(unnamed, [], `${p.name}: unnamed controls`);
	}
});

test('the token survives a reload: still signed in, live again',
    async () => {
	const { ann: a } = people;
	const token = await a.page.evaluate(() =>
	    localStorage.getItem('chat.token'));
	assert.ok(token);
	await a.page.reload();
	await a.page.getByRole('button', { name: 'Log out' })
	    .waitFor({ timeout: WAIT });
	assert.ok(!await a.page.getByRole('form', { name: 'Log in' })
	    .isVisible());
	assert.equal(await a.page.locator('#me-name').textContent(),
	    a.username);
	await waitLive(a);
	assert.equal(await a.page.evaluate(() =>
	    localStorage.getItem('chat.token')), token);
	await openRoom(a, a.room);
	await seesOnce(a, 'back again');
	await shot(a.page, 'ann-after-reload');
});

test('log out clears the token; log in again by e-mail', async () => {
	const { ann: a } = people;
	await a.page.getByRole('button', { name: 'Log out' }).click();
	const form = a.page.getByRole('form', { name: 'Log in' });
	await form.waitFor();
	assert.equal(await a.page.evaluate(() =>
	    localStorage.getItem('chat.token')), null);
	await shot(a.page, 'ann-logged-out');
	await form.getByLabel('Email or username').fill(a.email);
	await form.getByLabel('Password').fill(a.password);
	await form.getByRole('button', { name: 'Log in' }).click();
	await openRoom(a, a.room);
	await seesOnce(a, 'back again');
	await waitLive(a);
	await shot(a.page, 'ann-logged-in-again');
});

test('/, /docs and /api.html work under the pages\' CSP, nothing blocked',
    async () => {
	const { ann: a, bob: b } = people;
	// Everything above ran under the policy.
	for (const p of [a, b])
		assert.ok(p.served.includes(`${st.url}/`), p.name);
	assert.deepEqual(cspErrors, []);
	const sink = [];
	const ctx = await browser.newContext({ viewport: { width: 390,
		height: 844 } });
	const page = await ctx.newPage();
	const served = await watchCsp(page, 'bob again', sink);
	page.on('pageerror', (e) => pageErrors.push(`csp: ${e.message}`));
	const c = { name: 'bob again', ctx, page };
	try {
		// The client: log in, open the room, chat both ways.
		await page.goto(`${st.url}/`);
		const form = page.getByRole('form', { name: 'Log in' });
		await form.getByLabel('Email or username').fill(b.username);
		await form.getByLabel('Password').fill(b.password);
		await form.getByRole('button', { name: 'Log in' }).click();
		await waitLive(c);
		await openRoom(c, a.room);
		await send(c, 'sent under the policy');
		await seesOnce(a, 'sent under the policy');
		await send(a, 'answered under the policy');
		await seesOnce(c, 'answered under the policy');
		await shot(page, 'csp-client');
		assert.deepEqual(await inlineScript(page), []);

		// /docs: swagger-ui renders every operation.
		const doc = await (await fetch(`${st.url}/openapi.json`)).json();
		let ops = 0;
		for (const item of Object.values(doc.paths))
			ops += Object.keys(item)
			    .filter((k) => k !== 'parameters').length;
		await page.goto(`${st.url}/docs`);
		await page.locator('.opblock').first().waitFor({ timeout: WAIT });
		assert.equal(await page.locator('.opblock').count(), ops);
		await page.locator('.auth-wrapper .authorize').click();
		await page.locator('.modal-ux #oauth_username').waitFor();
		await shot(page, 'csp-docs');
		assert.deepEqual(await inlineScript(page), []);

		// /api.html: docs/api.md rendered.
		await page.goto(`${st.url}/api.html`);
		await page.getByRole('heading', { name: '4. Socket.IO' })
		    .waitFor({ timeout: WAIT });
		await shot(page, 'csp-api-html');
		assert.deepEqual(await inlineScript(page), []);
		for (const path of ['/', '/docs', '/api.html'])
			assert.ok(served.includes(`${st.url}${path}`), path);
		assert.deepEqual(sink, []);

		// The policy is in force: an inline script is refused and seen.
		await page.evaluate(() => {
			const e = document.createElement('script');
			e.textContent = 'window.inlineRan = true;';
			document.body.append(e);
		});
		await until(() => sink.length > 0, 'the inline script reported');
		assert.equal(await page.evaluate(() => window.inlineRan), undefined);
	} finally {
		await ctx.close();
	}
});

test('no script error and no dialog in any page', () => {
	assert.deepEqual(pageErrors, []);
	assert.deepEqual(dialogs, []);
	assert.deepEqual(cspErrors, []);
});
