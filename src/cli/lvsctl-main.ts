import { lvsctl } from './lvsctl.ts';

void lvsctl(process.argv.slice(2), process.stdout, process.stderr).then((code) => (process.exitCode = code));
