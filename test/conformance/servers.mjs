// The real servers of one conformance run that busybox httpd cannot play, started by
// run-case.mjs inside the server namespace. One process serves them all: a node process costs
// about a second of emulated CPU and tens of MB, and a case's daemons run beside other cases.
// Plain JavaScript: it starts fast under TCG.
//
//   node servers.mjs DIR
//
// Commands, one per line on stdin, each answered on stdout once done:
//   start NAME KIND ADDRESS PORT   ->  started NAME
//   stop NAME                      ->  stopped NAME
// A failed start answers "failed NAME: reason". Stopping closes the listening socket and resets
// every open connection, which the checks see as they would a killed server.
//
// KIND is one of:
//   tls          HTTPS: /health answers 200 "ok\n", any other path 404; a self-signed
//                certificate is made in DIR on first use
//   udp-echo     RFC 862: every datagram is sent back as it came
//   udp-discard  RFC 863: datagrams are read and never answered
//   dns          www.example.test has an A record (192.0.2.80) and nothing else; the root
//                (DNS_CHECK's default name) has no record either; other names are NXDOMAIN
//   smtp         220 greeting, 250 to HELO/EHLO, 221 to QUIT, 502 to anything else
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer, get as httpsGet } from 'node:https';
import { createServer as createTcpServer, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const dir = process.argv[2];

function certificate() {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  if (!existsSync(cert)) {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
        '-subj', '/CN=conformance', '-keyout', key, '-out', cert],
      { stdio: 'ignore', timeout: 20_000 },
    );
  }
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** A listening TCP server whose stop also resets the connections it has accepted. */
function tcp(server, address, port) {
  const connections = new Set();
  server.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () =>
      resolve(() =>
        new Promise((closed) => {
          server.close(closed);
          for (const socket of connections) socket.resetAndDestroy();
        }),
      ),
    );
  });
}

async function tls(address, port) {
  const server = createHttpsServer(certificate(), (request, response) => {
    const found = request.url === '/health';
    const body = found ? 'ok\n' : 'not found\n';
    response.writeHead(found ? 200 : 404, { 'content-type': 'text/plain', 'content-length': body.length });
    response.end(body);
  });
  const stop = await tcp(server, address, port);
  await warmUp(address, port);
  return stop;
}

/**
 * One request of our own before the first check: node compiles its TLS code on first use, which on
 * an emulated CPU takes longer than a checker's connect_timeout.
 */
function warmUp(address, port) {
  return new Promise((resolve, reject) => {
    httpsGet({ hostname: address, port, path: '/health', rejectUnauthorized: false, agent: false }, (response) => response.resume().on('end', resolve)).on('error', reject);
  });
}

function smtp(address, port) {
  const server = createTcpServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.setEncoding('latin1');
    socket.write(`220 ${address} ESMTP conformance\r\n`);
    let pending = '';
    socket.on('data', (data) => {
      pending += data;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const verb = pending.slice(0, newline).trim().split(' ')[0].toUpperCase();
        pending = pending.slice(newline + 1);
        if (verb === 'HELO' || verb === 'EHLO') socket.write(`250 ${address}\r\n`);
        else if (verb === 'QUIT') socket.end('221 closing connection\r\n');
        else socket.write('502 command not implemented\r\n');
      }
    });
  });
  return tcp(server, address, port);
}

function udp(address, port, answer) {
  const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  socket.on('message', (datagram, from) => {
    const reply = answer(datagram);
    if (reply) socket.send(reply, from.port, from.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve(() => new Promise((closed) => socket.close(closed))));
  });
}

const DNS_NAME = 'www.example.test';
const DNS_TYPE_A = 1;
const DNS_NXDOMAIN = 3;
const DNS_A_RECORD = Buffer.from([
  0xc0, 0x0c, // the name of the question
  0x00, DNS_TYPE_A, 0x00, 0x01, // A, IN
  0x00, 0x00, 0x00, 0x3c, // TTL 60 s
  0x00, 0x04, 192, 0, 2, 80,
]);

/** The answer to one query, or undefined for anything that is not a query with one question. */
function dnsAnswer(query) {
  if (query.length < 12 || (query.readUInt16BE(2) & 0x8000) !== 0 || query.readUInt16BE(4) !== 1) return undefined;
  const labels = [];
  let offset = 12;
  while (offset < query.length && query[offset] !== 0) {
    labels.push(query.subarray(offset + 1, offset + 1 + query[offset]).toString('latin1'));
    offset += 1 + query[offset];
  }
  const questionEnd = offset + 5;
  if (questionEnd > query.length) return undefined;
  const name = labels.join('.').toLowerCase();
  const known = name === DNS_NAME || name === '';
  const answers = name === DNS_NAME && query.readUInt16BE(offset + 1) === DNS_TYPE_A ? [DNS_A_RECORD] : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  const response = 0x8000;
  const authoritative = 0x0400;
  const recursionDesired = query.readUInt16BE(2) & 0x0100;
  header.writeUInt16BE(response | authoritative | recursionDesired | (known ? 0 : DNS_NXDOMAIN), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
}

/** Each kind starts listening and resolves to a function that stops it. */
const KINDS = {
  tls,
  smtp,
  'udp-echo': (address, port) => udp(address, port, (datagram) => datagram),
  'udp-discard': (address, port) => udp(address, port, () => undefined),
  dns: (address, port) => udp(address, port, dnsAnswer),
};

const running = new Map();

async function execute(line) {
  const [verb, name, kind, address, port] = line.trim().split(/\s+/);
  if (verb === 'start') {
    if (!(kind in KINDS)) throw new Error(`unknown server kind ${kind}; known: ${Object.keys(KINDS).join(' ')}`);
    running.set(name, await KINDS[kind](address, Number(port)));
    return `started ${name}`;
  }
  if (verb === 'stop') {
    const stop = running.get(name);
    if (!stop) throw new Error(`${name} is not running`);
    running.delete(name);
    await stop();
    return `stopped ${name}`;
  }
  throw new Error(`unknown command ${verb}`);
}

for await (const line of createInterface({ input: process.stdin })) {
  const name = line.trim().split(/\s+/)[1];
  const answer = await execute(line).catch((error) => `failed ${name}: ${error.message}`);
  process.stdout.write(`${answer}\n`);
}
