#!/usr/bin/python3
# SPDX-License-Identifier: ISC
#
# A ZeroMQ peer of the push daemon's bus for the integration tests, over
# libzmq itself through ctypes (Debian ships no python3-zmq here and Node
# has no ZeroMQ module). It speaks the workers' framing (lib/chat/bus.h) and
# prints one JSON line with what it saw:
#
#   zmqpeer.py push EP COUNT [SIZE [HOLD_MS]]
#       COUNT messages on a PUSH socket: event hints, or SIZE bytes of "x";
#       then keep the connection HOLD_MS more (a peer that goes at once
#       may take its last message with it).
#   zmqpeer.py query EP COUNT PAYLOAD|-SIZE TIMEOUT_MS
#       COUNT queries [qid, payload] on one DEALER (qids 8 bytes, all
#       different), then read replies until COUNT came or TIMEOUT_MS passed
#       without one: {"sent","got","unknown","dup","shape","first"}.

import ctypes
import ctypes.util
import json
import struct
import sys
import time

ZMQ_DEALER, ZMQ_PUSH = 5, 8
ZMQ_SNDMORE = 2
ZMQ_RCVMORE, ZMQ_LINGER, ZMQ_RCVTIMEO, ZMQ_SNDTIMEO = 13, 17, 27, 28
ZMQ_SNDHWM = 23

z = ctypes.CDLL(ctypes.util.find_library('zmq') or 'libzmq.so.5',
                use_errno=True)
z.zmq_ctx_new.restype = ctypes.c_void_p
z.zmq_socket.restype = ctypes.c_void_p
z.zmq_socket.argtypes = [ctypes.c_void_p, ctypes.c_int]
z.zmq_setsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                             ctypes.c_size_t]
z.zmq_getsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                             ctypes.POINTER(ctypes.c_size_t)]
z.zmq_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
z.zmq_send.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                       ctypes.c_int]
z.zmq_recv.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                       ctypes.c_int]
z.zmq_close.argtypes = [ctypes.c_void_p]
z.zmq_ctx_term.argtypes = [ctypes.c_void_p]


def setint(s, opt, v):
    x = ctypes.c_int(v)
    if z.zmq_setsockopt(s, opt, ctypes.byref(x), ctypes.sizeof(x)) != 0:
        raise OSError(ctypes.get_errno(), 'zmq_setsockopt')


def endpoint(ep):
    return ep if ep.startswith(('ipc://', 'tcp://')) else 'ipc://' + ep


def sock(ctx, kind, ep):
    s = z.zmq_socket(ctx, kind)
    setint(s, ZMQ_LINGER, 10000)
    setint(s, ZMQ_SNDTIMEO, 10000)
    setint(s, ZMQ_SNDHWM, 100000)
    if z.zmq_connect(s, endpoint(ep).encode()) != 0:
        raise OSError(ctypes.get_errno(), 'zmq_connect')
    return s


def send(s, data, flags=0):
    if z.zmq_send(s, data, len(data), flags) != len(data):
        raise OSError(ctypes.get_errno(), 'zmq_send')


BUF = ctypes.create_string_buffer(1 << 20)


def recv(s):
    """One message as a list of frames, or None on timeout."""
    frames = []
    while True:
        n = z.zmq_recv(s, BUF, len(BUF), 0)
        if n < 0:
            return None
        frames.append(BUF.raw[:min(n, len(BUF))])
        more = ctypes.c_int(0)
        sz = ctypes.c_size_t(ctypes.sizeof(more))
        z.zmq_getsockopt(s, ZMQ_RCVMORE, ctypes.byref(more), ctypes.byref(sz))
        if not more.value:
            return frames


def main(argv):
    ctx = z.zmq_ctx_new()
    out = {}
    if argv[0] == 'push':
        s = sock(ctx, ZMQ_PUSH, argv[1])
        count = int(argv[2])
        for i in range(count):
            if len(argv) > 3:
                send(s, b'x' * int(argv[3]))
            else:
                send(s, json.dumps({'type': 'message', 'room_id': '1',
                                    'id': str(i + 1)}).encode())
        if len(argv) > 4:
            time.sleep(int(argv[4]) / 1000)
        out = {'sent': count}
    elif argv[0] == 'query':
        s = sock(ctx, ZMQ_DEALER, argv[1])
        count, payload = int(argv[2]), argv[3]
        body = (b'x' * int(payload[1:]) if payload.startswith('-')
                else payload.encode())
        setint(s, ZMQ_RCVTIMEO, int(argv[4]))
        qids = set()
        for i in range(count):
            qid = struct.pack('>Q', 0x5a00000000000000 + i)
            qids.add(qid)
            send(s, qid, ZMQ_SNDMORE)
            send(s, body)
        out = {'sent': count, 'got': 0, 'unknown': 0, 'dup': 0,
               'shape': 0, 'first': None}
        seen = set()
        while out['got'] < count:
            m = recv(s)
            if m is None:
                break
            if len(m) != 2 or len(m[0]) != 8:
                out['shape'] += 1
                continue
            if m[0] not in qids:
                out['unknown'] += 1
            elif m[0] in seen:
                out['dup'] += 1
            else:
                seen.add(m[0])
                out['got'] += 1
                if out['first'] is None:
                    out['first'] = m[1].decode('utf-8', 'replace')
    else:
        raise SystemExit('usage: zmqpeer.py push|query ...')
    z.zmq_close(s)
    z.zmq_ctx_term(ctx)
    print(json.dumps(out))


main(sys.argv[1:])
