import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';

/**
 * The control socket: one JSON request per connection, one JSON answer.
 * Small on purpose: lvsctl is its only client and a status is a snapshot.
 */
export type ControlRequest =
  | { readonly command: 'status' }
  /** The status already rendered, for clients that only print it (native/lvsctl). */
  | { readonly command: 'status-view'; readonly format: StatusFormat; readonly color: boolean }
  | { readonly command: 'reload' }
  | { readonly command: 'diff'; readonly configFile: string }
  | { readonly command: 'drain'; readonly realServer: string; readonly virtualServer?: string }
  | { readonly command: 'undrain'; readonly realServer: string; readonly virtualServer?: string; readonly overSeconds: number };

export type StatusFormat = 'table' | 'json';

export type ControlResponse = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: string };

export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

const MAX_REQUEST_BYTES = 64 * 1024;

export async function serveControl(path: string, handle: ControlHandler): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  // A socket file left by a crashed run would make listen() fail with EADDRINUSE.
  rmSync(path, { force: true });
  const server = createServer((connection) => {
    let received = '';
    connection.setEncoding('utf8');
    connection.on('error', () => connection.destroy());
    connection.on('data', (chunk: string) => {
      received += chunk;
      if (received.length > MAX_REQUEST_BYTES) return connection.destroy();
      const end = received.indexOf('\n');
      if (end < 0) return;
      void answer(received.slice(0, end)).then((response) => connection.end(`${JSON.stringify(response)}\n`));
    });
  });
  const answer = async (line: string): Promise<ControlResponse> => {
    try {
      return { ok: true, result: await handle(parseRequest(line)) };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o660);
  return server;
}

function parseRequest(line: string): ControlRequest {
  const request = JSON.parse(line) as Partial<ControlRequest>;
  switch (request.command) {
    case 'status':
    case 'reload':
      return { command: request.command };
    case 'diff':
      if (typeof (request as { configFile?: unknown }).configFile !== 'string') throw new Error('diff needs configFile');
      return request as ControlRequest;
    case 'drain':
    case 'undrain': {
      const { realServer, virtualServer, overSeconds } = request as { realServer?: unknown; virtualServer?: unknown; overSeconds?: unknown };
      if (typeof realServer !== 'string' || (virtualServer !== undefined && typeof virtualServer !== 'string')) throw new Error(`${request.command} needs realServer (and a virtualServer, if any, as a string)`);
      const target = { realServer, ...(virtualServer !== undefined && { virtualServer }) };
      if (request.command === 'drain') return { command: 'drain', ...target };
      if (typeof overSeconds !== 'number' || !(overSeconds >= 0)) throw new Error('undrain needs overSeconds >= 0');
      return { command: 'undrain', ...target, overSeconds };
    }
    case 'status-view': {
      const { format, color } = request as { format?: unknown; color?: unknown };
      if ((format !== 'table' && format !== 'json') || typeof color !== 'boolean') throw new Error('status-view needs format (table or json) and color');
      return { command: 'status-view', format, color };
    }
    default:
      throw new Error(`unknown command ${String(request.command)}`);
  }
}

export class ControlUnavailableError extends Error {}

/** Sends one request to the daemon at `path` and returns its result (or throws its error). */
export async function requestControl(path: string, request: ControlRequest, timeoutMs = 30_000): Promise<unknown> {
  const line = await new Promise<string>((resolve, reject) => {
    const socket = createConnection(path);
    let received = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from lvsd at ${path} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => resolve(received));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
          ? new ControlUnavailableError(`lvsd is not running (no control socket at ${path})`)
          : error,
      ),
    );
  });
  const response = JSON.parse(line) as ControlResponse;
  if (!response.ok) throw new Error(response.error);
  return response.result;
}
