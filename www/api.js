// SPDX-License-Identifier: ISC
//
// REST calls of the browser client: one request function over fetch that
// adds the bearer token, parses the JSON answer and turns an error status
// into an ApiError whose message is the service's "detail" in plain words
// (docs/api.md, Errors). Network failures stay TypeErrors, so callers can
// tell "offline" from "refused".

export class ApiError extends Error {
	constructor(status, detail) {
		super(ApiError.describe(status, detail));
		this.status = status;
		this.detail = detail;
	}

	// A readable sentence from a "detail" string or a 422 list.
	static describe(status, detail) {
		if (typeof detail === 'string')
			return detail;
		if (Array.isArray(detail))
			return detail.map((d) => {
				const where = Array.isArray(d?.loc) ?
				    d.loc.slice(1).join('.') : '';
				return where ? `${where}: ${d?.msg}` : String(d?.msg);
			}).join('; ');
		return `Request failed (HTTP ${status})`;
	}
}

// Send a request and resolve to the parsed JSON body (null when empty).
// opts: token, json (an object), form (an object, urlencoded), body
// (FormData or a string as is), query (an object of strings).
export async function request(method, path, opts = {}) {
	const headers = { Accept: 'application/json' };
	let body;
	if (opts.json !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(opts.json);
	} else if (opts.form !== undefined) {
		headers['Content-Type'] = 'application/x-www-form-urlencoded';
		body = new URLSearchParams(opts.form).toString();
	} else if (opts.body !== undefined) {
		body = opts.body;
	}
	if (opts.token)
		headers.Authorization = `Bearer ${opts.token}`;
	let url = path;
	if (opts.query) {
		const q = new URLSearchParams();
		for (const [k, v] of Object.entries(opts.query))
			if (v !== undefined && v !== null)
				q.set(k, String(v));
		const s = q.toString();
		if (s)
			url += `?${s}`;
	}
	const r = await fetch(url, { method, headers, body,
		credentials: 'omit', cache: 'no-store' });
	const text = await r.text();
	let data = null;
	if (text) {
		try {
			data = JSON.parse(text);
		} catch {
			data = null;
		}
	}
	if (!r.ok)
		throw new ApiError(r.status, data?.detail);
	return data;
}
