// Starts LocalAddresses in its network namespace, then runs `ip -batch FILE` (argv[2]) with the event
// loop blocked, so the address notifications pile up unread; exits once it knows ADDRESS (argv[3]).
// Every listener call is a line on stdout: "lost CODE" or "changed +N -M"; then "knows ADDRESS".
//
// The batch runs straight after the first dump, while the netlink package is still in its read loop:
// the next read meets the overrun and reports it as an error event. Were epoll to see the overrun
// first (EPOLLERR), netlink 0.3.0's native poll handler would abort the process (std::terminate,
// from building its error with no syscall name), which no JavaScript listener can prevent.
import { spawnSync } from 'node:child_process';
import { LocalAddresses } from '../../src/daemon/local-addresses.ts';

const [batch = '', address = ''] = process.argv.slice(2);
const local = await LocalAddresses.watch({
  changed: (added, removed) => process.stdout.write(`changed +${added.length} -${removed.length}\n`),
  lost: (error) => process.stdout.write(`lost ${(error as NodeJS.ErrnoException).code ?? error.message}\n`),
});
spawnSync('ip', ['-batch', batch], { stdio: 'ignore', timeout: 30_000 });
const poll = setInterval(() => {
  if (!local.has(address)) return;
  clearInterval(poll);
  process.stdout.write(`knows ${address}\n`);
  local.close();
}, 50);
