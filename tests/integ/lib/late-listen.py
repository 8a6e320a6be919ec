#!/usr/bin/python3
# SPDX-License-Identifier: ISC
#
# A stand-in for chat-pushd that binds its Unix socket, waits, and only then
# listens: the moment between bind() and listen(), when the socket file
# exists but refuses connections, made long. It answers every HTTP request
# with 200 "ok". "-n -c FILE" (the config check) exits 0 at once.

import os
import socket
import sys
import time

args = sys.argv[1:]
conf = args[args.index('-c') + 1]
if '-n' in args:
    sys.exit(0)
path = None
with open(conf) as f:
    for line in f:
        words = line.split()
        if len(words) == 2 and words[0] == 'push_socket':
            path = words[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
time.sleep(float(os.environ.get('LATE_LISTEN_SECONDS', '2')))
s.listen(16)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n'
                  b'Content-Length: 2\r\nConnection: close\r\n\r\nok')
    except OSError:
        pass
    c.close()
