// SPDX-License-Identifier: ISC
//
// /api.html: fetch /vendor/api.md (docs/api.md, copied by tools/www-vendor)
// and render it with marked (Markdown to HTML) and DOMPurify (an allowlist
// sanitizer), both from npm, copied to vendor/ by the build. Raw HTML in the
// Markdown is shown as text, not interpreted, and whatever marked produces
// still goes through DOMPurify before it reaches the page.

import { Marked } from '/vendor/marked.esm.js';
import DOMPurify from '/vendor/purify.es.mjs';

const root = document.getElementById('doc');

// "s" with the characters that mean something in HTML escaped.
function escapeHtml(s) {
	return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const md = new Marked({
	gfm: true,
	renderer: {
		// Raw HTML blocks and inline tags: shown as the text they are.
		html({ text }) {
			return escapeHtml(text);
		},
	},
});

// GitHub's anchor for a heading text (lower case, punctuation dropped,
// spaces to "-", then "-1", "-2"... for repeats), so links such as
// /api.html#4-socketio match the ones GitHub makes for docs/api.md.
function addAnchors(parent) {
	const seen = new Map();
	for (const h of parent.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
		const s = h.textContent.toLowerCase()
		    .replace(/[^\p{L}\p{N} _-]/gu, '').trim().replace(/ /g, '-');
		const n = seen.get(s) ?? 0;
		seen.set(s, n + 1);
		h.id = n === 0 ? s : `${s}-${n}`;
	}
}

// Wide tables scroll on their own at phone width.
function wrapTables(parent) {
	for (const t of parent.querySelectorAll('table')) {
		const w = document.createElement('div');
		w.className = 'table-wrap';
		t.replaceWith(w);
		w.append(t);
	}
}

async function main() {
	const status = document.getElementById('doc-status');
	let text;
	try {
		const r = await fetch('/vendor/api.md', { cache: 'no-cache' });
		if (!r.ok)
			throw new Error(`HTTP ${r.status}`);
		text = await r.text();
	} catch (e) {
		status.textContent = `Could not load docs/api.md (${e.message}); ` +
		    "run 'make www-vendor'.";
		root.removeAttribute('aria-busy');
		return;
	}
	const frag = DOMPurify.sanitize(md.parse(text),
	    { RETURN_DOM_FRAGMENT: true });
	addAnchors(frag);
	wrapTables(frag);
	root.replaceChildren(frag);
	root.removeAttribute('aria-busy');
	// The page was empty when the browser looked for the #fragment.
	const id = decodeURIComponent(location.hash.slice(1));
	const target = id && document.getElementById(id);
	if (target) {
		target.scrollIntoView();
		target.setAttribute('tabindex', '-1');
		target.focus({ preventScroll: true });
	}
}

main();
