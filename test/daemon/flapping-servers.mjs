// Real servers that come and go: for every ADDRESS, a TCP listener on PORT and an HTTP/1.0
// server on PORT+1 answering 200 "ok", each stopped (its connections reset) and started again
// every PERIOD_MS, the listeners out of phase with each other so that verdicts keep flipping.
// Ends by itself after MAX_SECONDS. Plain JavaScript: it starts fast under TCG.
//
//   node flapping-servers.mjs PORT PERIOD_MS MAX_SECONDS ADDRESS...
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

const [port, periodMs, maxSeconds, ...addresses] = process.argv.slice(2);

function flapping(makeServer, address, listenPort, phase) {
  const connections = new Set();
  let server;
  let up = false;
  const toggle = () => {
    if (up) {
      server.close();
      for (const socket of connections) socket.resetAndDestroy();
      up = false;
      return;
    }
    server = makeServer();
    server.on('connection', (socket) => {
      connections.add(socket);
      socket.on('close', () => connections.delete(socket));
    });
    server.on('error', () => {});
    server.listen(listenPort, address);
    up = true;
  };
  toggle();
  setTimeout(() => setInterval(toggle, Number(periodMs)), phase);
}

addresses.forEach((address, i) => {
  const phase = (i * Number(periodMs)) / addresses.length;
  flapping(() => createTcpServer(() => {}), address, Number(port), phase);
  flapping(() => createHttpServer((_request, response) => response.end('ok\n')), address, Number(port) + 1, phase / 2);
});
setTimeout(() => process.exit(0), Number(maxSeconds) * 1000);
