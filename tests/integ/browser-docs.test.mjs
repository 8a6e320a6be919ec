// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// /docs in headless chromium, served with the pages' Content-Security-Policy
// (nothing it blocks may happen): swagger-ui renders every operation of
// /openapi.json, "Authorize" with the OAuth2 password flow (POST
// /auth/token) asks only for a username and a password and gets a token,
// and "Try it out" on GET /auth/users/me then answers 200 with the user.
// /docs links to the Socket.IO events on /api.html (docs/api.md rendered by
// marked, raw HTML shown as text, then DOMPurify). Screenshots go to the
// folder printed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { newUser } from './lib/api.mjs';
import { watchCsp, launch, shots, vendorCheck } from './lib/browser.mjs';

let st;
let browser;
let shot;
const cspErrors = [];

// A new page of its own context, served under the pages' CSP.
async function newPage(viewport = { width: 1200, height: 900 }) {
	const ctx = await browser.newContext({ viewport });
	const page = await ctx.newPage();
	await watchCsp(page, `${viewport.width}x${viewport.height}`,
	    cspErrors);
	return page;
}
before(async () => {
	vendorCheck();
	st = await startStack();
	browser = await launch();
	const s = shots('browser-docs');
	shot = s.shot;
	console.log(`screenshots: ${s.dir}`);
});
after(async () => {
	await browser?.close();
	await st?.stop();
});

test('Authorize with the password flow, then try GET /auth/users/me',
    async () => {
	const u = await newUser(st.url);
	const doc = await (await fetch(`${st.url}/openapi.json`)).json();
	const page = await newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	await page.goto(`${st.url}/docs`);
	await page.locator('.opblock').first().waitFor({ timeout: 15000 });
	let ops = 0;
	for (const item of Object.values(doc.paths))
		ops += Object.keys(item).filter((k) => k !== 'parameters').length;
	assert.equal(await page.locator('.opblock').count(), ops);
	await shot(page, 'docs');

	await page.locator('.auth-wrapper .authorize').click();
	const modal = page.locator('.modal-ux');
	await modal.locator('#oauth_username').fill(u.username);
	await modal.locator('#oauth_password').fill(u.password);
	await modal.getByRole('button',
	    { name: 'Apply given OAuth2 credentials' }).click();
	await modal.locator('button', { hasText: 'Logout' }).first()
	    .waitFor({ timeout: 10000 });
	await shot(page, 'authorized');
	await modal.locator('button', { hasText: 'Close' }).first().click();

	const op = page.locator('#operations-auth-users_me');
	await op.locator('.opblock-summary').click();
	await op.getByRole('button', { name: 'Try it out' }).click();
	const answer = page.waitForResponse((r) =>
	    r.url().endsWith('/auth/users/me'));
	await op.getByRole('button', { name: 'Execute' }).click();
	const r = await answer;
	assert.equal(r.status(), 200);
	assert.equal((await r.json()).username, u.username);
	assert.match(await r.request().headerValue('authorization'),
	    /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
	await op.locator('.live-responses-table').waitFor();
	await shot(page, 'users-me-200');
	assert.deepEqual(errors, []);
});

test('the Authorize dialog asks only for a username and a password',
    async () => {
	for (const viewport of [{ width: 1200, height: 800 },
		{ width: 390, height: 844 }]) {
		const page = await newPage(viewport);
		await page.goto(`${st.url}/docs`);
		await page.locator('.auth-wrapper .authorize')
		    .waitFor({ timeout: 15000 });
		await page.locator('.auth-wrapper .authorize').click();
		const modal = page.locator('.modal-ux');
		await modal.getByLabel('username:').waitFor();
		assert.ok(await modal.getByLabel('password:').isVisible());
		// No OAuth2 client here: nothing to ask about one.
		for (const id of ['client_id_password', 'client_secret_password',
			'password_type'])
			assert.equal(await modal.locator(`#${id}`).isVisible(),
			    false, `${id} shown at ${viewport.width}px`);
		for (const text of ['client_id:', 'client_secret:',
			'Client credentials location:'])
			assert.equal(await modal.getByText(text).isVisible(), false,
			    `"${text}" shown at ${viewport.width}px`);
		await shot(page, `authorize-dialog-${viewport.width}`);
		await page.context().close();
	}
});

test('/docs links to the Socket.IO events, rendered from docs/api.md',
    async () => {
	const page = await newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	await page.goto(`${st.url}/docs`);
	await page.getByRole('link', { name: /Socket\.IO events/ }).click();
	await page.waitForURL(/\/api\.html#4-socketio$/);
	const sec = page.getByRole('heading', { name: '4. Socket.IO' });
	await sec.waitFor({ timeout: 10000 });
	assert.ok(await sec.isVisible());
	// The events table, one row per event, as a real table.
	const events = page.locator('#events ~ .table-wrap').first();
	for (const ev of ['chat_message', 'chat_response', 'catch_up',
		'get_online_users', 'user_status'])
		assert.equal(await events.locator('tbody tr td:first-child', {
			hasText: new RegExp(`^${ev}$`) }).count(), 1, ev);
	await page.getByRole('heading', { name: 'Reconnect and catch-up' })
	    .waitFor();
	const text = await page.locator('#doc').innerText();
	assert.match(text, /none missing, none repeated/);
	assert.match(text, /catch_up\.complete/);
	// Rendered, not shown as Markdown source.
	assert.doesNotMatch(text, /^\|---|^```|^#+ /m);
	assert.equal(await page.locator('pre code', {
		hasText: "socket.on('chat_response'" }).count(), 1);
	await shot(page, 'socketio-events');
	assert.deepEqual(errors, []);
	await page.close();
});

test('/api.html shows markup in the Markdown as text', async () => {
	const page = await newPage();
	const dialogs = [];
	page.on('dialog', (d) => {
		dialogs.push(d.message());
		d.dismiss();
	});
	await page.route('**/vendor/api.md', (r) => r.fulfill({
		contentType: 'text/plain; charset=utf-8',
		body: '# Title <img src=x onerror=alert(1)>\n\n' +
		    'A <script>alert(2)</script> and `<b>x</b>` and ' +
		    '**<img src=x onerror=alert(3)>**\n\n' +
		    '| a | b |\n|---|---|\n| <img src=x onerror=alert(4)> | ' +
		    '<a href="javascript:alert(5)">y</a> |\n\n' +
		    '- <iframe src="javascript:alert(6)"></iframe>\n',
	}));
	await page.goto(`${st.url}/api.html`);
	await page.getByRole('heading', { level: 1 }).waitFor();
	assert.equal(await page.locator('#doc img, #doc script, #doc a, ' +
	    '#doc iframe, #doc b').count(), 0);
	const text = await page.locator('#doc').innerText();
	assert.match(text, /<img src=x onerror=alert\(1\)>/);
	assert.match(text, /<script>alert\(2\)<\/script>/);
	assert.match(text, /<iframe/);
	await shot(page, 'api-md-markup-as-text');
	assert.deepEqual(dialogs, []);
	await page.close();
});

test('nothing was blocked by the Content-Security-Policy', () => {
	assert.deepEqual(cspErrors, []);
});
