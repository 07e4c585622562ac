// Builds lvsd and lvsctl into one ES module each (dist/cli/*.js). One file instead of hundreds
// matters: on a slow or emulated machine, resolving and reading undici and pino module by module
// took lvsd over ten seconds to start. Type checking is tsc's job (npm run typecheck).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/lvsd.ts', 'src/cli/lvsctl-main.ts'],
  outdir: 'dist/cli',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Parts loaded on demand (the checker probes, the VRRP speaker) become chunks beside the entry
  // points, at the same depth as src/*/, so paths relative to import.meta.url hold in both.
  splitting: true,
  chunkNames: '[name]-[hash]',
  // Native addons load their binaries relative to their own package.
  external: ['raw-socket', 'netlink'],
  // CommonJS dependencies (pino) call require(); give the bundle one.
  banner: { js: "import { createRequire as __lvsdCreateRequire } from 'node:module'; const require = __lvsdCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
