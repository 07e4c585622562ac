import { readFile, writeFile } from 'node:fs/promises';

export interface Sysctl {
  /** The file under /proc/sys. */
  path: string;
  value: number;
}

export async function readSysctl(path: string): Promise<number> {
  return Number((await readFile(`/proc/sys/${path}`, 'utf8')).trim());
}

export async function writeSysctl(setting: Sysctl): Promise<void> {
  await writeFile(`/proc/sys/${setting.path}`, `${setting.value}\n`);
}

/**
 * Sysctls set while anyone needs them: the first to hold a key sets them, and after the last lets
 * go they are put back to what they were before, as keepalived counts its users of an interface.
 */
export class SysctlHolds {
  private readonly held = new Map<string, { users: Set<string>; before: Sysctl[] }>();

  get empty(): boolean {
    return this.held.size === 0;
  }

  async hold(key: string, user: string, settings: Sysctl[]): Promise<void> {
    const held = this.held.get(key);
    if (held) {
      held.users.add(user);
      return;
    }
    const before = await Promise.all(settings.map(async (setting) => ({ path: setting.path, value: await readSysctl(setting.path) })));
    this.held.set(key, { users: new Set([user]), before });
    for (const setting of settings) await writeSysctl(setting);
  }

  /** True when this was the last user and the settings went back. */
  async release(key: string, user: string): Promise<boolean> {
    const held = this.held.get(key);
    if (!held?.users.delete(user) || held.users.size > 0) return false;
    this.held.delete(key);
    for (const setting of held.before) await writeSysctl(setting).catch(() => undefined);
    return true;
  }
}
