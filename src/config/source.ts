// Turns keepalived.conf text into located tokens, one list per logical line,
// doing what keepalived's reader does before any keyword is looked at:
// comments, quotes, `@id` conditional lines, `$NAME=value` definitions and
// their expansion (including multi-line definitions), and `include GLOB`.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Diagnostics } from './diagnostics.ts';
import type { SourceLocation } from './model.ts';

/**
 * A word, brace or quoted string, and where it starts. Its location object is made only when
 * asked for: a large file has a hundred thousand tokens, and few of their locations are ever kept.
 */
export class Token {
  constructor(
    readonly text: string,
    /** Written inside double quotes: never a brace, never a comment. */
    readonly quoted: boolean,
    private readonly file: string,
    private readonly line: number,
    private readonly column: number,
  ) {}

  get at(): SourceLocation {
    return { file: this.file, line: this.line, column: this.column };
  }
}

export interface SourceOptions {
  readonly readFile: (path: string) => string;
  /** Absolute pattern in, sorted absolute matches out. */
  readonly glob: (pattern: string) => string[];
  /** keepalived's -i config-id, compared with `@id` line prefixes. */
  readonly configId: string;
}


const DEFINITION = /^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const MAX_EXPANSIONS = 1000;
const MAX_INCLUDE_DEPTH = 32;

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const HASH = 0x23;
const BANG = 0x21;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const AT_SIGN = 0x40;

/** Whitespace as C's isspace() sees it. */
function isSpace(code: number): boolean {
  return code === SPACE || (code >= TAB && code <= 0x0d);
}

function isWordEnd(code: number): boolean {
  return isSpace(code) || code === OPEN || code === CLOSE;
}

/** Cuts a `!` or `#` comment that starts a word outside double quotes. */
function stripComment(line: string): string {
  if (!line.includes('#') && !line.includes('!')) return line;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (code === QUOTE) quoted = !quoted;
    else if (!quoted && (code === HASH || code === BANG) && (i === 0 || isWordEnd(line.charCodeAt(i - 1)))) {
      return line.slice(0, i);
    }
  }
  return line;
}

/**
 * Splits a comment-free line into words, `{`/`}` and quoted strings, appending them to `tokens`;
 * `columnOffset` is where `line` starts.
 */
function tokenize(line: string, file: string, lineNumber: number, diagnostics: Diagnostics, columnOffset: number, tokens: Token[]): void {
  let i = 0;
  while (i < line.length) {
    const code = line.charCodeAt(i);
    if (isSpace(code)) {
      i++;
      continue;
    }
    const column = columnOffset + i + 1;
    if (code === OPEN || code === CLOSE) {
      tokens.push(new Token(code === OPEN ? '{' : '}', false, file, lineNumber, column));
      i++;
      continue;
    }
    if (code === QUOTE) {
      const close = line.indexOf('"', i + 1);
      if (close < 0) {
        diagnostics.error({ file, line: lineNumber, column }, 'unterminated quoted string');
        tokens.push(new Token(line.slice(i + 1), true, file, lineNumber, column));
        return;
      }
      tokens.push(new Token(line.slice(i + 1, close), true, file, lineNumber, column));
      i = close + 1;
      continue;
    }
    let end = i + 1;
    while (end < line.length && !isWordEnd(line.charCodeAt(end))) end++;
    tokens.push(new Token(line.slice(i, end), false, file, lineNumber, column));
    i = end;
  }
}

interface Definition {
  readonly value: string;
  readonly multiline: boolean;
}

const MAX_REPETITIONS = 1_000_000;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Assignment = readonly (readonly [string, string])[];

/** `var, [start, [step,]] end` of ~SEQ; an error message when malformed. */
function sequenceAssignments(spec: string, hex: boolean): Assignment[] | string {
  const [name = '', ...numbers] = spec.split(',').map((p) => p.trim());
  const values = numbers.map((n) => (/^-?(0x[0-9a-f]+|\d+)$/i.test(n) ? Number(n.startsWith('-') ? -Number(n.slice(1)) : n) : NaN));
  if (!VARIABLE.test(name) || values.length < 1 || values.length > 3 || values.some((v) => !Number.isSafeInteger(v))) {
    return `expected (variable, [start, [step,]] end) with integers, got (${spec})`;
  }
  const end = values.at(-1)!;
  const start = values.length >= 2 ? values[0]! : end < 0 ? -1 : 1;
  const step = values.length === 3 ? values[1]! : end < start ? -1 : 1;
  if (step === 0 || Math.abs((end - start) / step) > MAX_REPETITIONS) return `step ${step} from ${start} to ${end} does not end in time`;
  const assignments: Assignment[] = [];
  for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
    assignments.push([[name, hex ? v.toString(16) : String(v)]]);
  }
  return assignments;
}

/** `var, v1, v2...` or `{a, b}, {1, 2}, {3, 4}` of ~LST; an error message when malformed. */
function listAssignments(spec: string): Assignment[] | string {
  const trimmed = spec.trim();
  if (!trimmed.startsWith('{')) {
    const [name = '', ...values] = trimmed.split(',').map((p) => p.trim());
    if (!VARIABLE.test(name) || values.length === 0) return `expected (variable, value...), got (${spec})`;
    return values.map((value) => [[name, value]]);
  }
  const groups = [...trimmed.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!.split(',').map((p) => p.trim()));
  const [names = [], ...rows] = groups;
  if (names.length === 0 || !names.every((n) => VARIABLE.test(n)) || rows.length === 0 || rows.some((r) => r.length !== names.length)) {
    return `expected ({variables}, {values}...) with as many values as variables, got (${spec})`;
  }
  return rows.map((row) => names.map((n, i) => [n, row[i]!] as const));
}

/** The lines of a text, as `split('\n')` gives them, without holding them all at once. */
class Lines {
  private next = 0;
  /** 1-based number of the line read last. */
  number = 0;

  constructor(private readonly text: string) {}

  /** The next line, or undefined after the last. */
  read(): string | undefined {
    if (this.next > this.text.length) return undefined;
    const newline = this.text.indexOf('\n', this.next);
    const end = newline < 0 ? this.text.length : newline;
    const line = this.text.slice(this.next, end);
    this.next = end + 1;
    this.number++;
    return line;
  }
}

/** A logical line's tokens, handed on to be read at once: the array is reused for the next line. */
export type LineTokens = readonly Token[];

class Reader {
  readonly files: string[] = [];
  private readonly definitions = new Map<string, Definition>();
  private readonly includeStack: string[] = [];
  private readonly lineTokens: Token[] = [];

  constructor(
    private readonly options: SourceOptions,
    private readonly diagnostics: Diagnostics,
    private readonly emit: (tokens: LineTokens) => void,
  ) {}

  readText(text: string, file: string): void {
    this.files.push(file);
    // A NUL byte is never in a configuration: this is some other file (a binary, an image, random
    // bytes), and reading it as one would print an error for every stray brace it happens to hold.
    const nul = text.indexOf('\0');
    if (nul >= 0) {
      const lineStart = text.lastIndexOf('\n', nul) + 1;
      const line = text.slice(0, lineStart).split('\n').length;
      this.diagnostics.error({ file, line, column: nul - lineStart + 1 }, 'not a configuration file: it holds binary data (a NUL byte)');
      return;
    }
    this.includeStack.push(file);
    const lines = new Lines(text);
    for (let raw = lines.read(); raw !== undefined; raw = lines.read()) {
      const line = stripComment(raw);
      const definition = line.includes('$') ? DEFINITION.exec(line.trim()) : null;
      if (definition && line.trimEnd().endsWith('\\')) {
        // Multi-line definition: every following line ending in '\' continues it.
        const parts = [definition[2]!.trimEnd().slice(0, -1)];
        for (let next = lines.read(); next !== undefined; next = lines.read()) {
          const content = stripComment(next).trimEnd();
          if (content.endsWith('\\')) parts.push(content.slice(0, -1));
          else {
            parts.push(content);
            break;
          }
        }
        this.define(definition[1]!, parts.filter((p) => p.trim() !== '').join('\n'), true);
        continue;
      }
      this.readLine(line, file, lines.number, 0);
    }
    this.includeStack.pop();
  }

  private define(name: string, value: string, multiline: boolean): void {
    this.definitions.set(name, { value: multiline ? value : value.trim(), multiline });
  }

  /** One logical line; `depth` counts multi-line definition expansions. */
  private readLine(text: string, file: string, lineNumber: number, depth: number): void {
    let start = 0;
    while (start < text.length && isSpace(text.charCodeAt(start))) start++;
    if (start === text.length) return;
    const column = start + 1;
    let body = text;
    let offset = 0;
    if (text.charCodeAt(start) === AT_SIGN) {
      const match = /^@(\^?)(\S*)\s*/.exec(text.slice(start))!;
      const negated = match[1] === '^';
      const matches = match[2] === this.options.configId;
      if (negated === matches) return;
      offset = start + match[0].length;
      body = text.slice(offset);
    }
    if (body.includes('~')) {
      const repeated = /^\s*~(SEQx?|LST)\(/.exec(body);
      if (repeated) {
        this.repeat(body.slice(repeated[0].length), repeated[1]!, file, lineNumber, depth, { file, line: lineNumber, column });
        return;
      }
    }
    const definition = body.includes('$') ? DEFINITION.exec(body.trim()) : null;
    if (definition) {
      this.define(definition[1]!, definition[2]!, false);
      return;
    }
    const expanded = this.expand(body, file);
    if (expanded === undefined) {
      this.diagnostics.error({ file, line: lineNumber, column }, 'definition expands without end (recursive $definition?)');
      return;
    }
    if (expanded.includes('\n')) {
      if (depth > MAX_INCLUDE_DEPTH) {
        this.diagnostics.error({ file, line: lineNumber, column }, 'multi-line definitions nested too deeply (recursive definition?)');
        return;
      }
      for (const part of expanded.split('\n')) this.readLine(part, file, lineNumber, depth + 1);
      return;
    }
    // Columns are exact when nothing was substituted; after a substitution they
    // point into the substituted text, which is as close as the user's file allows.
    const tokens = this.lineTokens;
    tokens.length = 0;
    tokenize(expanded, file, lineNumber, this.diagnostics, offset, tokens);
    if (tokens.length === 0) return;
    const first = tokens[0]!;
    if (first.text === 'include' && !first.quoted) {
      this.include(tokens, file);
      return;
    }
    this.emit(tokens);
  }

  /**
   * `~SEQ(var, [start, [step,]] end) rest`, `~SEQx(...)` (hex values) and
   * `~LST(var, v1, v2...)` / `~LST({a, b}, {1, 2}, {3, 4}) rest`: reads `rest`
   * once per value with the variables defined.
   */
  private repeat(afterParen: string, kind: string, file: string, lineNumber: number, depth: number, at: SourceLocation): void {
    const close = afterParen.indexOf(')');
    if (close < 0) {
      this.diagnostics.error(at, `~${kind}( has no closing ')'`);
      return;
    }
    const rest = afterParen.slice(close + 1);
    const assignments = kind === 'LST' ? listAssignments(afterParen.slice(0, close)) : sequenceAssignments(afterParen.slice(0, close), kind === 'SEQx');
    if (typeof assignments === 'string') {
      this.diagnostics.error(at, `~${kind}: ${assignments}`);
      return;
    }
    if (assignments.length > MAX_REPETITIONS) {
      this.diagnostics.error(at, `~${kind} repeats ${assignments.length} times, more than ${MAX_REPETITIONS}`);
      return;
    }
    for (const assignment of assignments) {
      for (const [name, value] of assignment) this.define(name, value, false);
      this.readLine(rest, file, lineNumber, depth + 1);
    }
  }

  /** `text` with its definitions substituted; undefined when they expand without end. */
  private expand(text: string, file: string): string | undefined {
    if (!text.includes('$')) return text;
    let result = text;
    for (let round = 0; round < MAX_EXPANSIONS; round++) {
      let changed = false;
      result = result.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=\s|$)/g, (whole, braced, bare) => {
        const name = (braced ?? bare) as string;
        const value = this.lookup(name, file);
        if (value === undefined) return whole;
        changed = true;
        return value;
      });
      if (!changed) return result;
    }
    return undefined;
  }

  private lookup(name: string, file: string): string | undefined {
    const defined = this.definitions.get(name);
    if (defined) return defined.value;
    switch (name) {
      case '_PWD':
        return dirname(file);
      case '_INSTANCE':
        return this.options.configId;
      case '_HASH':
        return '#';
      case '_BANG':
        return '!';
      default:
        return undefined;
    }
  }

  private include(tokens: readonly Token[], file: string): void {
    const directive = tokens[0]!;
    const target = tokens[1];
    if (!target || tokens.length > 2) {
      this.diagnostics.error(directive.at, 'include needs exactly one file name or glob pattern');
      return;
    }
    if (this.includeStack.length > MAX_INCLUDE_DEPTH) {
      this.diagnostics.error(directive.at, `includes nested deeper than ${MAX_INCLUDE_DEPTH}`);
      return;
    }
    const pattern = isAbsolute(target.text) ? target.text : resolve(dirname(file), target.text);
    let matches: string[];
    try {
      matches = this.options.glob(pattern);
    } catch (e) {
      this.diagnostics.error(target.at, `cannot expand include pattern ${pattern}: ${(e as Error).message}`);
      return;
    }
    if (matches.length === 0) {
      this.diagnostics.warn(target.at, `no file matches include ${pattern}`);
      return;
    }
    for (const path of matches) {
      if (this.includeStack.includes(path)) {
        this.diagnostics.error(target.at, `include loop: ${path} is already being read`);
        continue;
      }
      let text: string;
      try {
        text = this.options.readFile(path);
      } catch (e) {
        this.diagnostics.error(target.at, `cannot read included file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        continue;
      }
      this.readText(text, path);
    }
  }
}

/** Reads `text` (and what it includes), handing over each logical line as soon as it is complete; returns the files read. */
export function readSource(
  text: string,
  file: string,
  options: SourceOptions,
  diagnostics: Diagnostics,
  emit: (tokens: LineTokens) => void,
): readonly string[] {
  const reader = new Reader(options, diagnostics, emit);
  reader.readText(text, file);
  return reader.files;
}
