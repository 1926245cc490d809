/**
 * Child process of bench/memory.ts: logs in N users against a node and keeps one idle WebSocket
 * each, so that the node's memory can be measured without the clients in its process.
 */
import WebSocket from 'ws';

const [url, count] = [process.argv[2]!, Number(process.argv[3])];
const sockets: WebSocket[] = [];
for (let i = 0; i < count; i++) {
  const response = await fetch(`${url}/login/idle${i}`);
  const { token } = (await response.json()) as { token: string };
  // Eight loopback source addresses, so thousands of connections do not run out of ephemeral ports.
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` }, localAddress: `127.0.0.${1 + (i % 8)}` });
  await new Promise((resolve) => socket.once('message', resolve));
  sockets.push(socket);
}
process.send?.('ready');
setInterval(() => {}, 60_000);
