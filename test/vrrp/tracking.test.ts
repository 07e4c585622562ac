import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { gratuitousArpFrame, unsolicitedNeighborAdvertisementFrame } from '../../src/vrrp/frames.ts';
import { internetChecksum } from '../../src/vrrp/packet.ts';
import { runCommand, splitCommandLine } from '../../src/util/command.ts';
import { notifyArguments, notifyFifoLine, writeFifo } from '../../src/vrrp/scripts.ts';
import { effectivePriority, initialScriptHealth, recordScriptResult, type Tracked } from '../../src/vrrp/tracking.ts';
import { trackedValueOf } from '../../src/healthcheck/tracked-file.ts';

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

  const up = (weight: number, reverse = false): Tracked => ({ kind: 'condition', weight, reverse, up: true });
  const down = (weight: number, reverse = false): Tracked => ({ kind: 'condition', weight, reverse, up: false });
  const file = (value: number, weight: number, reverse = false): Tracked => ({ kind: 'value', weight, reverse, value });

  it('weights the priority like keepalived: +w while healthy, -w while failed, 0 means FAULT', () => {
    expect(effectivePriority(100, [down(-20)])).toEqual({ effectivePriority: 80, faulty: false });
    expect(effectivePriority(100, [up(10), up(-20)])).toEqual({ effectivePriority: 110, faulty: false });
    expect(effectivePriority(250, [up(30)]).effectivePriority).toBe(254);
    expect(effectivePriority(10, [down(-30)]).effectivePriority).toBe(1);
    expect(effectivePriority(255, [down(0)])).toEqual({ effectivePriority: 255, faulty: true });
  });

  it('reverse negates the amount but keeps when it counts, as keepalived 2.2.7 does', () => {
    // weight 10 reverse: -10 while up, nothing while down.
    expect(effectivePriority(100, [up(10, true)]).effectivePriority).toBe(90);
    expect(effectivePriority(100, [down(10, true)]).effectivePriority).toBe(100);
    // weight -10 reverse: +10 while down, nothing while up.
    expect(effectivePriority(100, [down(-10, true)]).effectivePriority).toBe(110);
    expect(effectivePriority(100, [up(-10, true)]).effectivePriority).toBe(100);
    // weight 0 reverse: FAULT while up.
    expect(effectivePriority(100, [up(0, true)]).faulty).toBe(true);
    expect(effectivePriority(100, [down(0, true)]).faulty).toBe(false);
  });

  it('an address owner keeps 255 whatever its weighted tracking says', () => {
    expect(effectivePriority(255, [down(-50), up(20, true), file(3, 10)])).toEqual({ effectivePriority: 255, faulty: false });
  });

  it("adds a track_file's value times its weight, clamped to 253, with -254 or below meaning FAULT", () => {
    expect(effectivePriority(100, [file(3, 5)])).toEqual({ effectivePriority: 115, faulty: false });
    expect(effectivePriority(100, [file(3, 5, true)])).toEqual({ effectivePriority: 85, faulty: false });
    expect(effectivePriority(100, [file(-2, 10)])).toEqual({ effectivePriority: 80, faulty: false });
    expect(effectivePriority(100, [file(-253, 1)])).toEqual({ effectivePriority: 1, faulty: false });
    expect(effectivePriority(100, [file(-254, 1)]).faulty).toBe(true);
    expect(effectivePriority(100, [file(1000, 1), file(-1, 100)])).toEqual({ effectivePriority: 253, faulty: false });
  });

  it('weight 0 on a track_file: FAULT on a non-zero value, or on zero with reverse', () => {
    expect(effectivePriority(100, [file(0, 0)]).faulty).toBe(false);
    expect(effectivePriority(100, [file(7, 0)]).faulty).toBe(true);
    expect(effectivePriority(100, [file(0, 0, true)]).faulty).toBe(true);
    expect(effectivePriority(100, [file(-1, 0, true)])).toEqual({ effectivePriority: 100, faulty: false });
  });

  it('reads a tracked file as strtol with base 0 does', () => {
    expect([' 12\n', '-3', '0x1f', '010', '08', 'abc', '', undefined].map(trackedValueOf)).toEqual([12, -3, 31, 8, 0, 0, 0, 0]);
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
