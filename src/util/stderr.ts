import { writeSync } from 'node:fs';

/**
 * Text to stderr without setting up `process.stderr`: creating that stream cost lvsd a tenth of
 * its start in the kernel VM, just to print the configuration's warnings.
 */
export function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // A non-blocking descriptor that is full (EAGAIN): the stream queues it.
    process.stderr.write(text);
  }
}
