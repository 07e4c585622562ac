import { createRequire } from 'node:module';

/** The part of the untyped `raw-socket` package lvsd uses (ICMP echo, VRRP). */
export interface RawSocket {
  on(event: 'message', listener: (buffer: Buffer, source: string) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  setOption(level: number, option: number, value: number): void;
  setOption(level: number, option: number, value: Buffer, length: number): void;
  send(buffer: Buffer, offset: number, length: number, address: string, afterSend: (error: Error | null, bytes: number) => void): void;
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    beforeSend: (() => void) | null,
    afterSend: (error: Error | null, bytes: number) => void,
  ): void;
  close(): void;
}

interface RawSocketModule {
  createSocket(options: { addressFamily: number; protocol: number; bufferSize?: number }): RawSocket;
  createChecksum(buffer: Buffer): number;
  writeChecksum(buffer: Buffer, offset: number, checksum: number): void;
  AddressFamily: { IPv4: number; IPv6: number };
  Protocol: { ICMP: number; ICMPv6: number };
}

export const rawSocket = createRequire(import.meta.url)('raw-socket') as RawSocketModule;
