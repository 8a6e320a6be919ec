// SPDX-License-Identifier: ISC
//
// The only way the client builds DOM nodes: element(), which sets text
// with textContent (through Node.append of strings) and attributes from a
// fixed list of inert ones. URLs come only from mediaUrl(), which accepts
// the service's own /media/ paths and nothing else, so no user string can
// become markup, a script or a javascript: link.

const SAFE_ATTRS = new Set([
	'id', 'class', 'type', 'dir', 'title', 'role', 'tabindex', 'for',
	'name', 'datetime', 'alt', 'hidden', 'disabled', 'lang', 'loading',
	'decoding', 'download', 'rel', 'target', 'width', 'height',
]);

// The /media/ path of an upload, or null for anything else (other
// origins, other paths, "..", schemes, quotes, spaces).
export function mediaUrl(url) {
	if (typeof url !== 'string' || !url.startsWith('/media/'))
		return null;
	return /^\/media\/[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)?$/.test(url) ?
	    url : null;
}

// Whether a /media/ path names an image the browser can show inline.
export function isImageUrl(url) {
	return /\.(png|jpe?g|gif|webp)$/i.test(url);
}

// A new element. props: attributes from SAFE_ATTRS, aria-* and data-*;
// "text" (textContent); "src"/"href" only through mediaUrl(); "on<event>"
// listeners. Children are nodes or strings (appended as text).
export function element(tag, props = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props)) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === 'text') {
			e.textContent = String(v);
		} else if (k.startsWith('on') && typeof v === 'function') {
			e.addEventListener(k.slice(2), v);
		} else if (k === 'src' || k === 'href') {
			const u = mediaUrl(v);
			if (u === null)
				throw new Error(`refused URL for ${k}`);
			e.setAttribute(k, u);
		} else if (SAFE_ATTRS.has(k) || /^(aria|data)-[a-z-]+$/.test(k)) {
			e.setAttribute(k, v === true ? '' : String(v));
		} else {
			throw new Error(`attribute ${k} is not allowed`);
		}
	}
	for (const c of children.flat())
		if (c !== null && c !== undefined && c !== false)
			e.append(c);
	return e;
}

// Remove every child of a node.
export function clear(node) {
	node.replaceChildren();
}
