// A real server of the failover test: answers each line with its own name and the line, so the
// client sees which real server every answer came from.
//
//   node echo-server.mjs NAME ADDRESS PORT
import net from 'node:net';
import { createInterface } from 'node:readline';

const [name, address, port] = process.argv.slice(2);
net
  .createServer((socket) => {
    socket.on('error', () => socket.destroy());
    createInterface({ input: socket })
      .on('line', (line) => socket.write(`${name} ${line}\n`))
      .on('error', () => socket.destroy());
  })
  .listen(Number(port), address, () => console.log('ready'));
