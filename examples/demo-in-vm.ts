// Runs examples/scenario inside the kernel VM (for hosts whose kernel has no IPVS).
import { fileURLToPath } from 'node:url';
import { KernelVm } from '../test/kernel/vm.ts';

const scenario = fileURLToPath(new URL('./scenario', import.meta.url));
const vm = await KernelVm.boot();
try {
  const result = await vm.run([scenario], { netns: false, timeoutMs: 300_000 });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code ?? 1;
} finally {
  await vm.shutdown();
}
