// SPDX-License-Identifier: ISC
//
// tools/stack says "chat: serving" only once every part answers: a worker
// through the web server, and the push daemon on its socket. A daemon's
// socket file exists from bind(), before listen(); a stand-in daemon that
// waits two seconds in between (lib/late-listen.py) shows that the file
// alone is not taken for readiness: the first Socket.IO request after
// "serving" reaches it, under nginx and under lighttpd.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { call } from './lib/api.mjs';

const stacks = [];
after(async () => {
	for (const s of stacks)
		await s.stop();
});

for (const web of ['nginx', 'lighttpd']) {
	test(`${web}: serving means the daemon and a worker answer`, async () => {
		const st = await startStack({ web, workers: 1,
			daemon: 'tests/integ/lib/late-listen.py' });
		stacks.push(st);
		const s = await call(st.url, 'GET', '/socket.io/?EIO=4&' +
		    'transport=polling');
		assert.equal(s.status, 200, s.text);
		assert.equal(s.text, 'ok');
		const me = await call(st.url, 'GET', '/auth/users/me');
		assert.equal(me.status, 401, me.text);
	});
}
