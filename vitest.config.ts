import { defineConfig } from 'vitest/config';

// Four projects: "unit" runs on the host (pure cores, loopback and netns tests); "quiet" runs
// *.quiet.test.ts on the host afterwards, one file at a time, for tests whose acceptance is a
// latency that the unit project's parallel files would take from them;
// "kernel" runs files named *.vm.test.ts against a real IPVS kernel booted once
// under QEMU by the global setup and shared by every kernel test file; "alone" runs
// *.alone.vm.test.ts afterwards in a VM of their own, for tests whose load would make
// the kernel project's timing cases miss (and whose own timing the suite's load would change).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.vm.test.ts', 'test/**/*.quiet.test.ts', 'node_modules/**'],
          testTimeout: 30_000,
          // Most files wait on timers, sockets and peers in namespaces: three at once take the 2-core
          // CI machine's unit run from about 420 s to about 200 s (vitest's default there is one).
          maxWorkers: 3,
        },
      },
      {
        test: {
          name: 'quiet',
          include: ['test/**/*.quiet.test.ts'],
          testTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['test/**/*.vm.test.ts'],
          exclude: ['test/**/*.alone.vm.test.ts', 'node_modules/**'],
          globalSetup: ['test/kernel/global-setup.ts'],
          // Long enough for a case to wait for the VM's job slots on a loaded host (job-slots.ts).
          testTimeout: 600_000,
          hookTimeout: 300_000,
          // Concurrent tests share one 2-CPU emulated VM. Conformance cases spend most of their time
          // waiting for checkers, so several run side by side; many more make checks time out.
          maxConcurrency: 6,
          // A starved emulated CPU can push one daemon past a check interval; a failed case runs
          // once more with the same assertions.
          retry: 1,
        },
      },
      {
        test: {
          name: 'alone',
          include: ['test/**/*.alone.vm.test.ts'],
          globalSetup: ['test/kernel/global-setup.ts'],
          testTimeout: 1_200_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
