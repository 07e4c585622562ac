import { posix } from 'node:path';
import type { Credentials } from '../util/accounts.ts';

/**
 * keepalived 2.2.7's check of one script before it may run (lib/notify.c, check_script_secure):
 * found (on PATH when it has no slash), executable by the user it runs as, and, when that user or
 * group is root or the file is set-uid/gid root, no part of its path changeable by anyone but root.
 * Pure: the host's file system comes in through ScriptFiles.
 */

export interface PathFacts {
  readonly type: 'directory' | 'file' | 'symlink' | 'other';
  readonly uid: number;
  readonly gid: number;
  /** st_mode's permission bits, set-id and sticky bits included. */
  readonly mode: number;
}

export interface ScriptFiles {
  /** Without following a final symbolic link; undefined when absent or unreadable. */
  lstat(path: string): PathFacts | undefined;
  stat(path: string): PathFacts | undefined;
  /** The canonical path, or why there is none (strerror text). */
  realpath(path: string): { readonly path: string } | { readonly error: string };
  /** PATH's directories, for a script named without a slash. */
  readonly searchPath: readonly string[];
}

export interface Inspection {
  /** The file exists: it counts towards keepalived's "scripts are being executed" warning. */
  readonly isScript: boolean;
  readonly notFound: boolean;
  readonly executable: boolean;
  /** Changeable by a non-root user (warned even without enable_script_security). */
  readonly insecure: boolean;
  /** Must not run: insecure under enable_script_security, or a path part of the wrong type. */
  readonly inhibited: boolean;
  /** The program to run: keepalived runs the resolved path. */
  readonly program: string;
  /** keepalived's log lines, in its words. */
  readonly messages: readonly string[];
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
const S_IXUSR = 0o100;
const S_IXGRP = 0o010;
const S_IXOTH = 0o001;

/** Root may run anything with an x bit; others by owner, else group, else other bits. */
export function isExecutable(file: PathFacts, as: Credentials): boolean {
  if (as.uid === 0) return (file.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) !== 0;
  if (as.uid === file.uid) return (file.mode & S_IXUSR) !== 0;
  return (file.mode & (as.gid === file.gid ? S_IXGRP : S_IXOTH)) !== 0;
}

/** The user keepalived runs the script as, or the file itself, can act as root. */
export function needsProtection(file: PathFacts, as: Credentials): boolean {
  return (
    as.uid === 0 ||
    as.gid === 0 ||
    (file.uid === 0 && (file.mode & S_IXUSR) !== 0 && (file.mode & S_ISUID) !== 0) ||
    (file.gid === 0 && (file.mode & S_IXGRP) !== 0 && (file.mode & S_ISGID) !== 0)
  );
}

/** Owned by root, and not writable by a non-root group or by others (a sticky directory may be). */
export function isSafe(facts: PathFacts): boolean {
  if (facts.uid !== 0) return false;
  const modeMatters = (facts.type === 'directory' && (facts.mode & S_ISVTX) === 0) || facts.type === 'file';
  return !modeMatters || !((facts.gid !== 0 && (facts.mode & S_IWGRP) !== 0) || (facts.mode & S_IWOTH) !== 0);
}

/** "/", then each longer prefix of an absolute path, ending with the path itself. */
export function pathPrefixes(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '');
  return ['/', ...parts.map((_, index) => `/${parts.slice(0, index + 1).join('/')}`)];
}

type PathVerdict = { readonly verdict: 'safe' } | { readonly verdict: 'notFound' | 'wrongType' | 'unsafe'; readonly message: string };

function checkPath(path: string, files: ScriptFiles, security: boolean): PathVerdict {
  const prefixes = pathPrefixes(path);
  for (const [index, prefix] of prefixes.entries()) {
    const last = index === prefixes.length - 1;
    const facts = files.lstat(prefix);
    if (!facts) return { verdict: 'notFound', message: `check_script_secure could not find script '${path}' - disabling` };
    if (last ? facts.type !== 'file' && facts.type !== 'symlink' : facts.type !== 'directory') {
      return { verdict: 'wrongType', message: `Wrong file type found in script path '${path}'.` };
    }
    if (!isSafe(facts)) return { verdict: 'unsafe', message: `Unsafe permissions found for script '${path}'${security ? ' - disabling' : ''}.` };
  }
  return { verdict: 'safe' };
}

/** A user other than root must be able to search each directory above the script, as realpath run as that user needs. */
function searchable(path: string, files: ScriptFiles, as: Credentials): boolean {
  if (as.uid === 0) return true;
  return pathPrefixes(posix.dirname(path)).every((dir) => {
    const facts = files.stat(dir);
    return facts !== undefined && isExecutable(facts, as);
  });
}

function findOnPath(name: string, files: ScriptFiles, as: Credentials): string | undefined {
  return files.searchPath
    .filter((dir) => dir !== '')
    .map((dir) => posix.join(dir, name))
    .find((candidate) => {
      const facts = files.stat(candidate);
      return facts?.type === 'file' && isExecutable(facts, as);
    });
}

const NOT_FOUND = { isScript: false, notFound: true, executable: false, insecure: false, inhibited: false } as const;

export function inspectScript(program: string, as: Credentials, security: boolean, files: ScriptFiles): Inspection {
  let given = program;
  if (!program.includes('/')) {
    const found = findOnPath(program, files, as);
    if (found === undefined) return { ...NOT_FOUND, program, messages: [`Cannot find script ${program} in path - disabling`] };
    given = found;
  }
  const resolved = files.realpath(given);
  if ('error' in resolved) return { ...NOT_FOUND, program, messages: [`Script ${given} cannot be accessed - ${resolved.error}`] };
  if (!searchable(resolved.path, files, as)) return { ...NOT_FOUND, program, messages: [`Script ${given} cannot be accessed - Permission denied`] };
  // keepalived keeps the name it was given (a program may act on its name) when a link in the same directory says the same file.
  const sameName = posix.basename(resolved.path) === posix.basename(given);
  const beside = posix.join(posix.dirname(resolved.path), posix.basename(given));
  const besideResolves = (): boolean => {
    const target = files.realpath(beside);
    return 'path' in target && target.path === resolved.path;
  };
  const named = sameName || !besideResolves() ? resolved.path : beside;
  const file = files.stat(resolved.path);
  if (!file) return { ...NOT_FOUND, program: named, messages: [`Unable to access script \`${named}\` - disabling`] };
  if (!isExecutable(file, as)) {
    return {
      isScript: true,
      notFound: false,
      executable: false,
      insecure: false,
      inhibited: false,
      program: named,
      messages: [`WARNING - script '${named}' is not executable for uid:gid ${as.uid}:${as.gid} - disabling.`],
    };
  }
  const checked = needsProtection(file, as) ? [named, ...(named === resolved.path ? [] : [resolved.path])].map((path) => checkPath(path, files, security)) : [];
  const failures = checked.filter((result) => result.verdict !== 'safe');
  const insecure = failures.some((result) => result.verdict === 'unsafe');
  return {
    isScript: true,
    notFound: failures.some((result) => result.verdict === 'notFound'),
    executable: true,
    insecure,
    inhibited: failures.some((result) => result.verdict === 'wrongType') || (insecure && security),
    program: named,
    messages: failures.map((result) => ('message' in result ? result.message : '')),
  };
}
