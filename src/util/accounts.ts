import { readFileSync } from 'node:fs';

/** getpwnam and getgrnam for Node, which has neither: /etc/passwd and /etc/group read as files. */

export interface Credentials {
  readonly uid: number;
  readonly gid: number;
}

export interface Accounts {
  /** A user's uid and primary gid, as getpwnam gives them. */
  user(name: string): Credentials | undefined;
  group(name: string): number | undefined;
}

function idsByName(text: string, idFields: number): Map<string, number[]> {
  const entries = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    const name = fields[0] ?? '';
    // NSS compat lines (+name, -name) and comments name no local account.
    if (name === '' || name.startsWith('#') || name.startsWith('+') || name.startsWith('-')) continue;
    const ids = fields.slice(2, 2 + idFields).map((field) => (/^\d+$/.test(field) ? Number(field) : NaN));
    if (ids.length === idFields && ids.every(Number.isSafeInteger) && !entries.has(name)) entries.set(name, ids);
  }
  return entries;
}

/** The first entry of a name wins, as with getpwnam over files. */
export function parseAccounts(passwd: string, group: string): Accounts {
  const users = idsByName(passwd, 2);
  const groups = idsByName(group, 1);
  return {
    user: (name) => {
      const [uid, gid] = users.get(name) ?? [];
      return uid === undefined || gid === undefined ? undefined : { uid, gid };
    },
    group: (name) => groups.get(name)?.[0],
  };
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Read afresh at each call: accounts made between two reloads count at the next one, as with keepalived. */
export function systemAccounts(): Accounts {
  return parseAccounts(readOrEmpty('/etc/passwd'), readOrEmpty('/etc/group'));
}
