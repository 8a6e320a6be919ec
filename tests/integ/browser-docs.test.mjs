// SPDX-License-Identifier: ISC
// test-timeout: 120
//
// /docs in headless chromium: swagger-ui renders every operation of
// /openapi.json, "Authorize" with the OAuth2 password flow (POST
// /auth/token) gets a token, and "Try it out" on GET /auth/users/me then
// answers 200 with the user. Screenshots go to the folder printed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { newUser } from './lib/api.mjs';
import { launch, shots, vendorCheck } from './lib/browser.mjs';

let st;
let browser;
let shot;
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
	const page = await browser.newPage({ viewport: { width: 1200,
		height: 900 } });
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
