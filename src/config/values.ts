// Readers for keyword arguments. Each reports a located error and returns
// undefined on bad input, so the caller keeps going (to report every problem
// in one run) while the run as a whole is rejected.
import { parseIp, type IpAddress } from './address.ts';
import type { Diagnostics } from './diagnostics.ts';
import type { GarpExtraIf, ScriptCommand, SourceLocation, UnhandledKeyword } from './model.ts';
import type { Statement } from './tree.ts';
import type { Token } from './source.ts';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type Handlers = Readonly<Record<string, (statement: Statement) => void>>;

export function name(s: Statement): string {
  return s.keyword.text;
}

function argumentAt(s: Statement, index: number): SourceLocation {
  return s.args[index]?.at ?? s.at;
}

export function arg(s: Statement, index: number, d: Diagnostics, what = 'a value'): Token | undefined {
  const token = s.args[index];
  if (!token) d.error(s.args.at(-1)?.at ?? s.at, `'${name(s)}' needs ${what}`);
  return token;
}

export function text(s: Statement, index: number, d: Diagnostics, what?: string): string | undefined {
  return arg(s, index, d, what)?.text;
}

export function integer(s: Statement, index: number, d: Diagnostics, min: number, max: number): number | undefined {
  const token = arg(s, index, d, `an integer (${min}..${max})`);
  if (!token) return undefined;
  const value = /^[+-]?\d+$/.test(token.text) ? Number(token.text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    d.error(token.at, `'${name(s)}' expects an integer in ${min}..${max}, got '${token.text}'`);
    return undefined;
  }
  return value;
}

/** keepalived timers: seconds with an optional fraction (microsecond resolution), returned in ms. */
export function timerMs(s: Statement, index: number, d: Diagnostics, maxSeconds = 31 * 86400, allowZero = true): number | undefined {
  const token = arg(s, index, d, 'a time in seconds');
  if (!token) return undefined;
  const seconds = Number(token.text);
  if (!/^\d+(\.\d{1,6})?$|^\.\d{1,6}$/.test(token.text) || seconds > maxSeconds || (!allowZero && seconds === 0)) {
    const range = allowZero ? `0..${maxSeconds}` : `more than 0, up to ${maxSeconds}`;
    d.error(token.at, `'${name(s)}' expects seconds (${range}, fractions allowed), got '${token.text}'`);
    return undefined;
  }
  return Math.round(seconds * 1000);
}

const TRUE_WORDS = new Set(['yes', 'true', 'on']);
const FALSE_WORDS = new Set(['no', 'false', 'off']);

/** garp_master_refresh_repeat: keepalived still takes the 0 of releases before 2.0.7, as 1. */
export function refreshRepeat(s: Statement, d: Diagnostics): number | undefined {
  const repeat = integer(s, 0, d, 0, 2 ** 32 - 1);
  if (repeat !== 0) return repeat;
  d.warn(s.at, `${name(s)} must be greater than 0, setting to 1`);
  return 1;
}

/** keepalived's C `int` limit, the largest repeat count it reads. */
export const INT_MAX = 2 ** 31 - 1;
export const UINT_MAX = 2 ** 32 - 1;

/** Timers keepalived reads as whole seconds (garp_master_refresh, garp_lower_prio_delay), in ms. */
export function wholeSecondsMs(s: Statement, d: Diagnostics): number | undefined {
  const seconds = integer(s, 0, d, 0, 2 ** 32 - 1);
  return seconds === undefined ? undefined : seconds * 1000;
}

/**
 * A flag keepalived 2.2.7 reads with check_true_false (lib/parser.c): alone it means true; followed
 * by yes/true/on or no/false/off, in lower case only, what that says. keepalived reports any other
 * word as `invalid` says and ignores the line. One of the six in another case (`True`, `ON`) is a
 * slip a working keepalived.conf can carry: lvsd warns with keepalived's words and ignores the line
 * too. Any other word is an error, in keepalived's words, as every value keepalived reports invalid.
 */
export function trueFalse(s: Statement, d: Diagnostics, invalid: (word: string) => string): boolean | undefined {
  const token = s.args[0];
  if (!token) return true;
  if (TRUE_WORDS.has(token.text)) return true;
  if (FALSE_WORDS.has(token.text)) return false;
  const lower = token.text.toLowerCase();
  if (TRUE_WORDS.has(lower) || FALSE_WORDS.has(lower)) {
    d.warn(token.at, `${invalid(token.text)} - line ignored, as keepalived 2.2.7 ignores it (it reads yes/no/true/false/on/off in lower case only)`);
  } else {
    d.error(token.at, `${invalid(token.text)} - expected yes/no/true/false/on/off`);
  }
  return undefined;
}

/**
 * Some flags keepalived 2.2.7 sets whatever follows them (`misc_dynamic no`, `lvs_flush off`, or
 * `alpha no` in a virtual_server): lvsd sets them too, and points at the word it ignores.
 */
export function warnOfIgnoredArgument(s: Statement, d: Diagnostics, where: string): void {
  const ignored = s.args[0];
  if (ignored) d.warn(ignored.at, `'${name(s)} ${ignored.text}' sets ${name(s)}: keepalived 2.2.7 reads no argument after ${name(s)} in ${where}`);
}

export function ip(s: Statement, index: number, d: Diagnostics): IpAddress | undefined {
  const token = arg(s, index, d, 'an IP address');
  if (!token) return undefined;
  const address = parseIp(token.text);
  if (!address) d.error(token.at, `'${name(s)}' expects an IP address, got '${token.text}'`);
  return address;
}

export function port(s: Statement, index: number, d: Diagnostics): number | undefined {
  return integer(s, index, d, 0, 65535);
}

export function oneOf<T extends string>(
  s: Statement,
  index: number,
  d: Diagnostics,
  choices: readonly T[],
  fold: (word: string) => string = (w) => w,
): T | undefined {
  const token = arg(s, index, d, `one of ${choices.join('|')}`);
  if (!token) return undefined;
  const found = choices.find((c) => c === fold(token.text));
  if (!found) d.error(token.at, `'${name(s)}' expects one of ${choices.join('|')}, got '${token.text}'`);
  return found;
}

/** `keyword "command args" [user [group]]` */
export function script(s: Statement, d: Diagnostics): ScriptCommand | undefined {
  const command = text(s, 0, d, 'a script');
  if (command === undefined) return undefined;
  if (command.trim() === '') {
    d.error(argumentAt(s, 0), `'${name(s)}' has an empty script`);
    return undefined;
  }
  const [, user, group] = s.args;
  return { command, ...(user && { user: user.text }), ...(group && { group: group.text }) };
}

export function block(s: Statement, d: Diagnostics): readonly Statement[] | undefined {
  if (!s.block) d.error(s.at, `'${name(s)}' needs a { } block`);
  return s.block;
}

export function unhandled(s: Statement): UnhandledKeyword {
  return { at: s.at, keyword: name(s), args: s.args.map((a) => a.text) };
}

/**
 * A keyword's handler writing into the state of the block being read. Tables
 * of these are built once per block kind (not per block), which keeps large
 * configurations cheap to parse.
 */
export type Handler<T> = (statement: Statement, target: T, d: Diagnostics) => void;
export type HandlerTable<T> = Readonly<Record<string, Handler<T>>>;

/** Reuses a table on a part of a bigger state. */
export function lift<Inner, Outer>(table: HandlerTable<Inner>, select: (outer: Outer) => Inner): HandlerTable<Outer> {
  return Object.fromEntries(
    Object.entries(table).map(([keyword, handler]) => [keyword, (s: Statement, outer: Outer, d: Diagnostics) => handler(s, select(outer), d)]),
  );
}

/**
 * Runs the handler of each statement's keyword. keepalived logs unknown
 * keywords and carries on, and so do we.
 */
export function dispatchTo<T>(statements: readonly Statement[], table: HandlerTable<T>, target: T, d: Diagnostics, where: string): void {
  for (const statement of statements) {
    const keyword = name(statement);
    const handler = Object.hasOwn(table, keyword) ? table[keyword] : undefined;
    if (handler) {
      handler(statement, target, d);
      warnOfSecondKeyword(statement, table, d);
    }
    // At the top level an unknown word is most often a block that closed too early.
    else if (where === 'the top level') d.error(statement.at, `unknown keyword '${keyword}' in the top level`);
    else d.warn(statement.at, `unknown keyword '${keyword}' in ${where}, ignored`);
  }
}

/**
 * `TCP_CHECK { connect_timeout 1 retry 0 }` reads as connect_timeout with the arguments
 * `1 retry 0`, in keepalived as in lvsd, so the retry silently stays at its default. keepalived
 * says nothing; lvsd points at the word.
 */
function warnOfSecondKeyword<T>(statement: Statement, table: HandlerTable<T>, d: Diagnostics): void {
  const keyword = name(statement);
  if (takesCommandLine(keyword)) return;
  for (let index = 1; index < statement.args.length; index++) {
    const token = statement.args[index]!;
    if (!token.quoted && token.text !== keyword && Object.hasOwn(table, token.text)) {
      d.warn(token.at, `'${token.text}' is read as an argument of '${keyword}', not as a setting: one setting a line`);
      return;
    }
  }
}

/** The words after a script keyword are the command's own (`script /bin/check timeout 3`). */
function takesCommandLine(keyword: string): boolean {
  return keyword === 'script' || keyword === 'misc_path' || keyword.startsWith('notify') || keyword.startsWith('quorum_');
}

/** dispatchTo for small blocks whose handlers close over their state. */
export function dispatch(statements: readonly Statement[], handlers: Handlers, d: Diagnostics, where: string): void {
  dispatchTo(statements, handlers, undefined, d, where);
}

/** Words of a list block (`notification_email { a b }`), one per token. */
export function listWords(statements: readonly Statement[]): Token[] {
  return statements.flatMap((s) => [s.keyword, ...s.args]);
}

/**
 * `[all] SECONDS` of garp_extra_if, vrrp_garp_extra_if and their deprecated names, as keepalived
 * 2.2.7 reads them (seconds from `minSeconds` to a day).
 */
export function garpExtraIf(s: Statement, d: Diagnostics, minSeconds: number, deprecatedFor?: string): GarpExtraIf | undefined {
  const keyword = name(s);
  if (deprecatedFor) d.warn(s.at, `Keyword "${keyword}" is deprecated - please use "${deprecatedFor}"`);
  let seconds: number | undefined;
  for (const [index, arg] of s.args.entries()) {
    if (arg.text === 'all') continue;
    seconds = integer(s, index, d, minSeconds, 86400);
    if (seconds === undefined) return undefined;
  }
  if (seconds === undefined) return void d.error(s.at, `${keyword} specified without time`);
  return { seconds, all: s.args.some((arg) => arg.text === 'all') };
}
