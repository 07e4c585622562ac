import net from 'node:net';
import type { ProbeResult } from '../state.ts';
import { ProbeClock, describeError, startDeadline } from './result.ts';

export interface TcpProbeOptions {
  readonly host: string;
  readonly port: number;
  readonly bindTo?: string;
  readonly bindPort?: number;
  readonly timeoutMs: number;
  /** keepalived's close (FIN) instead of the default reset; see native/probe. */
  readonly closeWithFin?: boolean;
  /** A SYN on a raw socket, up at the SYN-ACK (`lvsd_tcp_check syn`); the native engine only. */
  readonly halfOpen?: boolean;
}

/** Starts a TCP connection from the configured source address and port, if any. */
export function connectFrom(options: TcpProbeOptions): net.Socket {
  return net.connect({
    host: options.host,
    port: options.port,
    ...(options.bindTo === undefined ? {} : { localAddress: options.bindTo }),
    ...(options.bindPort === undefined ? {} : { localPort: options.bindPort }),
  });
}

/** TCP_CHECK: up when a connection is established within the timeout. */
export function tcpProbe(options: TcpProbeOptions): Promise<ProbeResult> {
  const clock = new ProbeClock();
  return new Promise((resolve) => {
    const socket = connectFrom(options);
    const finish = (result: ProbeResult): void => {
      deadline.cancel();
      socket.destroy();
      resolve(result);
    };
    const deadline = startDeadline(options.timeoutMs, () => finish(clock.fail(`connect timeout after ${options.timeoutMs} ms`)));
    socket.once('connect', () => finish(clock.ok()));
    socket.once('error', (error) => finish(clock.fail(describeError(error))));
  });
}
