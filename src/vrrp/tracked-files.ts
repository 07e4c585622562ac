import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { FileWatches } from '../healthcheck/file-watch.ts';
import { initTrackedFile } from '../healthcheck/probes/file.ts';
import { trackedValueOf } from '../healthcheck/tracked-file.ts';
import type { TrackedFile } from './types.ts';

/**
 * The values of the VRRP track_files, re-read whenever a file is written, replaced or removed
 * (keepalived 2.2.7 watches them with inotify; a missing file holds 0).
 */
export class TrackedFileValues {
  private readonly watches: FileWatches;
  private readonly files = new Map<string, { value: number; unwatch: () => void }>();
  private initialised = false;

  constructor(
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {
    this.watches = new FileWatches((message) => logger.warn(message));
  }

  value(path: string): number {
    return this.files.get(path)?.value ?? 0;
  }

  /** Watches exactly `wanted`; init_file writes at the first call only, as keepalived does not overwrite on reload. */
  async reconcile(wanted: TrackedFile[]): Promise<void> {
    const paths = new Set(wanted.map((file) => file.path));
    for (const [path, entry] of this.files) {
      if (paths.has(path)) continue;
      entry.unwatch();
      this.files.delete(path);
    }
    for (const file of wanted) {
      if (this.files.has(file.path)) continue;
      if (file.initFile) await this.initialise(file, file.initFile);
      const entry = { value: 0, unwatch: this.watches.add(file.path, () => void this.read(file.path)) };
      this.files.set(file.path, entry);
      entry.value = await this.readValue(file.path);
    }
    this.initialised = true;
  }

  close(): void {
    this.watches.close();
    this.files.clear();
  }

  private async initialise(file: TrackedFile, init: { value: number; overwrite: boolean }): Promise<void> {
    const error = await initTrackedFile(file.path, init.value, init.overwrite && !this.initialised);
    if (error !== null) this.logger.error({ trackFile: file.name, path: file.path }, `cannot initialise track_file: ${error}`);
  }

  private async readValue(path: string): Promise<number> {
    return trackedValueOf(await readFile(path, 'utf8').catch(() => undefined));
  }

  private async read(path: string): Promise<void> {
    const value = await this.readValue(path);
    const entry = this.files.get(path);
    if (!entry || entry.value === value) return;
    this.logger.info({ path, from: entry.value, to: value }, 'tracked file changed');
    entry.value = value;
    this.onChange();
  }
}
