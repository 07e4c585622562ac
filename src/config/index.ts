// Public entry points of the keepalived.conf parser. Synchronous: config
// files are small and the daemon parses before it touches any state.
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import { Diagnostics, sourceOrder } from './diagnostics.ts';
import { fsGlob } from './glob.ts';
import type { ConfigResult, KeepalivedConfig } from './model.ts';
import { assembleConfig } from './resolve.ts';
import { readSource } from './source.ts';
import { TreeBuilder } from './tree.ts';

export type * from './model.ts';
export { formatDiagnostic } from './diagnostics.ts';

export interface ParseOptions {
  /** Local host name: default router_id, smtp_helo_name, notification_email_from. */
  readonly hostname?: string;
  /** keepalived's -i: matched against `@id` lines; default the host name up to the first dot. */
  readonly configId?: string;
}

/**
 * A file's text; of a file with a NUL byte, only the text up to the end of that line, which is
 * all the reader looks at before it rejects the file (see readText): decoding 100 MB of random
 * bytes cost seconds and hundreds of megabytes.
 */
function readUtf8(path: string): string {
  const bytes = readFileSync(path);
  const nul = bytes.indexOf(0);
  if (nul < 0) return bytes.toString('utf8');
  const lineEnd = bytes.indexOf(0x0a, nul);
  return bytes.subarray(0, lineEnd < 0 ? bytes.length : lineEnd).toString('utf8');
}

export function parseConfigText(
  text: string,
  fileName: string,
  readFile: (path: string) => string = readUtf8,
  glob: (pattern: string) => string[] = fsGlob,
  options: ParseOptions = {},
): ConfigResult {
  const hostname = options.hostname ?? osHostname();
  const configId = options.configId ?? hostname.split('.')[0]!;
  const d = new Diagnostics();
  // Streamed: lines become statements become model parts as they are read.
  const assembler = assembleConfig(hostname, d);
  const tree = new TreeBuilder(d, assembler.statement);
  const files = readSource(text, fileName, { readFile, glob, configId }, d, (line) => tree.push(line));
  tree.end();
  const config: KeepalivedConfig = assembler.finish(files);
  const order = sourceOrder(files);
  if (d.errors.length > 0) return { ok: false, errors: d.errors.sort(order), warnings: d.warnings.sort(order) };
  return { ok: true, config, warnings: d.warnings.sort(order) };
}

export function parseConfigFile(path: string, options: ParseOptions = {}): ConfigResult {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readUtf8(absolute);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return {
      ok: false,
      errors: [{ at: { file: absolute, line: 0, column: 0 }, severity: 'error', message: `cannot read configuration file: ${reason}` }],
      warnings: [],
    };
  }
  return parseConfigText(text, absolute, readUtf8, fsGlob, options);
}
