import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startDeadline } from '../../src/healthcheck/probes/result.ts';

/** Holds the event loop, as loading a module or a long GC does on a loaded director. */
function stallLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('a probe step deadline when the event loop stalls past it', () => {
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });

  /** A socket that received one datagram, still unread, while the loop was held past `periodMs`. */
  async function answerWaitingAfterStall(periodMs: number, onExpiry: () => void) {
    const receiver = dgram.createSocket('udp4');
    const sender = dgram.createSocket('udp4');
    sockets.push(receiver, sender);
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const deadline = startDeadline(periodMs, onExpiry);
    await new Promise<void>((resolve, reject) =>
      sender.send('answer', (receiver.address() as AddressInfo).port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
    stallLoop(periodMs * 2);
    return { receiver, deadline };
  }

  it('lets an answer that was already there win over the expiry', async () => {
    const outcomes: string[] = [];
    const { receiver, deadline } = await answerWaitingAfterStall(200, () => outcomes.push('timeout'));
    receiver.on('message', () => {
      outcomes.push('answer');
      deadline.cancel();
    });
    await sleep(300);
    expect(outcomes).toEqual(['answer']);
  });

  it('gives the next step of the exchange a full period after such an answer', async () => {
    const outcomes: string[] = [];
    const { receiver, deadline } = await answerWaitingAfterStall(200, () => outcomes.push('timeout'));
    receiver.on('message', () => {
      outcomes.push('answer');
      deadline.restart();
    });
    await sleep(100);
    expect(outcomes).toEqual(['answer']);
    await sleep(400);
    expect(outcomes).toEqual(['answer', 'timeout']);
  });
});
