#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# test-timeout: 180
#
# A second stock client: Debian's python3-socketio Client connects through
# nginx with a token in auth, sends chat_message with a callback and
# receives chat_response, over WebSocket and over polling. The stack is
# started here with tools/stack (free port, temporary var directory), the
# users and room are made over REST with urllib; prints TAP.

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import socketio

SRCDIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RELAXED = {'auth_burst': '100000', 'auth_rate': '1000',
           'login_fail_max': '100000', 'login_fail_account_max': '100000',
           'msg_burst': '100000', 'msg_rate': '1000',
           'room_create_burst': '100000', 'room_create_rate': '1000',
           'members_named_burst': '1000000', 'members_named_rate': '100000'}

results = []


def tap(ok, name, why=''):
    """Record one TAP result and print it at once."""
    results.append(ok)
    print('%s %d - %s' % ('ok' if ok else 'not ok', len(results), name))
    if not ok and why:
        for line in str(why).splitlines():
            print('# ' + line)
    sys.stdout.flush()


def free_port():
    """A loopback TCP port that was free a moment ago."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_stack(var):
    """Start tools/stack; return (process, base URL, output lines)."""
    for attempt in range(3):
        port = free_port()
        args = [os.path.join(SRCDIR, 'tools/stack'), 'run', '--port',
                str(port), '--var', var, '--web', 'nginx']
        for k, v in RELAXED.items():
            args += ['--set', '%s=%s' % (k, v)]
        p = subprocess.Popen(args, cwd=SRCDIR, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        out = []
        ready = threading.Event()

        def reader():
            for line in p.stdout:
                out.append(line)
                if 'chat: serving' in line:
                    ready.set()
        threading.Thread(target=reader, daemon=True).start()
        deadline = time.time() + 30
        while time.time() < deadline and p.poll() is None:
            if ready.wait(0.1):
                return p, 'http://127.0.0.1:%d' % port, out
        p.terminate()
        p.wait(15)
        text = ''.join(out)
        if attempt < 2 and ('bind' in text or 'in use' in text):
            continue
        raise RuntimeError('tools/stack did not start:\n' + text)
    raise RuntimeError('no free port')


def rest(base, method, path, body=None, token=None):
    """One JSON request; returns (status, parsed body or None)."""
    data = None if body is None else json.dumps(body).encode()
    rq = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        rq.add_header('Content-Type', 'application/json')
    if token is not None:
        rq.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(rq, timeout=15) as rs:
            return rs.status, json.loads(rs.read() or b'null')
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, None


def new_user(base):
    """Sign up and log in a fresh user; returns a dict with its token."""
    name = 'py_' + secrets.token_hex(5)
    email = name + '@example.com'
    pw = 'pw-' + secrets.token_hex(6)
    st, b = rest(base, 'POST', '/auth/signup', {
        'username': name, 'email': email, 'password': pw})
    if st != 201:
        raise RuntimeError('signup: %s %r' % (st, b))
    st, t = rest(base, 'POST', '/auth/login',
                 {'email': email, 'password': pw})
    if st != 200:
        raise RuntimeError('login: %s %r' % (st, t))
    return {'id': b['id'], 'email': email, 'username': name,
            'token': t['access_token']}


def client(base, user, transport, got):
    """A connected socketio.Client recording chat_response into got."""
    sio = socketio.Client(reconnection=False)
    ev = threading.Event()

    @sio.on('chat_response')
    def on_response(data):
        got.append(data)
        ev.set()

    sio.connect(base, auth={'token': user['token']},
                transports=[transport], wait_timeout=15)
    sio.got_event = ev
    return sio


def wait_for(pred, secs):
    """Poll pred() until it is true or secs pass; return its last value."""
    end = time.time() + secs
    while True:
        v = pred()
        if v or time.time() > end:
            return v
        time.sleep(0.02)


def run(base):
    """The test cases proper."""
    a, b = new_user(base), new_user(base)
    st, room = rest(base, 'POST', '/chat/chat_rooms/',
                    {'name': 'py room', 'members': [b['email']]},
                    token=a['token'])
    if st != 201:
        raise RuntimeError('room: %s %r' % (st, room))
    for transport in ('websocket', 'polling'):
        got_a, got_b = [], []
        try:
            sa = client(base, a, transport, got_a)
            sb = client(base, b, transport, got_b)
        except Exception as e:
            tap(False, '%s: connect with auth token' % transport, repr(e))
            continue
        tap(sa.connected and sb.connected and
            sa.transport() == transport,
            '%s: connect with auth token' % transport,
            'transport %s' % sa.transport())
        content = 'from python over %s %s' % (transport,
                                              secrets.token_hex(3))
        try:
            r = sa.call('chat_message', {'room_id': room['id'],
                                         'content': content}, timeout=15)
        except Exception as e:
            r = repr(e)
        m = r.get('message') if isinstance(r, dict) else None
        tap(isinstance(m, dict) and r.get('status') == 'received' and
            m.get('content') == content and
            m.get('sender_id') == a['id'] and m.get('room_id') == room['id'],
            '%s: chat_message callback gets the stored message' % transport,
            repr(r))
        mid = m.get('id') if m else None
        ok = wait_for(lambda: any(x.get('message', {}).get('id') == mid
                                  for x in got_b), 15)
        tap(bool(ok) and mid is not None and
            [x for x in got_b if x['message']['id'] == mid][0] ==
            {'room_id': room['id'], 'message': m},
            '%s: the other member receives chat_response' % transport,
            repr(got_b))
        ok = wait_for(lambda: any(x.get('message', {}).get('id') == mid
                                  for x in got_a), 15)
        tap(bool(ok), '%s: the sender receives chat_response' % transport,
            repr(got_a))
        # b answers; a receives it.
        try:
            r2 = sb.call('chat_message', {'room': room['id'],
                                          'message': 'answer'}, timeout=15)
        except Exception as e:
            r2 = repr(e)
        mid2 = r2.get('message', {}).get('id') if isinstance(r2, dict) \
            else None
        ok = mid2 is not None and wait_for(
            lambda: any(x['message']['id'] == mid2 for x in got_a), 15)
        tap(bool(ok), '%s: a reply reaches the first client' % transport,
            repr(r2))
        try:
            r3 = sa.call('chat_message', {'room_id': room['id'],
                                          'content': ''}, timeout=15)
        except Exception as e:
            r3 = repr(e)
        tap(isinstance(r3, dict) and r3.get('status') == 'error' and
            isinstance(r3.get('detail'), str),
            '%s: an empty message gets an error callback' % transport,
            repr(r3))
        sa.disconnect()
        sb.disconnect()
    # A bad token: connect raises ConnectionError and connect_error has
    # the server's {"message": "unauthorized"}.
    for transport in ('websocket', 'polling'):
        sio = socketio.Client(reconnection=False)
        refusal = []
        sio.on('connect_error', lambda *args: refusal.append(args))
        why = None
        try:
            # python-socketio 5.7 waits wait_timeout once more after
            # the refusal before it raises: keep it short.
            sio.connect(base, auth={'token': 'garbage'},
                        transports=[transport], wait_timeout=5)
        except socketio.exceptions.ConnectionError as e:
            why = str(e)
        finally:
            if sio.connected:
                sio.disconnect()
        tap(why is not None and
            refusal == [({'message': 'unauthorized'},)],
            '%s: a bad token is refused with unauthorized' % transport,
            '%r %r' % (why, refusal))


def main():
    var = tempfile.mkdtemp(prefix='chat-integ-py-')
    proc = None
    out = []
    try:
        proc, base, out = start_stack(var)
        run(base)
    except Exception as e:
        tap(False, 'python client tests ran to the end', repr(e))
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if not os.environ.get('CHAT_KEEP_VAR'):
            shutil.rmtree(var, ignore_errors=True)
    text = ''.join(out)
    san = re.search(r'ERROR: \w+Sanitizer|runtime error:', text)
    tap(san is None, 'no sanitizer report from the stack',
        text[max(0, san.start() - 200):san.start() + 4000] if san else '')
    print('1..%d' % len(results))
    return 0 if results and all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
