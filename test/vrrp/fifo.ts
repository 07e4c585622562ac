// A reader of keepalived's (and lvsd's) notify FIFO for the lab tests.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';

/** Reads a FIFO without blocking, holding it open for writing too so that writers never see ENXIO. */
export function fifoReader(path: string): { lines(): string[]; close(): void } {
  execFileSync('mkfifo', [path], { timeout: 5000 });
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  let text = '';
  const buffer = Buffer.alloc(4096);
  return {
    lines() {
      for (let reads = 0; reads < 100; reads++) {
        let count = 0;
        try {
          count = readSync(fd, buffer, 0, buffer.length, null);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        }
        if (count <= 0) break;
        text += buffer.subarray(0, count).toString();
      }
      return text.split('\n').filter((line) => line !== '');
    },
    close: () => closeSync(fd),
  };
}
