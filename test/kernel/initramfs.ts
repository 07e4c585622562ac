import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

/** Modules the initramfs itself needs to reach the host root over virtio 9p. */
const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p'];
const BUSYBOX = '/bin/busybox';
const INIT_SCRIPT = new URL('./init.sh', import.meta.url);

export interface KernelImage {
  version: string;
  vmlinuz: string;
  modulesDir: string;
}

export class KernelVmSetupError extends Error {}

/** The newest Debian kernel installed on the host that has IPVS as a module. */
export function findKernel(): KernelImage {
  const candidates = existsSync('/boot')
    ? readdirSync('/boot')
        .filter((name) => name.startsWith('vmlinuz-'))
        .map((name) => name.slice('vmlinuz-'.length))
        .filter((version) => existsSync(`/lib/modules/${version}/kernel/net/netfilter/ipvs/ip_vs.ko`))
        .sort(compareVersions)
    : [];
  const version = candidates.at(-1);
  if (version === undefined) {
    throw new KernelVmSetupError(
      'no kernel with IPVS modules in /boot and /lib/modules: apt-get install linux-image-amd64',
    );
  }
  return { version, vmlinuz: `/boot/vmlinuz-${version}`, modulesDir: `/lib/modules/${version}` };
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function cacheDir(): string {
  const base = process.env.LVSD_VM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lvsd-kernel-vm');
  mkdirSync(base, { recursive: true });
  return base;
}

/**
 * Builds (or reuses from the cache) the initramfs for `kernel`: static busybox,
 * the 9p/virtio modules in dependency order, and init.sh as /init.
 */
export function ensureInitramfs(kernel: KernelImage): string {
  if (!existsSync(BUSYBOX)) throw new KernelVmSetupError(`${BUSYBOX} missing: apt-get install busybox-static`);
  const init = readFileSync(INIT_SCRIPT);
  const modules = moduleLoadOrder(kernel.modulesDir, BOOT_MODULES);
  const busybox = statSync(BUSYBOX);
  const key = createHash('sha256')
    .update(init)
    .update(kernel.version)
    .update(modules.join('\n'))
    .update(`${busybox.size}:${busybox.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const path = join(cacheDir(), `initramfs-${kernel.version}-${key}.cpio`);
  if (existsSync(path)) return path;

  const archive = new CpioWriter();
  for (const dir of ['bin', 'dev', 'proc', 'sys', 'modules', 'newroot']) archive.directory(dir);
  archive.characterDevice('dev/console', 5, 1);
  archive.file('bin/busybox', readFileSync(BUSYBOX), 0o755);
  archive.file('init', init, 0o755);
  for (const module of modules) archive.file(`modules/${basename(module)}`, readFileSync(join(kernel.modulesDir, module)), 0o644);
  archive.file('modules/load-order', Buffer.from(modules.map((m) => basename(m)).join('\n') + '\n'), 0o644);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, archive.finish());
  renameSync(temporary, path);
  return path;
}

/** Module paths (relative to modulesDir) so that every module comes after its dependencies. */
export function moduleLoadOrder(modulesDir: string, wanted: readonly string[]): string[] {
  const dependencies = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of readFileSync(join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const [module, deps] = line.split(':');
    if (!module || deps === undefined) continue;
    dependencies.set(module, deps.trim() ? deps.trim().split(/\s+/) : []);
    byName.set(basename(module).replace(/\.ko(\.\w+)?$/, '').replaceAll('-', '_'), module);
  }
  const order: string[] = [];
  const visit = (module: string): void => {
    if (order.includes(module)) return;
    for (const dep of dependencies.get(module) ?? []) visit(dep);
    order.push(module);
  };
  for (const name of wanted) {
    const module = byName.get(name);
    if (!module) throw new KernelVmSetupError(`kernel module ${name} not found in ${modulesDir}`);
    visit(module);
  }
  return order;
}

/** A writer for the "newc" cpio format the kernel unpacks as initramfs. */
class CpioWriter {
  private readonly chunks: Buffer[] = [];
  private written = 0;
  private inode = 1;

  directory(name: string): void {
    this.entry(name, 0o040755, Buffer.alloc(0));
  }

  file(name: string, data: Buffer, permissions: number): void {
    this.entry(name, 0o100000 | permissions, data);
  }

  characterDevice(name: string, major: number, minor: number): void {
    this.entry(name, 0o020600, Buffer.alloc(0), major, minor);
  }

  finish(): Buffer {
    this.entry('TRAILER!!!', 0, Buffer.alloc(0));
    return Buffer.concat(this.chunks);
  }

  private entry(name: string, mode: number, data: Buffer, rdevMajor = 0, rdevMinor = 0): void {
    const fields = [this.inode++, mode, 0, 0, 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, name.length + 1, 0];
    const header = '070701' + fields.map((value) => value.toString(16).padStart(8, '0')).join('');
    this.push(Buffer.from(header + name + '\0', 'latin1'));
    this.push(data);
  }

  /** Every header and every file body starts on a 4-byte boundary. */
  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.written += chunk.length;
    if (this.written % 4) this.push(Buffer.alloc(4 - (this.written % 4)));
  }
}
