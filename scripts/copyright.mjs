// Writes the package's machine-readable copyright file (DEP-5) to stdout: lvsd, the npm packages
// bundled into dist/cli (read from the bundles' source maps, so the list follows the build), the
// npm packages shipped as they are, and the Node.js runtime. Usage, from the checkout:
//   node scripts/copyright.mjs NODE_LICENSE_FILE SHIPPED_PACKAGE...
import { readdirSync, readFileSync } from 'node:fs';

const [nodeLicense, ...shipped] = process.argv.slice(2);
if (!nodeLicense) throw new Error('usage: node scripts/copyright.mjs NODE_LICENSE_FILE SHIPPED_PACKAGE...');

// Debian's names for the SPDX ones npm uses; another license needs its text added below first.
const DEBIAN_LICENSE = { MIT: 'Expat', 'Apache-2.0': 'Apache-2.0' };

function npmPackage(name) {
  const dir = `node_modules/${name}`;
  const { version, license, author } = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  const debianLicense = DEBIAN_LICENSE[license];
  if (!debianLicense) throw new Error(`${name}: license ${license} has no text in scripts/copyright.mjs`);
  const licenseFile = readdirSync(dir).find((file) => /^licen[cs]e/i.test(file));
  // Its LICENSE's copyright lines, not the Apache license's own "Copyright [yyyy] [name...]".
  const holders = (licenseFile ? readFileSync(`${dir}/${licenseFile}`, 'utf8').split('\n') : [])
    .map((line) => line.trim())
    .filter((line) => /^copyright\b/i.test(line) && !/\[|notice|license/i.test(line));
  const fallback = typeof author === 'string' ? author : author?.name;
  return { name, version, license, debianLicense, holders: holders.length > 0 ? holders : [`${fallback ?? name + ' authors'}`] };
}

const bundled = new Set();
for (const map of ['dist/cli/lvsd.cjs.map', 'dist/cli/lvsctl.cjs.map']) {
  for (const source of JSON.parse(readFileSync(map, 'utf8')).sources) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1];
    if (name) bundled.add(name);
  }
}
const inBundles = [...bundled].sort().map(npmPackage);

const EXPAT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

// Debian's copyright files point to the Apache license in common-licenses instead of copying it.
const withoutApacheTexts = (text) =>
  text.replace(
    /^[ \t]*Apache License\s*\n\s*Version 2\.0, January 2004[\s\S]*?^([ \t]*)END OF TERMS AND CONDITIONS$/gm,
    '$1The Apache License, Version 2.0: on Debian systems, see /usr/share/common-licenses/Apache-2.0.',
  );

const indent = (text) => text.trimEnd().split('\n').map((line) => (line.trim() === '' ? ' .' : ` ${line}`)).join('\n');
const paragraph = (fields) => Object.entries(fields).map(([key, value]) => `${key}: ${value}`).join('\n');

const paragraphs = [
  paragraph({ 'Format': 'https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/', 'Upstream-Name': 'lvsd' }),
  paragraph({ Files: '*', Copyright: 'lvsd contributors', License: 'Expat' }),
  paragraph({
    Files: 'usr/lib/lvsd/dist/cli/*',
    Copyright: indent(['lvsd contributors', ...new Set(inBundles.flatMap((pkg) => pkg.holders))].join('\n')).trimStart(),
    License: [...new Set(['Expat', ...inBundles.map((pkg) => pkg.debianLicense)])].join(' and '),
    Comment: `lvsd.cjs and lvsctl.cjs bundle lvsd with these npm packages:\n${indent(inBundles.map((pkg) => `${pkg.name} ${pkg.version} (${pkg.license})`).join('\n'))}`,
  }),
  ...shipped.map(npmPackage).map((pkg) =>
    paragraph({ Files: `usr/lib/lvsd/node_modules/${pkg.name}/*`, Copyright: indent(pkg.holders.join('\n')).trimStart(), License: pkg.debianLicense }),
  ),
  paragraph({
    Files: 'usr/lib/lvsd/node',
    Copyright: 'Node.js contributors, and the authors of the components Node.js bundles (see below)',
    License: `Node.js\n${indent(withoutApacheTexts(readFileSync(nodeLicense, 'utf8')))}`,
  }),
  `License: Expat\n${indent(EXPAT)}`,
  'License: Apache-2.0\n On Debian systems, the complete text of the Apache License, Version 2.0, can be found in\n "/usr/share/common-licenses/Apache-2.0".',
];
process.stdout.write(`${paragraphs.join('\n\n')}\n`);
