import { expect } from 'vitest';
import { formatDiagnostic, parseConfigText, type KeepalivedConfig, type ConfigResult } from '../../src/config/index.ts';

export const HOST = 'director1.example.net';

/** Parses in-memory text; includes are served from `files` (absolute path -> text). */
export function parse(text: string, files: Record<string, string> = {}, configId?: string): ConfigResult {
  const readFile = (path: string) => {
    const content = files[path];
    if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return content;
  };
  const glob = (pattern: string) => {
    const re = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
    return Object.keys(files).filter((f) => re.test(f)).sort();
  };
  return parseConfigText(text, '/etc/keepalived/keepalived.conf', readFile, glob, {
    hostname: HOST,
    ...(configId !== undefined && { configId }),
  });
}

export function parseOk(text: string, files: Record<string, string> = {}): KeepalivedConfig {
  const result = parse(text, files);
  if (!result.ok) expect.fail(result.errors.map(formatDiagnostic).join('\n'));
  return result.config;
}

export function messages(result: ConfigResult, kind: 'errors' | 'warnings'): string[] {
  const list = kind === 'errors' ? (result.ok ? [] : result.errors) : result.warnings;
  return list.map(formatDiagnostic);
}
