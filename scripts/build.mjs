// Builds lvsd and lvsctl into one CommonJS file each (dist/cli/*.cjs). One file instead of
// hundreds matters: on a slow or emulated machine, resolving and reading undici and pino module by
// module took lvsd over ten seconds to start. CommonJS rather than ES modules because, in the
// kernel VM, the ES module loader's per-file work (linking, the chunks loaded on demand) cost a
// quarter of a second of every start, and the first checks half a second; the code that a
// configuration does not use is still only evaluated when first called.
// Type checking is tsc's job (npm run typecheck).
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { netlinkBinding } from './netlink-binding.mjs';

await build({
  entryPoints: { lvsd: 'src/cli/lvsd.ts', lvsctl: 'src/cli/lvsctl-main.ts' },
  outdir: 'dist/cli',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  // Native addons load their binaries relative to their own package (netlink's: see above).
  external: ['raw-socket', 'node-gyp-build', 'netlink/package.json'],
  plugins: [netlinkBinding],
  // Paths relative to import.meta.url (package.json, native/) hold from dist/cli as from src/*/.
  define: { 'import.meta.url': '__lvsdModuleUrl' },
  banner: { js: "const __lvsdModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});

// One warm-up run each writes the code cache bin/run-bundle.cjs loads (see there).
const warmUps = { lvsd: ['-t', '-f', 'examples/keepalived.conf'], lvsctl: ['--help'] };
for (const [name, args] of Object.entries(warmUps)) {
  execFileSync(process.execPath, ['bin/run-bundle.cjs', '--write-cache', `dist/cli/${name}.cjs`, ...args], { stdio: 'ignore', timeout: 60_000 });
}
