import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { KeepalivedConfig } from '../config/model.ts';
import { splitCommandLine } from '../util/command.ts';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether the command's program exists and may be executed (found on PATH when it has no slash). */
export function commandRunnable(command: string): boolean {
  const [program] = splitCommandLine(command);
  if (program === undefined) return false;
  if (program.includes('/')) return executable(program);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, program)));
}

/**
 * keepalived disables a MISC_CHECK whose script cannot be accessed ("Disabling misc script …
 * since not found/accessible"): the real server then has one checker fewer, and with none left
 * it is simply up. lvsd does the same, on the host it runs on, at start and at each reload.
 */
export function withoutInaccessibleScripts(config: KeepalivedConfig, warn: (message: string) => void): KeepalivedConfig {
  let changed = false;
  const virtualServers = config.virtualServers.map((vs) => ({
    ...vs,
    realServers: vs.realServers.map((rs) => {
      const checkers = rs.checkers.filter((checker) => {
        if (checker.kind !== 'MISC_CHECK' || commandRunnable(checker.script.command)) return true;
        warn(`${checker.at.file}:${checker.at.line}: disabling misc script '${checker.script.command}' since not found/accessible`);
        changed = true;
        return false;
      });
      return checkers.length === rs.checkers.length ? rs : { ...rs, checkers };
    }),
  }));
  return changed ? { ...config, virtualServers } : config;
}
