// SPDX-License-Identifier: ISC
//
// Headless Debian chromium for the browser tests, through playwright-core
// (which never downloads a browser): launch() starts /usr/bin/chromium
// with no network of its own beyond what the pages ask for, enforceCsp()
// serves the pages with the web server's Content-Security-Policy and
// collects what it blocks, and shots() makes the screenshot folder
// tests/out/browser-<timestamp>/ whose path the tests print. Pages only
// ever load the stack's 127.0.0.1 URL.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { SRCDIR } from './stack.mjs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// A page that enforceCsp() hands over through DevTools has no server
// address of its own, and chromium's Local Network Access checks would then
// refuse its WebSocket to 127.0.0.1 (the client falls back to polling):
// every page here and the service are on the loopback, so they are off.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
	'--disable-quic', '--no-first-run', '--disable-background-networking',
	'--disable-component-update', '--disable-sync',
	'--disable-features=LocalNetworkAccessChecks'];

// Start the browser; throws with a hint when chromium is not installed.
export async function launch() {
	if (!existsSync(CHROMIUM))
		throw new Error(`${CHROMIUM} not found: run 'make deps' ` +
		    '(Debian package chromium)');
	return chromium.launch({ executablePath: CHROMIUM,
		args: CHROMIUM_ARGS });
}

// The Content-Security-Policy the web server sends with the client's pages
// (/, /docs, /api.html).
export const PAGE_CSP = "default-src 'self'; script-src 'self'; " +
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; " +
    "frame-ancestors 'none'";

// Serve every page (document) that "page" loads with PAGE_CSP, whatever
// the web server sent, and push each violation into "sink" as "<who>:
// <what>": the securitypolicyviolation event and the console error
// chromium prints for a blocked script or style. Only documents are
// intercepted (through chromium's Fetch domain, not page.route, which
// would hold every request and change how the page's WebSocket ends
// when the browser goes offline). Resolves to the list of document URLs
// served with the policy.
export async function enforceCsp(page, who, sink) {
	const served = [];
	const cdp = await page.context().newCDPSession(page);
	cdp.on('Fetch.requestPaused', async (ev) => {
		const headers = (ev.responseHeaders ?? []).filter((h) =>
		    h.name.toLowerCase() !== 'content-security-policy');
		headers.push({ name: 'Content-Security-Policy', value: PAGE_CSP });
		try {
			const { body, base64Encoded } = await cdp.send(
			    'Fetch.getResponseBody', { requestId: ev.requestId });
			await cdp.send('Fetch.fulfillRequest', {
				requestId: ev.requestId,
				responseCode: ev.responseStatusCode,
				responseHeaders: headers,
				body: base64Encoded ? body :
				    Buffer.from(body).toString('base64') });
			served.push(ev.request.url);
		} catch {
			// No body to give (the page went away, a redirect):
			// let it through as it came.
			await cdp.send('Fetch.continueRequest',
			    { requestId: ev.requestId }).catch(() => {});
		}
	});
	await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*',
		resourceType: 'Document', requestStage: 'Response' }] });
	await page.addInitScript(() => document.addEventListener(
	    'securitypolicyviolation', (e) => console.error('CSP violation: ' +
		`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} ` +
		`at ${e.sourceFile}:${e.lineNumber}`)));
	page.on('console', (m) => {
		if (m.type() === 'error' &&
		    /Content.Security.Policy|CSP violation/i.test(m.text()))
			sink.push(`${who}: ${m.location()?.url}: ${m.text()}`);
	});
	return served;
}

// Throw unless tools/www-vendor has put the browser bundles in place.
export function vendorCheck() {
	for (const f of ['socket.io.esm.min.js', 'swagger-ui-bundle.js',
		'swagger-ui.css', 'api.md'])
		if (!existsSync(join(SRCDIR, 'www/vendor', f)))
			throw new Error(`www/vendor/${f} missing: run ` +
			    "'make www-vendor'");
}

// A fresh screenshot folder tests/out/<prefix>-<timestamp>/ and a
// function shot(page, name) saving "<nn>-<name>.png" in it, numbered in
// the order taken.
export function shots(prefix = 'browser') {
	const stamp = new Date().toISOString().replace(/[:.]/g, '-');
	const dir = join(SRCDIR, 'tests/out', `${prefix}-${stamp}`);
	mkdirSync(dir, { recursive: true });
	let n = 0;
	const shot = async (page, name) => {
		n++;
		const file = join(dir, `${String(n).padStart(2, '0')}-${name}.png`);
		await page.screenshot({ path: file, fullPage: false });
		return file;
	};
	return { dir, shot };
}
