// `lvsctl digest`: the MD5 of a page's body, printed exactly as keepalived's
// genhash prints it, so its output can be pasted into an HTTP_GET `digest`.
// It uses the HTTP_GET checker's own exchange, so the two always agree.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { httpWireGet } from '../healthcheck/probes/http-wire.ts';

export interface TextSink {
  write(chunk: string): unknown;
}

type HttpProtocol = '1.0' | '1.0c' | '1.1';

export interface DigestRequest {
  readonly server: string;
  readonly port: number;
  readonly path: string;
  readonly ssl: boolean;
  readonly sni: boolean;
  readonly virtualhost?: string;
  readonly protocol: HttpProtocol;
  readonly timeoutMs: number;
}

const USAGE = `Usage: lvsctl digest [--ssl] URL
       lvsctl digest [-S] [-I] -s server-address -p port -u url [-V virtualhost] [-P 1.0|1.0c|1.1] [-t seconds]
Prints the MD5 digest of the body like keepalived's genhash.
`;

export async function digestCommand(argv: string[], out: TextSink, err: TextSink): Promise<number> {
  const parsed = parseDigestArgs(argv);
  if (parsed === 'help') {
    out.write(USAGE);
    return 0;
  }
  if (typeof parsed === 'string') {
    err.write(`${parsed}\n${USAGE}`);
    return 1;
  }
  const digest = await fetchBodyDigest(parsed);
  if (digest === null) {
    out.write('Connection failed\n');
    return 1;
  }
  out.write(`${digest}\n`);
  return 0;
}

function parseDigestArgs(argv: string[]): DigestRequest | 'help' | string {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'use-ssl': { type: 'boolean', short: 'S' },
        ssl: { type: 'boolean' },
        'use-sni': { type: 'boolean', short: 'I' },
        server: { type: 'string', short: 's' },
        port: { type: 'string', short: 'p' },
        url: { type: 'string', short: 'u' },
        'use-virtualhost': { type: 'string', short: 'V' },
        protocol: { type: 'string', short: 'P' },
        timeout: { type: 'string', short: 't' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return (error as Error).message;
  }
  if (values.help) return 'help';
  const protocol = (values.protocol ?? '1.0').toLowerCase();
  if (protocol !== '1.0' && protocol !== '1.0c' && protocol !== '1.1') return `unknown HTTP protocol ${values.protocol}`;
  const timeoutSec = values.timeout === undefined ? 5 : Number(values.timeout);
  if (!(timeoutSec > 0)) return `bad timeout ${values.timeout}`;
  const common = {
    ssl: Boolean(values['use-ssl'] || values.ssl),
    sni: Boolean(values['use-sni']),
    protocol,
    timeoutMs: timeoutSec * 1000,
    ...(values['use-virtualhost'] === undefined ? {} : { virtualhost: values['use-virtualhost'] }),
  } as const;

  if (positionals.length > 0) {
    if (positionals.length > 1 || values.server !== undefined) return 'give either one URL or -s/-p/-u';
    return fromUrl(positionals[0]!, common);
  }
  if (values.server === undefined || values.port === undefined || values.url === undefined) {
    return 'server (-s), port (-p) and url (-u) are required';
  }
  if (net.isIP(values.server) === 0) return `server should be an IP, not ${values.server}`;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `bad port ${values.port}`;
  return { ...common, server: values.server, port, path: values.url };
}

function fromUrl(text: string, common: Omit<DigestRequest, 'server' | 'port' | 'path'>): DigestRequest | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `not a URL: ${text}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `not an http(s) URL: ${text}`;
  const ssl = common.ssl || url.protocol === 'https:';
  const server = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (ssl ? 443 : 80) : Number(url.port);
  return { ...common, ssl, server, port, path: `${url.pathname}${url.search}` };
}

/** The hex MD5 of everything after the response header, or null when the exchange failed. */
export async function fetchBodyDigest(r: DigestRequest): Promise<string | null> {
  const response = await httpWireGet({
    tls: r.ssl,
    host: r.server,
    port: r.port,
    path: r.path,
    protocol: r.protocol === '1.0c' ? '1.0C' : r.protocol,
    verifyCertificate: false,
    timeoutMs: r.timeoutMs,
    keepBody: false,
    hashBody: true,
    ...(r.virtualhost === undefined ? {} : { virtualhost: r.virtualhost }),
    ...(r.sni && r.virtualhost !== undefined ? { sni: r.virtualhost } : {}),
  });
  return response.ok ? response.md5 : null;
}
