// Turns a command's --help (on stdin) into a man page (roff, on stdout), so that the package's
// man pages say what the commands say and cannot drift from them. Usage:
//   bin/lvsd --help | node scripts/man-page.mjs lvsd 0.1.0 2026-01-31
// The help's shape: "Usage: NAME ARGS", a line saying what the command does, then blocks of
// "  TERM   DESCRIPTION" entries (continued on lines indented to the description's column), each
// block after an optional "Heading:" line, and paragraphs such as "Signals: ...".
import { readFileSync } from 'node:fs';

const [name, version, date] = process.argv.slice(2);
if (!name || !version || !date) throw new Error('usage: node scripts/man-page.mjs NAME VERSION DATE < help');
const lines = readFileSync(0, 'utf8').trimEnd().split('\n');

const escape = (text) => text.replace(/\\/g, '\\e').replace(/^(?=[.'])/, '\\&');
// Options are typed, so their dashes must be minus signs; a hyphen in prose stays a hyphen.
const minus = (text) => escape(text).replace(/(^|[\s[|])(-{1,2})(?=\w)/g, (_, before, dashes) => before + dashes.replace(/-/g, '\\-'));
const term = (text) => escape(text).replace(/-/g, '\\-');

const usage = /^Usage: (\S+) ?(.*)$/.exec(lines[0] ?? '');
if (!usage) throw new Error(`${name} --help does not start with "Usage: "`);
const summary = lines[1] ?? '';
// The column where descriptions start: where most "  TERM  DESCRIPTION" lines put them.
const columns = new Map();
for (const line of lines) {
  const entry = /^ {2,}\S.*?\s{2,}(?=\S)/.exec(line);
  if (entry) columns.set(entry[0].length, (columns.get(entry[0].length) ?? 0) + 1);
}
const column = [...columns].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;

const out = [
  `.TH ${name.toUpperCase()} 8 "${date}" "${name} ${version}" "System Administration"`,
  '.SH NAME',
  `${name} \\- ${escape(summary.replace(/\.$/, ''))}`,
  '.SH SYNOPSIS',
  `.B ${usage[1]}`,
  minus(usage[2]),
  '.SH DESCRIPTION',
  minus(summary),
];
let inSection = false;
for (const line of lines.slice(2)) {
  const heading = /^(\w[\w ]*):(?: (.*))?$/.exec(line);
  // A term as wide as the column or wider takes the whole line; its description follows.
  const head = line[column - 1] === ' ' ? line.slice(0, column) : line;
  if (line.trim() === '') {
    out.push('.PP');
  } else if (heading) {
    out.push(`.SH ${heading[1].toUpperCase()}`);
    inSection = true;
    if (heading[2]) out.push(minus(heading[2]));
  } else if (/^ {2}/.test(line) && head.trim() !== '') {
    // An entry: a help without headings lists options.
    if (!inSection) out.push('.SH OPTIONS');
    inSection = true;
    out.push('.TP', `.B ${term(head.trim())}`);
    if (head !== line) out.push(minus(line.slice(column).trim()));
  } else {
    out.push(minus(line.trim()));
  }
}
// A paragraph break right before a section or an entry is redundant (and lintian says so).
const roff = out.filter((line, index) => line !== '.PP' || !/^\.(SH|TP|PP)/.test(out[index + 1] ?? '.SH'));
process.stdout.write(`${roff.join('\n')}\n`);
