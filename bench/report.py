#!/usr/bin/python3
# SPDX-License-Identifier: ISC
#
# bench/report.py: turns the raw results of bench/run (JSON) into the
# Markdown report bench/results/<date>.md: machine, versions, pinning,
# configuration, every figure, ratios to the references and the targets of
# issue 7. Rewrites only the generated part of an existing report, so notes
# written below it (profiles, analysis) survive a rerun on the same day.

import json
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
BEGIN, END = '<!-- bench/run: generated -->', '<!-- end generated -->'
SERVERS = ('ours', 'ours+nginx', 'node')
NAMES = {'ours': 'chat-pushd direct', 'ours+nginx': 'chat-pushd via nginx',
         'node': 'peer-node (Node)'}


def f0(v):
    return f'{v:,.0f}'


def f1(v):
    return f'{v:,.1f}'


def f2(v):
    return f'{v:,.2f}'


def busy(r):
    b = r.get('busy') or {}
    return f'{b.get("cpu0", 0):.0f} / {b.get("cpu1", 0):.0f}'


def knee(rows, strict=True):
    """The highest-rate step that kept p99 <= 50 ms and >= 99 % delivered;
    not "strict": the highest with >= 99 % delivered, whatever its p99."""
    ok = [r for r in rows if (r['p99_ms'] <= 50 or not strict) and r['ratio'] >= 0.99]
    return max(ok, key=lambda r: r['deliv_per_s']) if ok else None


def ratio(a, b):
    return f'{a / b:.2f}×' if a and b else 'n/a'


def render(raw):
    info, res = raw['info'], raw['results']
    by = lambda scen, srv=None: [r for r in res if r['scen'] == scen and (srv is None or r['server'] == srv)]
    out = []
    w = out.append
    w(BEGIN)
    w(f'Run: `{"make bench QUICK=1" if raw["quick"] else "make bench"}` '
      f'(bench/run), {info["date"]}, {info["total_s"]:.0f} s in all.\n')
    w('## Machine, versions, pinning\n')
    w('| | |\n|---|---|')
    w(f'| CPU | {info["nproc"]} × {info["cpu"]} |')
    w(f'| kernel | {info["kernel"]}, {info["mem"]} RAM, ulimit -n {info["nofile"]} |')
    w(f'| load average at start | {info.get("loadavg", "?")} |')
    w(f'| our commit | {info["commit"]}, build `{info["build"]}` ({info["cflags"]}) |')
    w(f'| nginx | {info["nginx"]} |')
    w(f'| Node reference | node {info["node"]}, socket.io {info["socketio"]}, '
      f'engine.io {info["engineio"]} (peer-node `SHAPE=api`, `TOKENS_FILE` = the same tokens file) |')
    w(f'| load tools | sioload (../shared/tools/loadgen), bench/sioclient.mjs (polling and acked '
      f'clients, node), {info["wrk"]} |')
    w('| pinning | server side on CPU0 (`taskset`): chat-pushd, or peer-node, or nginx + '
      'chat-pushd, or nginx + chat-fcgi workers; every generator (sioload, sioclient, wrk) '
      f'on CPU1; all of them at nice {info.get("nice", 0)} (BENCH_NICE) |')
    w(f'| dataset | users, tokens and rooms made through the REST API ({info.get("setup_s", 0):.0f} s '
      'this run; kept in build/bench/var between runs) |')
    w('')
    w('"CPU0/1 busy %" is how busy each CPU was over the whole invocation, whoever used it: '
      'CPU0 above the server\'s own share, or CPU1 above the generator\'s, is other load on '
      'the machine. Per-CPU-second figures divide by the server\'s own CPU time '
      '(utime+stime from /proc).\n')

    w('## Real-time: deliveries (sioload, WebSocket)\n')
    w('A: 1000 clients, 10 rooms of 10 users (10 sockets per user, fan-out 100). '
      'B: clients in rooms of one user with 5 sockets each (fan-out 5). '
      'Content 64 bytes; every message is stored in SQLite by chat-pushd (peer-node stores nothing).\n')
    w('| scenario | server | conns | sent/s | deliveries/s | delivered % | p50 ms | p99 ms | '
      'srv CPU % | deliveries per srv CPU-s | gen CPU % | CPU0/1 busy % |')
    w('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for scen in ('A', 'B'):
        for srv in SERVERS:
            for r in by(scen, srv):
                w(f'| {scen} | {NAMES[srv]} | {r["ready"]} | {f0(r["rate"])} | {f0(r["deliv_per_s"])} | '
                  f'{100 * r["ratio"]:.1f} | {f2(r["p50_ms"])} | {f1(r["p99_ms"])} | '
                  f'{r["srv_cpu_pct"]:.0f} | {f0(r["per_cpu_s"])} | {r["gen_cpu_pct"]:.0f} | {busy(r)} |')
    w('')
    w('Highest step with p99 ≤ 50 ms and ≥ 99 % delivered (for Node, when no step kept '
      'p99 ≤ 50 ms, its highest step with ≥ 99 % delivered, so the per-CPU ratio stays defined):\n')
    w('| scenario | server | deliveries/s | p99 ms | deliveries per srv CPU-s | vs Node (per CPU-s) | vs Node (deliveries/s) |')
    w('|---|---|---:|---:|---:|---:|---:|')
    knees = {}
    for scen in ('A', 'B'):
        node = knee(by(scen, 'node')) or knee(by(scen, 'node'), False)
        for srv in SERVERS:
            k = knee(by(scen, srv)) or (knee(by(scen, srv), False) if srv == 'node' else None)
            knees[(scen, srv)] = k
            if k is None:
                w(f'| {scen} | {NAMES[srv]} | none | | | | |')
                continue
            w(f'| {scen} | {NAMES[srv]} | {f0(k["deliv_per_s"])} | {f1(k["p99_ms"])} | {f0(k["per_cpu_s"])} | '
              f'{ratio(k["per_cpu_s"], node and node["per_cpu_s"]) if srv != "node" else ""} | '
              f'{ratio(k["deliv_per_s"], node and node["deliv_per_s"]) if srv != "node" else ""} |')
    w('')

    w('## Real-time: inbound messages stored and acked (bench/sioclient.mjs ack)\n')
    w('Each WebSocket client keeps 8 `chat_message` with an ack id in flight and sends the next '
      'on each `{"status":"received"}` ack; rooms of one user, so each message is also pushed back once.\n')
    w('| server | sockets | acks/s | p50 ms | p99 ms | srv CPU % | acks per srv CPU-s | gen CPU % | refused | CPU0/1 busy % |')
    w('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for r in by('C'):
        w(f'| {NAMES[r["server"]]} | {r["ready"]} | {f0(r["acks_per_s"])} | {f1(r["p50_ms"])} | {f1(r["p99_ms"])} | '
          f'{r["srv_cpu_pct"]:.0f} | {f0(r.get("per_cpu_s", 0))} | {r["gen_cpu_pct"]:.0f} | {r["refused"]} | {busy(r)} |')
    w('')

    w('Open loop (sioload): the same sockets send at a fixed total rate; chat-pushd stores each '
      'message and pushes it back to its sender after the commit. Every step is kept while '
      '≥ 99 % arrive, whatever the latency: this is the storing capacity.\n')
    w('| server | sockets | sent/s | stored and pushed back /s | delivered % | p50 ms | p99 ms | srv CPU % | '
      'per srv CPU-s | gen CPU % | CPU0/1 busy % |')
    w('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for r in by('C2'):
        w(f'| {NAMES[r["server"]]} | {r["ready"]} | {f0(r["rate"])} | {f0(r["deliv_per_s"])} | '
          f'{100 * r["ratio"]:.1f} | {f1(r["p50_ms"])} | {f1(r["p99_ms"])} | {r["srv_cpu_pct"]:.0f} | '
          f'{f0(r["per_cpu_s"])} | {r["gen_cpu_pct"]:.0f} | {busy(r)} |')
    w('')

    w('## Real-time: new connections (sioload, 1024 handshakes in flight)\n')
    w('A connection counts once its Socket.IO CONNECT is answered (WebSocket upgrade, Engine.IO open, '
      'token checked and rooms joined for chat-pushd).\n')
    w('| server | connections | conn/s | handshake p50 ms | p99 ms | failed | CPU0/1 busy % |')
    w('|---|---:|---:|---:|---:|---:|---:|')
    for r in by('D'):
        cps = r['ready'] / r['connect_s'] if r['connect_s'] else 0
        w(f'| {NAMES[r["server"]]} | {r["ready"]} | {f0(cps)} | {f1(r["hs_p50_ms"])} | {f1(r["hs_p99_ms"])} | '
          f'{r["failed"]} | {busy(r)} |')
    w('')

    w('## Real-time: long-polling clients (bench/sioclient.mjs poll)\n')
    w('Engine.IO polling only (no upgrade), the scenario-A tokens file (10 rooms); '
      'each message is POSTed by its sender and arrives in the members\' pending GETs.\n')
    w('| server | clients | sent/s | deliveries/s | delivered % | p50 ms | p99 ms | srv CPU % | '
      'deliveries per srv CPU-s | gen CPU % | errors | CPU0/1 busy % |')
    w('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for r in by('P'):
        w(f'| {NAMES[r["server"]]} | {r["ready"]} | {f0(r["rate"])} | {f0(r["deliv_per_s"])} | '
          f'{100 * r["ratio"]:.1f} | {f1(r["p50_ms"])} | {f1(r["p99_ms"])} | {r["srv_cpu_pct"]:.0f} | '
          f'{f0(r.get("per_cpu_s", 0))} | {r["gen_cpu_pct"]:.0f} | {r["errors"]} | {busy(r)} |')
    w('')

    w('## Memory: RSS per idle connection (freshly started servers)\n')
    w('KiB/conn = (RSS idle with N connections − RSS before connecting) / N, the server process alone.\n')
    w('| server | connections | RSS before MiB | RSS idle MiB | KiB/conn |')
    w('|---|---:|---:|---:|---:|')
    for r in by('E'):
        w(f'| {NAMES[r["server"]]} | {r["ready"]} | {r["rss_base_kib"] / 1024:.1f} | '
          f'{r["rss_conn_kib"] / 1024:.1f} | {f2(r["kib_per_conn"])} |')
    w('')

    rest = {r['name']: r for r in res if r['scen'] == 'REST'}
    static = rest.get('static nginx return 200')
    w('## REST through nginx (wrk)\n')
    w('wrk: 1 thread on CPU1, keep-alive. nginx (2 workers) and 4 chat-fcgi workers on CPU0. '
      'The static reference is a separate nginx (2 workers, access log on) answering `return 200`, also on CPU0. '
      'POST stores a new message each time (no client_id); GET messages reads the newest 50; '
      'private chats lists 20; login verifies an Argon2id hash (libsodium, 19 MiB, t=2). '
      'The FastCGI round trip is a request the worker answers 401 (no token) before any database work: '
      'the ceiling of anything behind nginx and FastCGI here. The last rows run on the same stack '
      'restarted with one chat-fcgi worker. "µs/req" is the server\'s CPU time (nginx and workers, '
      'not the push daemon) per request.\n')
    w('| request | connections | req/s | p99 ms | non-2xx | srv CPU % | µs/req | vs static | CPU0/1 busy % |')
    w('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for name, r in rest.items():
        us = r['srv_cpu_pct'] / 100 / r['rps'] * 1e6 if r['rps'] else 0
        w(f'| {name} | {r["conns"]} | {f0(r["rps"])} | {f1(r["p99_ms"])} | {r["non2xx"]} | '
          f'{r["srv_cpu_pct"]:.0f} | {us:.0f} | {ratio(r["rps"], static and static["rps"])} | {busy(r)} |')
    w('')

    # Targets of issue 7.
    w('## Targets (issue 7)\n')
    w('| target | figure | met |')
    w('|---|---|---|')
    e = {r['server']: r for r in by('E')}
    if 'ours' in e:
        k = e['ours']['kib_per_conn']
        nk = e.get('node', {}).get('kib_per_conn', 0)
        w(f'| RSS per idle connection ≤ 2 KiB | {f2(k)} KiB at {e["ours"]["ready"]} connections '
          f'(Node {f2(nk)} KiB) | {"met" if k <= 2 else "not met"} |')
    ka, kn = knees.get(('A', 'ours')), knees.get(('A', 'node'))
    if ka and kn:
        rr = ka['per_cpu_s'] / kn['per_cpu_s']
        w(f'| deliveries per server CPU-second ≥ 4× Node, storing every message (A) | '
          f'{f0(ka["per_cpu_s"])} vs {f0(kn["per_cpu_s"])}: {rr:.1f}× | {"met" if rr >= 4 else "not met"} |')
    kb, kbn = knees.get(('B', 'ours')), knees.get(('B', 'node'))
    if kb and kbn:
        rr = kb['per_cpu_s'] / kbn['per_cpu_s']
        w(f'| the same in B (fan-out 5) | {f0(kb["per_cpu_s"])} vs {f0(kbn["per_cpu_s"])}: {rr:.1f}× | '
          f'{"met" if rr >= 4 else "not met"} |')
    a_ours = by('A', 'ours')
    if a_ours:
        top = max(a_ours, key=lambda r: r['deliv_per_s'])
        ok = ka is not None and ka['deliv_per_s'] >= 0.98 * top['deliv_per_s']
        w(f'| p99 ≤ 50 ms at the highest rate the generator sustains (A) | highest step {f0(top["deliv_per_s"])} '
          f'deliveries/s: p99 {f1(top["p99_ms"])} ms, generator {top["gen_cpu_pct"]:.0f} % of CPU1; '
          f'knee {f0(ka["deliv_per_s"]) if ka else "none"} | {"met" if ok else "not met"} |')
    c = [r for r in by('C', 'ours')]  # closed loop: acks/s as counted
    if c:
        w(f'| inbound messages stored and acked ≥ 20k/s | {f0(c[0]["acks_per_s"])}/s '
          f'({f0(c[0].get("per_cpu_s", 0))} per server CPU-s) | {"met" if c[0]["acks_per_s"] >= 20000 else "not met"} |')
    c2 = [r for r in by('C2', 'ours') if r['ratio'] >= 0.99]
    if c2:
        top = max(c2, key=lambda r: r['deliv_per_s'])
        w(f'| (the same, open loop: stored and pushed back, ≥ 99 % delivered) | {f0(top["deliv_per_s"])}/s, '
          f'p99 {f1(top["p99_ms"])} ms | throughput {"met" if top["rate"] >= 20000 else "not met"}'
          f'{", latency not" if top["p99_ms"] > 50 else ""} (no ack frames) |')
    d = [r for r in by('D', 'ours')]
    if d:
        cps = d[0]['ready'] / d[0]['connect_s']
        w(f'| new connections ≥ 10k/s | {f0(cps)}/s | {"met" if cps >= 10000 else "not met"} |')
    for name in ('POST message', 'GET 50 messages'):
        got = [r for n, r in rest.items() if n in (name, f'{name} (1 worker)')]
        if got and static:
            r = max(got, key=lambda r: r['rps'])
            rr = r['rps'] / static['rps']
            w(f'| REST {name} ≥ 0.10 × static nginx | {f0(r["rps"])} ({r["name"]}) vs {f0(static["rps"])}: '
              f'{rr:.3f}× | {"met" if rr >= 0.10 else "not met"} |')
    w('')
    w(END)
    return '\n'.join(out) + '\n'


def main():
    raw = json.loads(Path(sys.argv[1]).read_text())
    day = raw['info']['date'][:10]
    dest = SRC / 'bench' / 'results' / (f'{day}-quick.md' if raw['quick'] else f'{day}.md')
    dest.parent.mkdir(parents=True, exist_ok=True)
    gen = render(raw)
    if dest.exists():
        old = dest.read_text()
        if BEGIN in old and END in old:
            text = old[:old.index(BEGIN)] + gen + old[old.index(END) + len(END) + 1:]
        else:
            text = old + '\n' + gen
    else:
        text = (f'# Benchmarks, {day}\n\nWritten by `make bench` (bench/run, bench/report.py); '
                'see bench/README.md for how to rerun. Notes below the generated part are kept '
                'on a rerun.\n\n' + gen)
    dest.write_text(text)
    print(gen)
    print(f'report: {dest.relative_to(SRC)}')


if __name__ == '__main__':
    main()
