// SPDX-License-Identifier: ISC
//
// The web server templates as INSTALL sections 4 and 5 deploy them: the
// nginx template rendered with INSTALL's own values passes `nginx -t`, as
// the site part a Debian nginx includes at http level and as a whole file;
// INSTALL's values cover every placeholder of that part; nginx reaches the
// workers and the daemon on the sockets chat.conf names, wherever they
// are; and both web servers' idle timeouts on /socket.io/ follow
// ping_interval + ping_timeout.
// test-timeout: 120

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SRCDIR, startStack } from './lib/stack.mjs';
import { call } from './lib/api.mjs';

const TEMPLATE = readFileSync(join(SRCDIR, 'etc/nginx.conf.in'), 'utf8');

// INSTALL section 4's command: its text and its placeholder values.
function installCommand() {
	const doc = readFileSync(join(SRCDIR, 'INSTALL'), 'utf8');
	const m = doc.match(/ {4}sed -e 's\|@FCGI_SOCKET@[\s\S]*?conf\.d\/chat\.conf/);
	assert.ok(m, 'INSTALL section 4 has the sed command');
	const values = {};
	for (const [, k, v] of m[0].matchAll(/'s\|(@[A-Z_]+@)\|([^|']*)\|g'/g))
		values[k] = v;
	return { text: m[0], values };
}

// The template's site part, "# --- site: begin" to "# --- site: end".
function sitePart(text) {
	const lines = text.split('\n');
	const a = lines.findIndex((l) => l.includes('# --- site: begin'));
	const b = lines.findIndex((l) => l.includes('# --- site: end'));
	assert.ok(a !== -1 && b > a, 'site markers in the template');
	return lines.slice(a, b + 1).join('\n') + '\n';
}

function placeholders(text) {
	return [...new Set(text.match(/@[A-Z_]+@/g) ?? [])].sort();
}

function render(text, values) {
	let out = text;
	for (const [k, v] of Object.entries(values))
		out = out.split(k).join(v);
	assert.deepEqual(placeholders(out), [], 'every placeholder replaced');
	return out;
}

// `nginx -t` on "conf" with its prefix and error log in "dir".
function nginxTest(dir, conf) {
	const file = join(dir, 'nginx.conf');
	writeFileSync(file, conf);
	return spawnSync('nginx', ['-t', '-p', dir, '-e',
		join(dir, 'error.log'), '-c', file], { encoding: 'utf8' });
}

// An nginx built without scgi or uwsgi has no temp path directive for it.
function moduleComments() {
	const v = spawnSync('nginx', ['-V'], { encoding: 'utf8' }).stderr;
	return {
		'@SCGI@': v.includes('--without-http_scgi_module') ? '# ' : '',
		'@UWSGI@': v.includes('--without-http_uwsgi_module') ? '# ' : '',
	};
}

describe('nginx.conf.in rendered as INSTALL says', () => {
	let dir;
	let cmd;
	before(() => {
		dir = mkdtempSync(join(tmpdir(), 'chat-deploy-'));
		cmd = installCommand();
	});
	after(() => rmSync(dir, { recursive: true, force: true }));

	test("INSTALL's sed covers exactly the site part's placeholders", () => {
		assert.deepEqual(Object.keys(cmd.values).sort(),
		    placeholders(sitePart(TEMPLATE)));
		assert.equal(cmd.values['@FCGI_SOCKET@'], '/run/chat/fcgi.sock');
		assert.equal(cmd.values['@PUSH_SOCKET@'], '/run/chat/push.sock');
		assert.equal(cmd.values['@MEDIA_DIR@'], '/var/lib/chat/media');
	});

	test("INSTALL's command gives a site that passes nginx -t", () => {
		// Run it as written, reading the checkout's template and
		// writing here; logs here too, not in /var/log/nginx.
		const text = cmd.text
		    .replace('/usr/local/share/chat/etc/nginx.conf.in',
			join(SRCDIR, 'etc/nginx.conf.in'))
		    .replace('>/etc/nginx/conf.d/chat.conf',
			`>${dir}/site.conf`)
		    .replace('|/var/log/nginx|', `|${dir}|`);
		const r0 = spawnSync('bash', ['-euo', 'pipefail', '-c', text],
		    { encoding: 'utf8' });
		assert.equal(r0.status, 0, r0.stderr);
		const site = readFileSync(join(dir, 'site.conf'), 'utf8');
		assert.equal(site, render(sitePart(TEMPLATE), { ...cmd.values,
			'@LOG_DIR@': dir }));
		assert.match(site, /^\s*server \{$/m);
		assert.match(site, /server unix:\/run\/chat\/fcgi\.sock;/);
		assert.match(site, /server unix:\/run\/chat\/push\.sock;/);
		assert.match(site, /alias \/var\/lib\/chat\/media\/\$1;/);
		assert.match(site, /proxy_read_timeout 75s;/);
		const mc = moduleComments();
		const r = nginxTest(dir, `pid ${dir}/nginx.pid;
events {}
http {
	client_body_temp_path ${dir}/tmp-body;
	fastcgi_temp_path ${dir}/tmp-fastcgi;
	proxy_temp_path ${dir}/tmp-proxy;
	${mc['@SCGI@']}scgi_temp_path ${dir}/tmp-scgi;
	${mc['@UWSGI@']}uwsgi_temp_path ${dir}/tmp-uwsgi;
	include ${dir}/site.conf;
}
`);
		assert.equal(r.status, 0, r.stderr);
		assert.match(r.stderr, /test is successful/);
	});

	test('a site with cors_origins set passes nginx -t', () => {
		const conf = render(TEMPLATE, { ...cmd.values,
			...moduleComments(), '@LOG_DIR@': dir, '@RUN_DIR@': dir,
			'@CORS_ORIGINS@': 'https://app.example http://[::1]:5173 null',
			'@USER_LINE@': process.getuid() === 0 ?
			    'user www-data;' : '' });
		const r = nginxTest(dir, conf);
		assert.equal(r.status, 0, r.stderr);
	});

	test('the whole file passes nginx -t as an nginx of its own', () => {
		const conf = render(TEMPLATE, { ...cmd.values,
			...moduleComments(), '@LOG_DIR@': dir, '@RUN_DIR@': dir,
			'@USER_LINE@': process.getuid() === 0 ?
			    'user www-data;' : '' });
		const r = nginxTest(dir, conf);
		assert.equal(r.status, 0, r.stderr);
	});
});

describe('sockets and idle timeouts follow chat.conf', () => {
	let sockDir;
	const PI = 600000;
	const PT = 300000;
	const IDLE = (PI + PT) / 1000 + 30;
	const ping = { ping_interval: String(PI), ping_timeout: String(PT) };
	let st;
	let lt;
	before(() => {
		sockDir = mkdtempSync(join(tmpdir(), 'chat-socks-'));
	});
	after(async () => {
		await st?.stop();
		await lt?.stop();
		rmSync(sockDir, { recursive: true, force: true });
	});

	test('nginx reaches sockets outside the var directory', async () => {
		st = await startStack({ set: { ...ping,
			fcgi_socket: join(sockDir, 'workers.sock'),
			push_socket: join(sockDir, 'daemon.sock') } });
		const conf = readFileSync(join(st.var, 'run/nginx.conf'), 'utf8');
		assert.ok(conf.includes(`server unix:${sockDir}/workers.sock;`),
		    conf);
		// 401 is the worker's answer; nginx alone would say 503.
		const me = await call(st.url, 'GET', '/auth/users/me');
		assert.equal(me.status, 401, me.text);
		const h = await call(st.url, 'GET',
		    '/socket.io/?EIO=4&transport=polling');
		assert.equal(h.status, 200, h.text);
		assert.match(h.text, /^0\{"sid":/);
	});

	test('nginx: proxy timeouts = ping_interval + ping_timeout + 30 s',
	    () => {
		const conf = readFileSync(join(st.var, 'run/nginx.conf'), 'utf8');
		assert.match(conf, new RegExp(`proxy_read_timeout ${IDLE}s;`));
		assert.match(conf, new RegExp(`proxy_send_timeout ${IDLE}s;`));
	});

	test('lighttpd: idle limits on /socket.io/ likewise', async () => {
		lt = await startStack({ web: 'lighttpd', set: ping });
		const conf = readFileSync(join(lt.var, 'run/lighttpd.conf'),
		    'utf8');
		const block = conf.slice(conf.indexOf('^/socket\\.io/'));
		assert.match(block, new RegExp(`max-read-idle = ${IDLE}\\n`));
		assert.match(block, new RegExp(`max-write-idle = ${IDLE}\\n`));
		const h = await call(lt.url, 'GET',
		    '/socket.io/?EIO=4&transport=polling');
		assert.equal(h.status, 200, h.text);
	});
});
