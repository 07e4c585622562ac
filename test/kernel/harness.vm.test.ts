import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sharedVm, vmRun } from './vm.ts';

describe('kernel VM harness', () => {
  it('boots a kernel with IPVS and every scheduler module the kernel ships', async () => {
    const vm = await sharedVm();
    expect(vm.info.loaded).toEqual(expect.arrayContaining(['ip_vs', 'ip_vs_rr', 'ip_vs_wlc', 'ip_vs_sh', 'ip_vs_mh']));
    const version = await vmRun(['cat', '/proc/net/ip_vs'], { netns: false });
    expect(version.stdout).toMatch(/^IP Virtual Server version/);
  });

  it('round-trips a service through ipvsadm -A / -a / -Ln', async () => {
    const script = [
      'ipvsadm -A -t 10.0.0.1:80 -s rr',
      'ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3',
      'ipvsadm -Ln',
    ].join(' && ');
    const result = await vmRun(['sh', '-c', script]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/TCP\s+10\.0\.0\.1:80 rr/);
    expect(result.stdout).toMatch(/-> 10\.0\.0\.2:8080\s+Masq\s+3\s+0\s+0/);
  });

  it('isolates jobs in their own network namespace, so parallel jobs see their own IPVS table', async () => {
    const jobs = await Promise.all(
      [1, 2, 3].map((n) => vmRun(['sh', '-c', `ipvsadm -A -u 10.0.0.${n}:53 && ipvsadm -S -n`])),
    );
    jobs.forEach((job, index) => expect(job.stdout.trim()).toBe(`-A -u 10.0.0.${index + 1}:53 -s wlc`));
  });

  it('reports exit codes, stderr and timeouts of the job', async () => {
    const failing = await vmRun(['ipvsadm', '-D', '-t', '10.9.9.9:1']);
    expect(failing.code).not.toBe(0);
    expect(failing.stderr).toMatch(/No such service/);
    const slow = await vmRun(['sleep', '30'], { timeoutMs: 500 });
    expect(slow.timedOut).toBe(true);
  });

  it('runs an exclusive job with the VM to itself: no other job runs while it does', async () => {
    // Each job prints when it started and ended, on the VM's clock.
    const span = (seconds: number) => ['sh', '-c', `date +%s%N; sleep ${seconds}; date +%s%N`];
    const before = vmRun(span(3));
    await sleep(1_000);
    const exclusive = vmRun(span(2), { exclusive: true });
    await sleep(1_000);
    const after = vmRun(span(1));
    const [b, e, a] = (await Promise.all([before, exclusive, after])).map((job) => job.stdout.trim().split('\n').map(BigInt));
    for (const other of [b!, a!]) {
      const disjoint = other[1]! <= e![0]! || other[0]! >= e![1]!;
      expect(disjoint, `exclusive ${e} overlaps ${other}`).toBe(true);
    }
  });
});
