#!/usr/bin/env node
'use strict';
// Runs the compiled control tool; `npm ci` (or `npm run build`) compiles src/ into dist/.
// CommonJS (bin/package.json), so that a start does not also set up node's ES module loader.
require('./run-bundle.cjs').runCommand('lvsctl');
