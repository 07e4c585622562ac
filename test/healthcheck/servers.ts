import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import net from 'node:net';
import type { Server } from 'node:net';

export type Closer = () => Promise<void>;

/** Listens on 127.0.0.1 on a free port, registers its close (connections still open included), returns the port. */
export async function listen(server: Server, closers: Closer[], host = '127.0.0.1'): Promise<number> {
  const connections = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  closers.push(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const socket of connections) socket.destroy();
  }));
  return (server.address() as net.AddressInfo).port;
}

/** A minimal SMTP server: greeting, 250 to HELO/EHLO, 221 to QUIT, 500 otherwise. */
export async function startSmtpServer(closers: Closer[], options: { greeting: string }) {
  const received: string[] = [];
  const server = net.createServer((socket) => {
    socket.write(`${options.greeting}\r\n`);
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      let i: number;
      while ((i = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 2);
        received.push(line);
        if (/^(HELO|EHLO) /i.test(line)) socket.write('250 hello\r\n');
        else if (/^QUIT$/i.test(line)) socket.end('221 bye\r\n');
        else socket.write('500 what\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  return { port: await listen(server, closers), received };
}

/**
 * A tiny UDP DNS responder: known names get one A record (127.0.0.1), others NXDOMAIN.
 * Names map to the record type they answer.
 */
export async function startDnsResponder(closers: Closer[], zone: Record<string, number>) {
  const questions: { name: string; type: number }[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, rinfo) => {
    const { name, type, end } = readQuestion(query);
    questions.push({ name, type });
    const known = zone[name] === type;
    const header = Buffer.from(query.subarray(0, 12));
    header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2);
    header.writeUInt16BE(known ? 1 : 0, 6);
    const question = query.subarray(12, end);
    const answer = known
      ? Buffer.concat([Buffer.from([0xc0, 12]), u16(type), u16(1), Buffer.from([0, 0, 0, 60]), u16(4), Buffer.from([127, 0, 0, 1])])
      : Buffer.alloc(0);
    socket.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  closers.push(async () => { socket.close(); });
  return { port: socket.address().port, questions };
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function readQuestion(query: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let offset = 12;
  for (let len = query[offset] ?? 0; len > 0; len = query[offset] ?? 0) {
    labels.push(query.toString('ascii', offset + 1, offset + 1 + len));
    offset += len + 1;
  }
  offset += 1;
  return { name: labels.join('.'), type: query.readUInt16BE(offset), end: offset + 4 };
}

/** A fresh self-signed certificate for CN=hc.test, generated with openssl into `dir`. */
export async function selfSignedCertificate(dir: string): Promise<{ key: Buffer; cert: Buffer }> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=hc.test',
  ], { timeout: 20_000 });
  return { key: await readFile(key), cert: await readFile(cert) };
}
