import { resolve } from 'node:path';
import { parseCommandLine, UsageError } from './args.ts';
import { checkCommand } from './check.ts';
import { digestCommand } from './digest.ts';
import { drainCommand, undrainCommand } from './drain.ts';
import { ControlUnavailableError, requestControl } from '../daemon/control.ts';
import { DEFAULT_SOCKET } from '../daemon/options.ts';
import type { ReloadOutcome, DiffOutcome } from '../daemon/director.ts';

const USAGE = `Usage: lvsctl COMMAND [OPTION...]
Controls and inspects a running lvsd.

Commands:
  status [--json]          virtual services, real-server health and VRRP state
  reload                   re-read the configuration (as SIGHUP does) and report the result
  diff -f FILE             what reloading with FILE would change in IPVS, without doing it
  drain RS [--vs VS] [--wait [--timeout S]]
                           weight 0 in IPVS for real server RS (ADDRESS or ADDRESS:PORT), of VS
                           or of every virtual server: its connections go on, new ones go
                           elsewhere; --wait until it has no active connection (default 300 s)
  undrain RS [--vs VS] [--over S]
                           its weight back, in ten steps over S seconds (default: at once)
  check [-f FILE] [--json] check a configuration file (default /etc/keepalived/keepalived.conf)
  digest URL               MD5 digest of a page's body, as keepalived's genhash prints it

Options:
  --socket PATH            the daemon's control socket (default ${DEFAULT_SOCKET})
  -h, --help               print this help
`;

type Out = NodeJS.WritableStream;

async function status(argv: readonly string[], out: Out): Promise<number> {
  const { values } = parseCommandLine(argv, { json: { type: 'boolean' }, socket: { type: 'string' } });
  // The daemon renders, so that this and native/lvsctl (which bin/lvsctl runs for a status) print the same.
  const view = await requestControl(values.socket ?? DEFAULT_SOCKET, { command: 'status-view', format: values.json ? 'json' : 'table', color: isColorTerminal(out) });
  out.write(String(view));
  return 0;
}

async function reload(argv: readonly string[], out: Out, err: Out): Promise<number> {
  const { values } = parseCommandLine(argv, { socket: { type: 'string' } });
  const outcome = (await requestControl(values.socket ?? DEFAULT_SOCKET, { command: 'reload' })) as ReloadOutcome;
  if (!outcome.ok) {
    err.write(`lvsctl: reload rejected, lvsd keeps running on the previous configuration:\n${outcome.message}\n`);
    return 1;
  }
  out.write(`reloaded: ${outcome.message}\n`);
  return 0;
}

async function diff(argv: readonly string[], out: Out, err: Out): Promise<number> {
  const { values } = parseCommandLine(argv, { 'use-file': { type: 'string', short: 'f' }, socket: { type: 'string' } });
  if (!values['use-file']) throw new UsageError('diff needs -f FILE');
  const configFile = resolve(values['use-file']);
  const outcome = (await requestControl(values.socket ?? DEFAULT_SOCKET, { command: 'diff', configFile })) as DiffOutcome;
  if (!outcome.ok) {
    err.write(`${outcome.message}\n`);
    return 1;
  }
  out.write(outcome.changes.length === 0 ? 'no change\n' : `${outcome.changes.join('\n')}\n`);
  return 0;
}

function isColorTerminal(out: Out): boolean {
  return (out as NodeJS.WriteStream).isTTY === true && process.env.NO_COLOR === undefined;
}

export async function lvsctl(argv: readonly string[], out: Out, err: Out): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'status':
        return await status(rest, out);
      case 'reload':
        return await reload(rest, out, err);
      case 'diff':
        return await diff(rest, out, err);
      case 'check':
        return await checkCommand(rest, out, err);
      case 'drain':
        return await drainCommand(rest, out, err);
      case 'undrain':
        return await undrainCommand(rest, out);
      case 'digest':
        return await digestCommand(rest, out, err);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        out.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err.write(`lvsctl: ${error.message}\nTry 'lvsctl --help'.\n`);
      return 2;
    }
    if (error instanceof ControlUnavailableError) {
      err.write(`lvsctl: ${error.message}\n`);
      return 3;
    }
    err.write(`lvsctl: ${(error as Error).message}\n`);
    return 1;
  }
}
