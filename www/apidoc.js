// SPDX-License-Identifier: ISC
//
// /api.html: fetch /vendor/api.md (docs/api.md, copied by tools/www-vendor)
// and render it. A small renderer for the Markdown that file uses: ATX
// headings (with GitHub's anchors, e.g. #4-socketio), paragraphs, flat
// lists, pipe tables, fenced code, `code` and **bold**. Every piece of text
// goes in through textContent or as a text node: markup in the file is
// shown as text, never interpreted.

const root = document.getElementById('doc');
const slugs = new Map();

// GitHub's anchor for a heading text: lower case, punctuation dropped,
// spaces to "-", "-1", "-2"... for repeats.
function slug(text) {
	const s = text.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '')
	    .trim().replace(/ /g, '-');
	const n = slugs.get(s) ?? 0;
	slugs.set(s, n + 1);
	return n === 0 ? s : `${s}-${n}`;
}

// Append "text" to "parent" with `code` and **bold** spans.
function inline(parent, text) {
	const re = /`([^`]+)`|\*\*(.+?)\*\*/g;
	let last = 0;
	let m;
	while ((m = re.exec(text)) !== null) {
		if (m.index > last)
			parent.append(text.slice(last, m.index));
		if (m[1] !== undefined) {
			const c = document.createElement('code');
			c.textContent = m[1];
			parent.append(c);
		} else {
			const b = document.createElement('strong');
			inline(b, m[2]);
			parent.append(b);
		}
		last = re.lastIndex;
	}
	if (last < text.length)
		parent.append(text.slice(last));
}

function el(tag, text) {
	const e = document.createElement(tag);
	if (text !== undefined)
		inline(e, text);
	return e;
}

// The cells of a table row "| a | b |" ("\|" is a literal bar; a bar
// inside `code` does not split).
function cells(line) {
	const out = [];
	let cur = '';
	let code = false;
	const s = line.trim().replace(/^\|/, '').replace(/\|$/, '');
	for (let i = 0; i < s.length; i++) {
		const c = s[i];
		if (c === '\\' && s[i + 1] === '|') {
			cur += '|';
			i++;
		} else if (c === '`') {
			code = !code;
			cur += c;
		} else if (c === '|' && !code) {
			out.push(cur.trim());
			cur = '';
		} else {
			cur += c;
		}
	}
	out.push(cur.trim());
	return out;
}

const LIST = /^(\s*)([-*+]|\d+[.)]) +(.*)$/;

// Render Markdown "md" into nodes appended to "parent".
function render(parent, md) {
	const lines = md.replace(/\r\n?/g, '\n').split('\n');
	let i = 0;
	while (i < lines.length) {
		const line = lines[i];
		let m;
		if (/^\s*$/.test(line)) {
			i++;
		} else if ((m = /^(\s*)(```+|~~~+)(.*)$/.exec(line))) {
			const fence = m[2];
			const body = [];
			for (i++; i < lines.length &&
			    !lines[i].trim().startsWith(fence); i++)
				body.push(lines[i]);
			i++;
			const pre = document.createElement('pre');
			const code = document.createElement('code');
			code.textContent = body.join('\n');
			pre.append(code);
			parent.append(pre);
		} else if ((m = /^(#{1,6}) +(.*?)#*\s*$/.exec(line))) {
			const h = el(`h${m[1].length}`, m[2]);
			h.id = slug(h.textContent);
			parent.append(h);
			i++;
		} else if (line.trimStart().startsWith('|')) {
			const rows = [];
			for (; i < lines.length &&
			    lines[i].trimStart().startsWith('|'); i++)
				rows.push(cells(lines[i]));
			const table = document.createElement('table');
			const sep = rows.length > 1 &&
			    rows[1].every((c) => /^:?-+:?$/.test(c));
			let body = rows;
			if (sep) {
				const thead = document.createElement('thead');
				const tr = document.createElement('tr');
				for (const c of rows[0])
					tr.append(el('th', c));
				thead.append(tr);
				table.append(thead);
				body = rows.slice(2);
			}
			const tbody = document.createElement('tbody');
			for (const r of body) {
				const tr = document.createElement('tr');
				for (const c of r)
					tr.append(el('td', c));
				tbody.append(tr);
			}
			table.append(tbody);
			const wrap = document.createElement('div');
			wrap.className = 'table-wrap';
			wrap.append(table);
			parent.append(wrap);
		} else if ((m = LIST.exec(line))) {
			const list = document.createElement(
			    /\d/.test(m[2]) ? 'ol' : 'ul');
			while (i < lines.length && (m = LIST.exec(lines[i]))) {
				const text = [m[3]];
				// Lines indented under the item continue it.
				for (i++; i < lines.length &&
				    /^\s+\S/.test(lines[i]) &&
				    !LIST.test(lines[i]); i++)
					text.push(lines[i].trim());
				list.append(el('li', text.join(' ')));
				while (i < lines.length && /^\s*$/.test(lines[i]) &&
				    i + 1 < lines.length && LIST.test(lines[i + 1]))
					i++;
			}
			parent.append(list);
		} else {
			const text = [];
			for (; i < lines.length && !/^\s*$/.test(lines[i]) &&
			    !/^(#{1,6} |\s*```|\s*~~~|\s*\|)/.test(lines[i]) &&
			    !LIST.test(lines[i]); i++)
				text.push(lines[i].trim());
			parent.append(el('p', text.join(' ')));
		}
	}
}

async function main() {
	const status = document.getElementById('doc-status');
	let md;
	try {
		const r = await fetch('/vendor/api.md', { cache: 'no-cache' });
		if (!r.ok)
			throw new Error(`HTTP ${r.status}`);
		md = await r.text();
	} catch (e) {
		status.textContent = `Could not load docs/api.md (${e.message}); ` +
		    "run 'make www-vendor'.";
		root.removeAttribute('aria-busy');
		return;
	}
	const frag = document.createDocumentFragment();
	render(frag, md);
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
