import { readFileSync } from 'node:fs';
import { parseCommandLine, UsageError } from './args.ts';
import { checkCommand } from './check.ts';
import { DEFAULT_CONFIG_FILE, DEFAULT_SOCKET, type DaemonOptions } from '../daemon/options.ts';

const USAGE = `Usage: lvsd [OPTION...]
A Linux Virtual Server director that reads keepalived.conf.

  -f, --use-file FILE     configuration file (default ${DEFAULT_CONFIG_FILE})
  -t, --config-test       check the configuration and exit (0 usable, 1 not)
  -C, --check             run only the checkers and IPVS (no VRRP)
  -P, --vrrp              run only VRRP (no IPVS: works on kernels without ip_vs)
  -p, --pid FILE          write the daemon's pid to FILE (removed at exit)
  -l, --log-console       log to the console (lvsd always does; accepted for keepalived)
  -D, --log-detail        log more detail (debug level)
  -n, --dont-fork         stay in the foreground (lvsd always does; accepted for keepalived)
  -S, --log-facility N    accepted for keepalived; lvsd logs to stdout, which systemd collects
  -c, --checkers_pid FILE accepted for keepalived; lvsd is one process (see --pid)
  -r, --vrrp_pid FILE     accepted for keepalived; lvsd is one process (see --pid)
      --socket PATH       control socket for lvsctl (default ${DEFAULT_SOCKET})
      --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics
  -v, --version           print the version and exit
  -h, --help              print this help and exit

Signals: HUP reloads the configuration (a bad file is rejected whole and the
running one kept), TERM and INT remove what lvsd programmed and exit.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `lvsd ${pkg.version}`;
}

export function parseDaemonOptions(argv: readonly string[]): DaemonOptions | 'help' | 'version' | { configTest: string } {
  const { values } = parseCommandLine(argv, {
    'use-file': { type: 'string', short: 'f' },
    'config-test': { type: 'boolean', short: 't' },
    check: { type: 'boolean', short: 'C' },
    vrrp: { type: 'boolean', short: 'P' },
    pid: { type: 'string', short: 'p' },
    'log-console': { type: 'boolean', short: 'l' },
    'log-detail': { type: 'boolean', short: 'D' },
    'dont-fork': { type: 'boolean', short: 'n' },
    'log-facility': { type: 'string', short: 'S' },
    checkers_pid: { type: 'string', short: 'c' },
    vrrp_pid: { type: 'string', short: 'r' },
    socket: { type: 'string' },
    metrics: { type: 'string' },
    version: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  if (values.version) return 'version';
  const configFile = values['use-file'] ?? DEFAULT_CONFIG_FILE;
  if (values['config-test']) return { configTest: configFile };
  if (values.check && values.vrrp) throw new UsageError('--check and --vrrp exclude each other: give neither to run both');
  return {
    configFile,
    runCheckers: !values.vrrp,
    runVrrp: !values.check,
    pidFile: values.pid,
    logDetail: values['log-detail'] ?? false,
    socketPath: values.socket ?? DEFAULT_SOCKET,
    metricsAddress: values.metrics === undefined ? undefined : parseListenAddress(values.metrics),
  };
}

function parseListenAddress(text: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new UsageError(`--metrics wants ADDR:PORT, e.g. 127.0.0.1:9650, not '${text}'`);
  return { host: match[1] || '0.0.0.0', port };
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseDaemonOptions>;
  try {
    parsed = parseDaemonOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`lvsd: ${error.message}\nTry 'lvsd --help'.\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if ('configTest' in parsed) return checkCommand(['-f', parsed.configTest], process.stdout, process.stderr);
  const { runDaemon } = await import('../daemon/daemon.ts');
  return runDaemon(parsed);
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
