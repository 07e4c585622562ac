import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls back when a watched file is written, created, renamed or removed.
 * The directory is watched rather than the file, so files replaced by rename
 * (how most tools write) and files that do not exist yet are still seen.
 */
export class FileWatches {
  private readonly directories = new Map<string, { watcher: FSWatcher; files: Map<string, Set<() => void>> }>();

  constructor(private readonly onError: (message: string) => void) {}

  /** Returns a function that removes this watch. */
  add(path: string, onChange: () => void): () => void {
    const directory = dirname(path);
    const file = basename(path);
    let entry = this.directories.get(directory);
    if (entry === undefined) {
      const files = new Map<string, Set<() => void>>();
      let watcher: FSWatcher;
      try {
        watcher = watch(directory, { persistent: false }, (_event, name) => {
          const listeners = name === null ? undefined : files.get(name.toString());
          if (listeners) for (const listener of listeners) listener();
        });
      } catch (error) {
        this.onError(`cannot watch ${directory} for ${file}: ${(error as Error).message}; it is read every delay_loop only`);
        return () => undefined;
      }
      watcher.on('error', (error) => this.onError(`watching ${directory}: ${error.message}`));
      entry = { watcher, files };
      this.directories.set(directory, entry);
    }
    const listeners = entry.files.get(file) ?? new Set();
    entry.files.set(file, listeners);
    listeners.add(onChange);
    const owner = entry;
    return () => {
      listeners.delete(onChange);
      if (listeners.size === 0) owner.files.delete(file);
      if (owner.files.size === 0) {
        owner.watcher.close();
        this.directories.delete(directory);
      }
    };
  }

  close(): void {
    for (const { watcher } of this.directories.values()) watcher.close();
    this.directories.clear();
  }
}
