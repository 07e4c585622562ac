import { readFile } from 'node:fs/promises';

// netlink's raw.js finds its binary with node-gyp-build, which searches the package's build and
// prebuilds directories on every start; bundled, its __dirname would not be the package either.
// The bundle loads the prebuild for this platform by its path, and searches only without one.
const NETLINK_BINDING = `(() => {
  const path = require('node:path');
  const root = path.dirname(require.resolve('netlink/package.json'));
  const prebuild = path.join(root, 'prebuilds', process.platform + '-' + process.arch, 'node.napi.node');
  return require('node:fs').existsSync(prebuild) ? require(prebuild) : require('node-gyp-build')(root);
})()`;
/** An esbuild plugin: bundled netlink loads its binding by path (see NETLINK_BINDING). */
export const netlinkBinding = {
  name: 'netlink-binding',
  setup(build) {
    build.onLoad({ filter: /[\\/]netlink[\\/]dist[\\/]raw\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const search = "require('node-gyp-build')(__dirname + '/..')";
      if (!source.includes(search)) throw new Error(`${args.path}: netlink no longer loads its binding with ${search}`);
      return { contents: source.replace(search, NETLINK_BINDING), loader: 'js' };
    });
  },
};

