// A demo real server: answers /health with 200 and / with its name.
import { createServer } from 'node:http';

const [port, name] = process.argv.slice(2);
createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain' });
  response.end(request.url === '/health' ? 'ok\n' : `hello from ${name}\n`);
}).listen(Number(port));
