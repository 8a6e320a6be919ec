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

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
	'--disable-quic', '--no-first-run', '--disable-background-networking',
	'--disable-component-update', '--disable-sync'];

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

// Watch the pages (documents) that "page" loads: each one the web server
// sent with exactly PAGE_CSP is added to the list this resolves to, and
// each violation goes into "sink" as "<who>: <what>" (the
// securitypolicyviolation event and the console error chromium prints for
// a blocked script or style).
export async function watchCsp(page, who, sink) {
	const served = [];
	page.on('response', (r) => {
		if (r.request().resourceType() === 'document' &&
		    r.headers()['content-security-policy'] === PAGE_CSP)
			served.push(r.url());
	});
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
