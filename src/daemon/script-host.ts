import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { delimiter } from 'node:path';
import { systemAccounts, type Accounts } from '../util/accounts.ts';
import type { PathFacts } from './script-inspection.ts';
import type { ScriptHost } from './script-security.ts';

/** The host side of the script security pass: this machine's files, accounts and PATH. */

function facts(stats: Stats): PathFacts {
  const type = stats.isDirectory() ? 'directory' : stats.isFile() ? 'file' : stats.isSymbolicLink() ? 'symlink' : 'other';
  return { type, uid: stats.uid, gid: stats.gid, mode: stats.mode & 0o7777 };
}

/** strerror's words for the errors realpath gives, as keepalived prints them. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
};

export function systemScriptHost(): ScriptHost {
  let accounts: Accounts | undefined;
  return {
    // Read at the first script that names or needs a user: most configurations have none.
    get accounts() {
      return (accounts ??= systemAccounts());
    },
    self: { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 },
    searchPath: (process.env.PATH ?? '/bin:/usr/bin').split(delimiter),
    lstat: (path) => {
      try {
        return facts(lstatSync(path));
      } catch {
        return undefined;
      }
    },
    stat: (path) => {
      try {
        return facts(statSync(path));
      } catch {
        return undefined;
      }
    },
    realpath: (path) => {
      try {
        return { path: realpathSync.native(path) };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        return { error: STRERROR[code] ?? code };
      }
    },
  };
}
