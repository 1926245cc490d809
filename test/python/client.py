"""The proof of concept's console client, as it was written (python-socketio + requests).

Prompts for a name, logs in with GET /login/<name> in an HTTP session, connects with that
session's cookies, prints each `receive` event, and emits every line typed as a `message`
event until `x`. Usage: client.py <server url> [websocket]  (default: polling, then upgrade).
With ENGINEIO_LOG=1 python-engineio logs its transport steps to stderr (what a test checks).
"""
import os
import sys

import requests
import socketio

url = sys.argv[1]
transports = ['websocket'] if len(sys.argv) > 2 and sys.argv[2] == 'websocket' else ['polling', 'websocket']

session = requests.Session()
sio = socketio.Client(http_session=session, engineio_logger=os.environ.get('ENGINEIO_LOG') == '1')


@sio.event
def connect():
    print('connected via', sio.transport(), flush=True)


@sio.on('receive')
def receive(data):
    print(f"{data['from']}: {data['text']} (#{data['id']})", flush=True)


name = input('name: ')
session.get(f'{url}/login/{name}').raise_for_status()
sio.connect(url, transports=transports)
while True:
    line = input()
    if line == 'x':
        break
    sio.emit('message', line)
sio.disconnect()
