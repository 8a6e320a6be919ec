// SPDX-License-Identifier: ISC
//
// docs/testing.md 4.3, slow reader, through nginx: a raw WebSocket client that
// connects and then stops reading (its TCP socket paused) sits in a room
// that receives large messages fast over REST. With send_queue_max at
// 256 KiB the daemon must drop it (seen by the others as user_status
// offline, and by the slow client as a closed connection once it reads
// again) while a normal client of the room receives every message. And a
// client that reads as fast as it can is not taken for a slow reader when
// it pipelines a burst of large messages within the rate limit. The same
// for a polling client that stops polling (its session's packet queue has
// the same bound, eio.c): its session is ended, and its next poll is
// answered "Session ID unknown".

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { newRoom, newUser, post } from './lib/api.mjs';
import { RawSio, ack, closeAll, connect, gotIds, until } from
    './lib/sio.mjs';

let st;
let U;
before(async () => {
	// Pings far apart: a ping timeout must not be what drops the reader.
	st = await startStack({ set: { send_queue_max: 262144,
		ping_interval: 600000, ping_timeout: 600000 } });
	U = st.url;
});
after(async () => {
	closeAll();
	await st?.stop();
});

// About 12 KB per push: 4000 three-byte characters.
const BIG = '€'.repeat(4000);

// REST-post BIG messages from "a" into "room", four at a time, until the
// daemon drops user "slow" (b1, another member's socket, sees it go
// offline): at most ~36 MB, far more than the socket buffers between a
// client and the daemon hold. The ids posted, in posting order.
async function floodUntilDropped(a, room, b1, slow, what) {
	const ids = [];
	const gone = () => b1.rec.of('user_status').some((x) =>
		x.user_id === slow.id && x.is_online === false);
	for (let i = 0; i < 3000 && !gone(); i += 4) {
		const res = await Promise.all([0, 1, 2, 3].map((k) =>
			post(U, a, room.id, `${i + k} ${BIG}`)));
		for (const x of res) {
			assert.equal(x.status, 201, x.text.slice(0, 200));
			ids.push(x.body.id);
		}
	}
	await until(gone, 30000, what, () => `${ids.length} messages sent`);
	return ids;
}

describe('slow reader', () => {
	test('is disconnected while a normal reader gets everything',
	    async () => {
		const [a, b, slow] = [await newUser(U), await newUser(U),
			await newUser(U)];
		const room = await newRoom(U, a, [b.email, slow.email]);
		const b1 = await connect(U, b, { transport: 'websocket' });
		const r = await RawSio.connect(U, { token: slow.token });
		assert.match(r.answer, /^40\{"sid":"[^"]+"\}$/);
		await until(() => b1.rec.of('user_status').some((x) =>
			x.user_id === slow.id && x.is_online), 15000,
		'slow user online');
		r.ws.pause();

		// REST posts until the daemon gives up on the slow reader.
		const ids = await floodUntilDropped(a, room, b1, slow,
		    'the slow reader dropped');
		// The normal reader kept everything, in order, and gets more.
		const more = await post(U, a, room.id, 'after the drop');
		ids.push(more.body.id);
		ids.sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
		await gotIds(b1, ids, 60000);
		assert.deepEqual(b1.rec.ids(), ids);
		assert.ok(b1.connected);

		// The slow client, reading again, finds its connection closed
		// before it has received everything.
		r.ws.resume();
		assert.ok(await r.closedWithin(30000), 'the slow reader closed');
		const got = r.msgs.filter((m) => typeof m === 'string' &&
		    m.startsWith('42["chat_response"')).length;
		assert.ok(got < ids.length, `${got} of ${ids.length}`);
	});
});

describe('slow polling reader', () => {
	test('a polling client that stops polling is dropped', async () => {
		const [a, b, slow] = [await newUser(U), await newUser(U),
			await newUser(U)];
		const room = await newRoom(U, a, [b.email, slow.email]);
		const b1 = await connect(U, b, { transport: 'polling' });
		const ep = `${U}/socket.io/?EIO=4&transport=polling`;
		const h = await fetch(ep);
		assert.equal(h.status, 200);
		const sid = JSON.parse((await h.text()).slice(1)).sid;
		const q = `${ep}&sid=${sid}`;
		const c = await fetch(q, { method: 'POST',
			body: `40${JSON.stringify({ token: slow.token })}` });
		assert.equal(c.status, 200);
		const g = await fetch(q);
		assert.match(await g.text(), /^40\{"sid":/);
		await until(() => b1.rec.of('user_status').some((x) =>
			x.user_id === slow.id && x.is_online), 15000,
		'slow user online');

		// Never polls again while the room gets ~12 KB messages.
		const ids = await floodUntilDropped(a, room, b1, slow,
		    'the slow poller dropped');
		const r = await fetch(q);
		assert.equal(r.status, 400);
		assert.deepEqual(await r.json(),
		    { code: 1, message: 'Session ID unknown' });
		// The normal (polling) reader kept everything, in order.
		ids.sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
		await gotIds(b1, ids, 60000);
		assert.deepEqual(b1.rec.ids(), ids);
		assert.ok(b1.connected);
	});
});

describe('a fast reader is not a slow reader', () => {
	let st2;
	before(async () => {
		st2 = await startStack();	// the default send_queue_max
	});
	after(async () => {
		closeAll();
		await st2?.stop();
	});

	test('a sender pipelining 100 large messages stays connected',
	    async () => {
		const U2 = st2.url;
		const [a, b] = [await newUser(U2), await newUser(U2)];
		const room = await newRoom(U2, a, [b.email]);
		const a1 = await connect(U2, a);
		const b1 = await connect(U2, b);
		const gone = [];
		a1.on('disconnect', (why) => gone.push(`a1 ${why}`));
		b1.on('disconnect', (why) => gone.push(`b1 ${why}`));
		// Within the default message rate limit (burst 300).
		const acks = [];
		for (let i = 0; i < 100; i++)
			acks.push(ack(a1, 'chat_message', { room_id: room.id,
				content: `${i} ${BIG}` }, 60000).catch((e) =>
				({ status: `no ack: ${e.message}` })));
		const res = await Promise.all(acks);
		assert.deepEqual(gone, []);
		assert.deepEqual(res.map((x) => x.status).filter((x) =>
			x !== 'received'), []);
		const ids = res.map((x) => x.message.id);
		await gotIds(b1, ids, 60000);
		await gotIds(a1, ids, 60000);
		assert.deepEqual(b1.rec.ids(), ids);
	});
});
