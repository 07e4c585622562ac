import { lvsctl } from './lvsctl.ts';

process.exitCode = await lvsctl(process.argv.slice(2), process.stdout, process.stderr);
