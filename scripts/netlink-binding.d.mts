import type { Plugin } from 'esbuild';

/** An esbuild plugin: bundled netlink loads its binding by path (see netlink-binding.mjs). */
export declare const netlinkBinding: Plugin;
