import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Log } from './log.ts';
import { parseDrains, type Drain, type DrainStore } from './drains.ts';

/** Beside the control socket (under /run by default): `/run/lvsd/lvsd.sock` keeps `/run/lvsd/lvsd.drains.json`. */
export function drainsFileOf(socketPath: string): string {
  return join(dirname(socketPath), `${basename(socketPath, '.sock')}.drains.json`);
}

/** Drains kept in a file, so that a restarted lvsd (or one after a crash) programs them in its first table. */
export function fileDrainStore(path: string, log: Log): DrainStore {
  return {
    load(): Drain[] {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return [];
      }
      const drains = parseDrains(text);
      if (drains.length > 0) log.info({ file: path, drains: drains.map((d) => `${d.realServer} of ${d.virtualServer}`) }, 'drains taken up from the last run');
      return drains;
    },
    save(drains: readonly Drain[]): void {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
        writeFileSync(`${path}.tmp`, `${JSON.stringify(drains, null, 2)}\n`, { mode: 0o640 });
        renameSync(`${path}.tmp`, path);
      } catch (error) {
        log.error({ err: error, file: path }, 'cannot save the drains: a restart would forget them');
      }
    },
  };
}
