// npm run bench [-- NAME... [--quick|--full|--FLAG VALUE...]]: runs bench/NAME.bench.ts (all of them by default,
// but those of BY_NAME_ONLY) one after another, each in its own process, passing the flags through.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
/** Run only when named: the soak takes ten minutes and measures no ratio to keepalived. */
const BY_NAME_ONLY = new Set(['soak']);
const available = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();
// Names come first; from the first flag on, everything goes to each benchmark, so that a flag
// keeps its value (`checkers --kind tcp`).
const args = process.argv.slice(2);
const firstFlag = args.findIndex((arg) => arg.startsWith('-'));
const named = firstFlag < 0 ? args : args.slice(0, firstFlag);
const flags = firstFlag < 0 ? [] : args.slice(firstFlag);
const unknown = named.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const name of named.length > 0 ? named : available.filter((name) => !BY_NAME_ONLY.has(name))) {
  process.stdout.write(`\n### ${name}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${name}.bench.ts`, ...flags], { stdio: 'inherit', timeout: 30 * 60_000 });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
