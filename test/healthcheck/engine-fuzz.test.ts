// The native probe engine's HTTP response reader, fuzzed through its JavaScript interface against
// a model of the rules keepalived and genhash follow, first on its own and then over real sockets.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLOSED_BEFORE_HEADER, HASH_BODY, HEADER_TOO_LARGE, KEEP_BODY, NOT_HTTP, ProbeEngine, loadProbeEngineAddon,
} from '../../src/healthcheck/probe-engine.ts';
import { listen, type Closer } from './servers.ts';

const addon = loadProbeEngineAddon();
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 64 * 1024;

interface Expected {
  readonly code: number;
  readonly status: number;
  readonly body: Buffer | null;
}

/** The rules, one chunk at a time, as http-wire.ts applies them. */
function model(chunks: readonly Buffer[]): Expected {
  let header = Buffer.alloc(0);
  for (const [index, chunk] of chunks.entries()) {
    if (chunk.length === 0) continue;
    header = Buffer.concat([header, chunk]);
    const end = header.indexOf(HEADER_END);
    if (end < 0) {
      if (header.length > MAX_HEADER_BYTES) return { code: HEADER_TOO_LARGE, status: 0, body: null };
      continue;
    }
    const statusLine = /^HTTP\/\d\.\d (\d{3})/.exec(header.toString('latin1', 0, Math.min(end, 64)));
    if (statusLine === null) return { code: NOT_HTTP, status: 0, body: null };
    return { code: 0, status: Number(statusLine[1]), body: Buffer.concat([header.subarray(end + 4), ...chunks.slice(index + 1)]) };
  }
  return { code: CLOSED_BEFORE_HEADER, status: 0, body: null };
}

const statusLine = fc.oneof(
  fc.constantFrom('HTTP/1.0 200 OK', 'HTTP/1.1 404 Not Found', 'HTTP/1.1 000 Zero', 'HTTP/2.0 503 x', 'HTTP/1.0 20 short', 'HTTP/1.x 200 OK', 'http/1.0 200 OK', 'SSH-2.0-x'),
  fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 999 })).map(([a, b, s]) => `HTTP/${a}.${b} ${String(s).padStart(3, '0')} Reason`),
  fc.string({ maxLength: 20 }),
);
const headerLines = fc.array(fc.oneof(fc.constantFrom('Content-Length: 5', 'Connection: close', ''), fc.string({ maxLength: 30 })), { maxLength: 5 });
const body = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.constantFrom(Buffer.from('\r\n\r\n'), Buffer.alloc(0)));
const response = fc
  .tuple(statusLine, headerLines, fc.constantFrom('\r\n\r\n', '\r\n', '\n\n', '\r\n\r', ''), body)
  .map(([status, lines, end, rest]) => Buffer.concat([Buffer.from([status, ...lines].join('\r\n') + end, 'latin1'), rest]));
const anyBytes = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b));

/** Cuts a response at arbitrary places, so header ends straddle chunk borders. */
const chunked = fc.tuple(fc.oneof(response, anyBytes), fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 6 })).map(([bytes, cuts]) => {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of at) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
});

function agrees(chunks: Buffer[]): void {
  const expected = model(chunks);
  const got = addon.parseHttpResponse(chunks, HASH_BODY | KEEP_BODY);
  expect(got.code).toBe(expected.code);
  expect(got.status).toBe(expected.status);
  if (expected.body === null) {
    expect(got.body).toBeNull();
    expect(got.md5).toBeNull();
  } else {
    expect(got.body?.equals(expected.body)).toBe(true);
    expect(got.md5?.toString('hex')).toBe(createHash('md5').update(expected.body).digest('hex'));
  }
}

describe('the native HTTP response reader', () => {
  it('agrees with the model on 100,000 responses cut into chunks', () => {
    fc.assert(fc.property(chunked, (chunks) => agrees(chunks)), { seed: 20261202, numRuns: 100_000 });
  });

  it('agrees around the 64 KiB header limit', () => {
    const sizes = fc.integer({ min: MAX_HEADER_BYTES - 40, max: MAX_HEADER_BYTES + 40 });
    fc.assert(
      fc.property(sizes, fc.boolean(), fc.integer({ min: 1, max: 70_000 }), (size, complete, cut) => {
        const bytes = Buffer.from(`HTTP/1.0 200 OK\r\nX: ${'a'.repeat(size)}${complete ? '\r\n\r\nbody' : ''}`, 'latin1');
        agrees([bytes.subarray(0, cut), bytes.subarray(cut)]);
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it('hashes only when asked, and keeps the body only when asked', () => {
    const chunks = [Buffer.from('HTTP/1.0 200 OK\r\n\r\nhello')];
    expect(addon.parseHttpResponse(chunks, 0)).toEqual({ code: 0, status: 200, md5: null, body: null });
    expect(addon.parseHttpResponse(chunks, HASH_BODY).md5?.toString('hex')).toBe(createHash('md5').update('hello').digest('hex'));
  });
});

describe('fuzzed responses over real sockets', () => {
  const closers: Closer[] = [];
  const engine = new ProbeEngine(loadProbeEngineAddon());
  afterAll(async () => {
    engine.close();
    for (const close of closers.reverse()) await close();
  });

  it('give the model verdict, and leave descriptors and memory flat over 2,000 exchanges', async () => {
    const replies: { chunks: Buffer[]; reset: boolean }[] = [];
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => {
        const reply = replies.shift()!;
        for (const chunk of reply.chunks) if (chunk.length > 0) socket.write(chunk);
        if (reply.reset) socket.resetAndDestroy();
        else socket.end();
      });
    });
    const port = await listen(server, closers);
    const options = { tls: false, host: '127.0.0.1', port, timeoutMs: 2000, verifyCertificate: false, httpProtocol: '1.0' as const, urls: [] };
    const url = { path: '/', statusCodes: [], regexNoMatch: false, digest: '0'.repeat(32) };
    const samples = fc.sample(fc.tuple(chunked, fc.integer({ min: 0, max: 9 })), { seed: 42, numRuns: 2000 });
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const rssBefore = process.memoryUsage().rss;
    for (const [chunks, die] of samples) {
      const reset = die === 0;
      replies.push({ chunks, reset });
      const got = await engine.httpGet(url, options);
      const expected = model(chunks);
      if (reset && !got.ok && got.error.startsWith('ECONNRESET')) continue;
      if (expected.code === 0) {
        expect(got).toMatchObject({ ok: true, status: expected.status, md5: createHash('md5').update(expected.body!).digest('hex') });
      } else {
        expect(got.ok).toBe(false);
      }
    }
    // The server's side of the last exchanges may still be closing.
    for (let i = 0; i < 100 && readdirSync('/proc/self/fd').length !== fdsBefore; i++) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(30 * 1024 * 1024);
  });
});
