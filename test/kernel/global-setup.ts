import { KernelVm, VM_EXCHANGE_ENV } from './vm.ts';

// One VM boot serves every *.vm.test.ts file of the run: TCG boots cost seconds.
let vm: KernelVm | undefined;

export async function setup(): Promise<void> {
  vm = await KernelVm.boot();
  process.env[VM_EXCHANGE_ENV] = vm.exchangeDir;
}

export async function teardown(): Promise<void> {
  await vm?.shutdown();
}
