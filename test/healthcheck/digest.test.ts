import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestCommand } from '../../src/cli/digest.ts';
import { listen, selfSignedCertificate, type Closer } from './servers.ts';

// lvsctl digest lives in src/cli but belongs to the checkers: its output must
// match what HTTP_GET's `digest` compares against, so it is tested here.
const execFileAsync = promisify(execFile);
const closers: Closer[] = [];
let dir: string;
let httpPort = 0;
let httpsPort = 0;

function pages(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url === '/plain') res.end('hello world\n');
  else if (req.url === '/chunked') {
    res.write('first chunk, ');
    setTimeout(() => res.end('second chunk'), 5);
  } else if (req.url === '/big') res.end(Buffer.alloc(300_000, 'x'));
  else if (req.url === '/host') res.end(`host=${req.headers.host}`);
  else {
    res.writeHead(404);
    res.end('missing');
  }
}

async function genhash(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('genhash', args, { timeout: 15_000 });
  return stdout;
}

async function lvsctlDigest(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await digestCommand(args, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hc-digest-'));
  httpPort = await listen(http.createServer(pages), closers);
  httpsPort = await listen(https.createServer(await selfSignedCertificate(dir), pages), closers);
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

describe('lvsctl digest prints what genhash prints', () => {
  const cases: [string, string[]][] = [
    ['a plain page', ['-u', '/plain']],
    ['a chunked page (raw bytes are hashed)', ['-u', '/chunked', '-P', '1.1']],
    ['a 300 kB page', ['-u', '/big']],
    ['a 404 page', ['-u', '/missing']],
    ['with a virtualhost', ['-u', '/host', '-V', 'www.example.test']],
    ['with HTTP/1.0 and Connection: close', ['-u', '/host', '-P', '1.0c']],
  ];
  for (const [name, extra] of cases) {
    it(name, async () => {
      const args = ['-s', '127.0.0.1', '-p', String(httpPort), ...extra];
      const ours = await lvsctlDigest(args);
      expect(ours.out).toMatch(/^[0-9a-f]{32}\n$/);
      expect(ours.out).toBe(await genhash(args));
    });
  }

  it('over TLS (-S) with a self-signed certificate, with and without SNI', async () => {
    for (const extra of [[], ['-I', '-V', 'hc.test']]) {
      const args = ['-S', '-s', '127.0.0.1', '-p', String(httpsPort), '-u', '/host', ...extra];
      const ours = await lvsctlDigest(args);
      expect(ours.out).toMatch(/^[0-9a-f]{32}\n$/);
      expect(ours.out).toBe(await genhash(args));
    }
  });

  it('the URL form gives the same digest as the genhash flags', async () => {
    const viaFlags = await genhash(['-s', '127.0.0.1', '-p', String(httpPort), '-u', '/plain']);
    expect((await lvsctlDigest([`http://127.0.0.1:${httpPort}/plain`])).out).toBe(viaFlags);
    const viaTls = await genhash(['-S', '-s', '127.0.0.1', '-p', String(httpsPort), '-u', '/plain']);
    expect((await lvsctlDigest([`https://127.0.0.1:${httpsPort}/plain`])).out).toBe(viaTls);
  });

  it('prints "Connection failed" like genhash when nothing listens, but exits non-zero', async () => {
    const args = ['-s', '127.0.0.1', '-p', '1', '-u', '/'];
    const ours = await lvsctlDigest(args);
    expect(ours.out).toBe(await genhash(args));
    expect(ours.code).toBe(1);
  });

  it('rejects incomplete or malformed arguments with usage on stderr', async () => {
    for (const args of [['-s', '127.0.0.1', '-p', '80'], ['-s', 'localhost', '-p', '80', '-u', '/'], ['-P', '2', 'http://127.0.0.1/'], ['ftp://x/']]) {
      const r = await lvsctlDigest(args);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toContain('Usage: lvsctl digest');
    }
  });
});
