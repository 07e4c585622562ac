import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

const WILDCARD = /[*?[]/;

function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let set = segment.slice(i + 1, close);
      if (set.startsWith('!')) set = '^' + set.slice(1);
      source += '[' + set.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp('^' + source + '$');
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * glob(3) as keepalived's `include` uses it: `*`, `?` and `[...]` within path
 * segments, no `**`, leading dots only matched explicitly, results sorted.
 * Node 20 has no fs.glob, hence this.
 */
export function fsGlob(pattern: string): string[] {
  if (!isAbsolute(pattern)) throw new Error(`glob pattern must be absolute: ${pattern}`);
  const segments = pattern.split('/').filter((s) => s !== '');
  let paths = ['/'];
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const next: string[] = [];
    for (const base of paths) {
      if (!WILDCARD.test(segment)) {
        const candidate = join(base, segment);
        if (last ? exists(candidate) : isDirectory(candidate)) next.push(candidate);
        continue;
      }
      const matcher = segmentRegExp(segment);
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (!matcher.test(name)) continue;
        const candidate = join(base, name);
        if (last || isDirectory(candidate)) next.push(candidate);
      }
    }
    paths = next;
  }
  return paths.sort();
}
