// The request keepalived's HTTP_GET / SSL_GET and genhash send, byte for byte; the native engine
// and the JavaScript exchange both send this text.
import { isIPv6 } from 'node:net';

export type HttpProtocol = '1.0' | '1.0C' | '1.1';

export function requestText(r: { readonly host: string; readonly port: number; readonly path: string; readonly virtualhost?: string; readonly protocol: HttpProtocol }): string {
  const host = r.virtualhost ?? `${isIPv6(r.host) ? `[${r.host}]` : r.host}:${r.port}`;
  const version = r.protocol === '1.1' ? '1.1' : '1.0';
  const close = r.protocol === '1.0' ? '' : 'Connection: close\r\n';
  return `GET ${r.path} HTTP/${version}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`;
}
