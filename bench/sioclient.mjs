// SPDX-License-Identifier: ISC
//
// bench/sioclient.mjs: the load client for what sioload does not do. "poll"
// runs Engine.IO long-polling Socket.IO clients that send chat_message at a
// fixed total rate and time every chat_response; "ack" runs WebSocket
// clients that each keep a window of chat_message with acknowledgements in
// flight (inbound messages stored and acked per second). Both read the
// sioload --tokens file, sample the server's CPU from /proc, and print one
// JSON result line.

import fs from 'node:fs';
import http from 'node:http';
import { WebSocket } from 'ws';

const TICK = 100; // USER_HZ of /proc/<pid>/stat on Linux

function usage() {
  process.stderr.write(
    'usage: sioclient.mjs poll|ack --port P --tokens FILE -n CONNS ' +
      '[-m RATE] [-w WINDOW] [-d SECONDS] [--host H] [--pid P,...] ' +
      '[--label L] [--connect-rate C]\n');
  process.exit(2);
}

// Command line: the mode, then "--key value" pairs.
function args() {
  const a = process.argv.slice(2);
  const o = {
    mode: a.shift(), host: '127.0.0.1', port: 0, tokens: '', n: 100, m: 10,
    w: 4, d: 10, pid: '', label: '', connectRate: 500, settle: 1, drain: 2,
  };
  const keys = {
    '--host': 'host', '--port': 'port', '--tokens': 'tokens', '-n': 'n',
    '-m': 'm', '-w': 'w', '-d': 'd', '--pid': 'pid', '--label': 'label',
    '--connect-rate': 'connectRate', '--settle': 'settle', '--drain': 'drain',
  };
  while (a.length) {
    const k = keys[a.shift()];
    if (!k || !a.length) usage();
    const v = a.shift();
    o[k] = typeof o[k] === 'number' ? Number(v) : v;
  }
  if (!['poll', 'ack'].includes(o.mode) || !o.port || !o.tokens) usage();
  return o;
}

// The tokens file: lines "<token> <room_id>", in order, and each token's
// rooms (the server puts a socket in every room of its user).
function tokensRead(path) {
  const lines = [];
  const rooms = new Map();
  for (const l of fs.readFileSync(path, 'utf8').split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f.length < 2 || f[0].startsWith('#')) continue;
    lines.push({ token: f[0], room: f[1] });
    if (!rooms.has(f[0])) rooms.set(f[0], new Set());
    rooms.get(f[0]).add(f[1]);
  }
  return { lines, rooms };
}

// Summed utime+stime of "pids", in seconds.
function cpuOf(pids) {
  let t = 0;
  for (const p of pids) {
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t += (Number(f[11]) + Number(f[12])) / TICK;
    } catch {
      // a pid that is gone adds nothing
    }
  }
  return t;
}

function rssOf(pids) {
  let kib = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kib += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kib;
}

function pct(sorted, q) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Parse the Socket.IO EVENT or ACK packet "p" (without the Engine.IO "4").
function sioParse(p) {
  const type = p[0];
  let i = 1;
  while (i < p.length && p[i] >= '0' && p[i] <= '9') i++;
  const id = i > 1 ? Number(p.slice(1, i)) : null;
  let data = null;
  try {
    data = JSON.parse(p.slice(i));
  } catch {
    data = null;
  }
  return { type, id, data };
}

// ---------------------------------------------------------------- polling

// One long-polling client: handshake, CONNECT with the token, then one
// GET always pending; "onEvent" gets each Socket.IO event.
class PollClient {
  constructor(o, agent, token, onEvent) {
    this.o = o;
    this.agent = agent;
    this.token = token;
    this.onEvent = onEvent;
    this.sid = null;
    this.ready = false;
    this.closed = false;
    this.errors = 0;
  }

  req(method, body) {
    const q = this.sid ? `&sid=${this.sid}` : '';
    return new Promise((resolve, reject) => {
      const r = http.request({
        host: this.o.host, port: this.o.port, method, agent: this.agent,
        path: `/socket.io/?EIO=4&transport=polling${q}`,
        headers: body !== undefined
          ? { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body) }
          : {},
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`${method} ${res.statusCode} ${text}`));
          else resolve(text);
        });
        res.on('error', reject);
      });
      r.on('error', reject);
      if (body !== undefined) r.write(body);
      r.end();
    });
  }

  async open() {
    const hs = await this.req('GET');
    this.sid = JSON.parse(hs.slice(1)).sid;
    await this.req('POST', `40${JSON.stringify({ token: this.token })}`);
    // The CONNECT answer comes with the first poll.
    for (;;) {
      const text = await this.req('GET');
      let connected = false;
      for (const p of text.split('\x1e')) {
        if (p.startsWith('40')) connected = true;
        else if (p.startsWith('44')) throw new Error(`refused: ${p}`);
        else this.handle(p);
      }
      if (connected) break;
    }
    this.ready = true;
    this.loop();
  }

  handle(p) {
    if (p === '2') {
      this.send('3');
    } else if (p.startsWith('42')) {
      const e = sioParse(p.slice(1));
      if (Array.isArray(e.data)) this.onEvent(e.data[0], e.data[1]);
    } else if (p === '1') {
      this.closed = true;
    }
  }

  async loop() {
    while (!this.closed) {
      try {
        const text = await this.req('GET');
        for (const p of text.split('\x1e')) this.handle(p);
      } catch (err) {
        if (!this.closed) this.errors++;
        this.closed = true;
      }
    }
  }

  send(packet) {
    this.req('POST', packet).catch(() => { this.errors++; });
  }
}

async function runPoll(o, pids) {
  const { lines, rooms } = tokensRead(o.tokens);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const lat = [];
  let delivered = 0, foreign = 0, sent = 0, expected = 0;
  const inRoom = new Map(); // room -> ready clients in it
  const sendMs = new Map(); // seq -> send time
  const onEvent = (name, data) => {
    if (name !== 'chat_response') return;
    const content = (data && data.message && data.message.content) || (data && data.content) || '';
    const m = /^p:(\d+):/.exec(content);
    if (!m || !sendMs.has(Number(m[1]))) { foreign++; return; }
    delivered++;
    lat.push(nowMs() - sendMs.get(Number(m[1])));
  };
  const clients = [];
  const t0 = nowMs();
  let failed = 0;
  const opening = [];
  for (let i = 0; i < o.n; i++) {
    const l = lines[i % lines.length];
    const c = new PollClient(o, agent, l.token, onEvent);
    c.room = l.room;
    clients.push(c);
    opening.push(c.open().then(() => {
      for (const r of rooms.get(l.token)) inRoom.set(r, (inRoom.get(r) || 0) + 1);
    }, () => { failed++; }));
    if ((i + 1) % Math.max(1, Math.floor(o.connectRate / 10)) === 0) await sleep(100);
  }
  await Promise.all(opening);
  const connectS = (nowMs() - t0) / 1000;
  await sleep(o.settle * 1000);
  const rssIdle = rssOf(pids);
  const cpu0 = cpuOf(pids), gen0 = process.cpuUsage();
  const tl0 = nowMs();
  const ready = clients.filter((c) => c.ready);
  let seq = 0, k = 0;
  const total = Math.round(o.m * o.d);
  // Open loop: every 10 ms, send what the schedule says is due.
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((nowMs() - tl0) / 1000) * o.m));
      while (seq < due) {
        const c = ready[k++ % ready.length];
        if (c.closed) continue;
        const s = seq++;
        sendMs.set(s, nowMs());
        expected += inRoom.get(c.room) || 0;
        c.send(`42${JSON.stringify(['chat_message', { room_id: c.room, content: `p:${s}:${'a'.repeat(48)}` }])}`);
        sent++;
      }
      if (seq >= total) { clearInterval(tick); resolve(); }
    }, 10);
  });
  const loadS = (nowMs() - tl0) / 1000;
  await sleep(o.drain * 1000);
  const cpuS = cpuOf(pids) - cpu0;
  const g = process.cpuUsage(gen0);
  const wallS = (nowMs() - tl0) / 1000;
  lat.sort((a, b) => a - b);
  for (const c of clients) c.closed = true;
  agent.destroy();
  return {
    label: o.label, mode: 'poll', conns: o.n, ready: ready.length, failed,
    connect_s: connectS, rate: o.m, seconds: loadS, sent, expected, delivered,
    deliv_per_s: delivered / loadS, ratio: expected ? delivered / expected : 0,
    p50_ms: pct(lat, 0.5), p99_ms: pct(lat, 0.99), max_ms: lat.length ? lat[lat.length - 1] : 0,
    srv_cpu_pct: (100 * cpuS) / wallS, gen_cpu_pct: (100 * (g.user + g.system)) / 1e6 / wallS,
    rss_idle_kib: rssIdle, errors: clients.reduce((s, c) => s + c.errors, 0), foreign,
  };
}

// ---------------------------------------------------------------- acked

async function runAck(o, pids) {
  const { lines } = tokensRead(o.tokens);
  const lat = [];
  let acked = 0, refused = 0, failed = 0, closed = 0, responses = 0;
  let running = false;
  const socks = [];
  const t0 = nowMs();
  const openOne = (l) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${o.host}:${o.port}/socket.io/?EIO=4&transport=websocket`,
      { perMessageDeflate: false });
    const s = { ws, room: l.room, next: 1, sent: new Map(), ready: false };
    const sendOne = () => {
      const id = s.next++;
      s.sent.set(id, nowMs());
      ws.send(`42${id}${JSON.stringify(['chat_message', { room_id: s.room, content: `k:${id}:${'a'.repeat(48)}` }])}`);
    };
    s.kick = () => { for (let i = 0; i < o.w; i++) sendOne(); };
    ws.on('message', (buf) => {
      const p = buf.toString();
      if (p[0] === '0') ws.send(`40${JSON.stringify({ token: l.token })}`);
      else if (p === '2') ws.send('3');
      else if (p.startsWith('40')) { s.ready = true; resolve(s); }
      else if (p.startsWith('44')) { failed++; ws.close(); resolve(null); }
      else if (p.startsWith('43')) {
        const e = sioParse(p.slice(1));
        const t = s.sent.get(e.id);
        s.sent.delete(e.id);
        const a = Array.isArray(e.data) ? e.data[0] : null;
        if (a && (a.status === 'received' || a.ok === true)) {
          if (running) { acked++; lat.push(nowMs() - t); }
        } else refused++;
        if (running) sendOne();
      } else if (p.startsWith('42["chat_response"')) responses++;
    });
    ws.on('error', () => { failed++; resolve(null); });
    ws.on('close', () => { if (s.ready) closed++; });
  });
  const opening = [];
  for (let i = 0; i < o.n; i++) {
    opening.push(openOne(lines[i % lines.length]));
    if ((i + 1) % Math.max(1, Math.floor(o.connectRate / 10)) === 0) await sleep(100);
  }
  for (const s of await Promise.all(opening)) if (s) socks.push(s);
  const connectS = (nowMs() - t0) / 1000;
  await sleep(o.settle * 1000);
  const cpu0 = cpuOf(pids), gen0 = process.cpuUsage();
  const tl0 = nowMs();
  running = true;
  for (const s of socks) s.kick();
  await sleep(o.d * 1000);
  running = false;
  const loadS = (nowMs() - tl0) / 1000;
  const cpuS = cpuOf(pids) - cpu0;
  const g = process.cpuUsage(gen0);
  await sleep(o.drain * 1000);
  for (const s of socks) s.ws.terminate();
  lat.sort((a, b) => a - b);
  return {
    label: o.label, mode: 'ack', conns: o.n, ready: socks.length, failed,
    connect_s: connectS, window: o.w, seconds: loadS, acked, acks_per_s: acked / loadS,
    refused, closed_by_peer: closed, responses,
    p50_ms: pct(lat, 0.5), p99_ms: pct(lat, 0.99), max_ms: lat.length ? lat[lat.length - 1] : 0,
    srv_cpu_pct: (100 * cpuS) / loadS, gen_cpu_pct: (100 * (g.user + g.system)) / 1e6 / loadS,
  };
}

const o = args();
const pids = o.pid ? o.pid.split(',').filter(Boolean).map(Number) : [];
const r = o.mode === 'poll' ? await runPoll(o, pids) : await runAck(o, pids);
process.stdout.write(`${JSON.stringify(r)}\n`);
process.exit(0);
