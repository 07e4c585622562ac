import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { gratuitousArpFrame, unsolicitedNeighborAdvertisementFrame } from '../../src/vrrp/frames.ts';
import { internetChecksum } from '../../src/vrrp/packet.ts';
import { runCommand, splitCommandLine } from '../../src/util/command.ts';
import { notifyArguments, notifyFifoLine, writeFifo } from '../../src/vrrp/scripts.ts';
import { effectivePriority, initialScriptHealth, recordScriptResult } from '../../src/vrrp/tracking.ts';

describe('vrrp_script health', () => {
  it('needs `fall` failures in a row to fail and `rise` successes to recover', () => {
    let health = initialScriptHealth(false);
    health = recordScriptResult(health, false, 2, 3);
    health = recordScriptResult(health, false, 2, 3);
    expect(health.healthy).toBe(true);
    health = recordScriptResult(health, true, 2, 3);
    health = recordScriptResult(health, false, 2, 3);
    health = recordScriptResult(health, false, 2, 3);
    health = recordScriptResult(health, false, 2, 3);
    expect(health.healthy).toBe(false);
    health = recordScriptResult(health, true, 2, 3);
    expect(health.healthy).toBe(false);
    expect(recordScriptResult(health, true, 2, 3).healthy).toBe(true);
  });

  it('starts failed with init_fail', () => {
    expect(initialScriptHealth(true).healthy).toBe(false);
  });

  it('weights the priority like keepalived: +w while healthy, -w while failed, 0 means FAULT', () => {
    expect(effectivePriority(100, [{ weight: -20, healthy: false }])).toEqual({ effectivePriority: 80, faulty: false });
    expect(effectivePriority(100, [{ weight: 10, healthy: true }, { weight: -20, healthy: true }])).toEqual({ effectivePriority: 110, faulty: false });
    expect(effectivePriority(250, [{ weight: 30, healthy: true }]).effectivePriority).toBe(254);
    expect(effectivePriority(10, [{ weight: -30, healthy: false }]).effectivePriority).toBe(1);
    expect(effectivePriority(255, [{ weight: 0, healthy: false }])).toEqual({ effectivePriority: 255, faulty: true });
  });
});

describe('scripts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vr-scripts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('splits command lines as keepalived.conf writes them', () => {
    expect(splitCommandLine(`/usr/bin/check "a b" 'c d' e\\ f`)).toEqual(['/usr/bin/check', 'a b', 'c d', 'e f']);
    expect(splitCommandLine('  ')).toEqual([]);
  });

  it('reports exit status and kills scripts that overrun their timeout', async () => {
    expect(await runCommand(['/bin/true'], { timeoutMs: 2000 })).toEqual({ succeeded: true });
    expect(await runCommand(['/bin/false'], { timeoutMs: 2000 })).toEqual({ succeeded: false, why: 'exit 1' });
    expect(await runCommand(['/bin/sleep', '5'], { timeoutMs: 100 })).toEqual({ succeeded: false, why: 'timed out after 100 ms' });
  });

  it('passes keepalived notify arguments and writes notify_fifo lines', async () => {
    expect(notifyArguments('VI_1', 'MASTER', 150)).toEqual(['INSTANCE', 'VI_1', 'MASTER', '150']);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await writeFifo(fifo, 'nobody reads this, and the speaker must not block\n');
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let read = '';
    reader.stdout.on('data', (chunk: Buffer) => (read += chunk.toString()));
    const closed = new Promise((resolve) => reader.on('exit', resolve));
    for (let attempt = 0; attempt < 40 && read === ''; attempt++) {
      await writeFifo(fifo, notifyFifoLine('VI_1', 'BACKUP', 100));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    reader.kill();
    await closed;
    expect(read.split('\n')[0]).toBe('INSTANCE "VI_1" BACKUP 100');
  });
});

describe('announcement frames', () => {
  const mac = Buffer.from([0x02, 0, 0, 0, 0, 1]);

  it('builds a gratuitous ARP request for the VIP from our MAC', () => {
    const frame = gratuitousArpFrame(mac, '10.0.0.100');
    expect(frame.length).toBe(42);
    expect(frame.subarray(0, 6)).toEqual(Buffer.alloc(6, 0xff));
    expect(frame.readUInt16BE(12)).toBe(0x0806);
    expect(frame.readUInt16BE(20)).toBe(1);
    expect(frame.subarray(28, 32)).toEqual(Buffer.from([10, 0, 0, 100]));
    expect(frame.subarray(38, 42)).toEqual(Buffer.from([10, 0, 0, 100]));
  });

  it('builds an unsolicited NA with hop limit 255 and a valid ICMPv6 checksum', () => {
    const frame = unsolicitedNeighborAdvertisementFrame(mac, 'fd00::100');
    const ipv6 = frame.subarray(14, 54);
    const icmp = frame.subarray(54);
    expect(ipv6[7]).toBe(255);
    expect(icmp[0]).toBe(136);
    const pseudo = Buffer.concat([ipv6.subarray(8, 40), Buffer.from([0, 0, 0, icmp.length, 0, 0, 0, 58])]);
    expect(internetChecksum(pseudo, icmp)).toBe(0);
  });
});
