// SPDX-License-Identifier: ISC
// test-timeout: 300
//
// The browser client end to end, in headless Debian chromium against the
// real stack: two people (one at desktop size, one at phone width) sign
// up, make a room and a private chat (picked by e-mail), talk both ways in
// real time, watch each other's online dot go off and on, send an image
// and a PDF, page back through history, lose the network and get what they
// missed once, see markup (in a message, a room name, a file name) and
// right-to-left text shown as text, stay signed in across a reload, and
// open a chat and send with the keyboard alone. Every control
// is found by its accessible name (getByRole/getByLabel): that is the
// accessibility check. Screenshots of each step go to the folder printed
// at the start.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { startStack } from './lib/stack.mjs';
import { call, post, uniq } from './lib/api.mjs';
import { launch, shots, vendorCheck } from './lib/browser.mjs';

const WAIT = 15000;

let st;
let browser;
let shot;
const people = {};
const dialogs = [];
const pageErrors = [];

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

// A person: a browser context of its own (own localStorage) and a page.
async function person(name, viewport) {
	const ctx = await browser.newContext({ viewport });
	const page = await ctx.newPage();
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
	const p = { name, ctx, page, username, sio,
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

// Whether the online dot of that item is on.
async function dotOn(p, list, name) {
	const btn = chatButton(p, list, name);
	const on = /\bon\b/.test(await btn.locator('.dot')
	    .getAttribute('class'));
	// Screen readers get the same through the hidden text.
	const said = await btn.locator('.visually-hidden').first().textContent();
	assert.equal(said, on ? ', online' : ', offline');
	return on;
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
	const a = await person('ann', { width: 1200, height: 800 });
	const b = await person('bob', { width: 375, height: 740 });
	for (const p of [a, b]) {
		await p.page.goto(`${st.url}/`);
		const form = p.page.getByRole('form', { name: 'Sign up' });
		await form.getByLabel('Username').fill(p.username);
		await form.getByLabel('Email').fill(p.email);
		await form.getByLabel('Password').fill(p.password);
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

test('no script error and no dialog in any page', () => {
	assert.deepEqual(pageErrors, []);
	assert.deepEqual(dialogs, []);
});
