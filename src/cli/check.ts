// `lvsctl check [-f FILE] [--json] [-i CONFIG_ID]` and `lvsd -t`: parse the
// configuration exactly as the daemon would, print every diagnostic, and say
// whether the daemon could use it.
import { parseConfigFile, formatDiagnostic } from '../config/index.ts';
import type { KeepalivedConfig } from '../config/model.ts';
import { realServerKey, virtualServerName } from '../daemon/engine.ts';
import { withScriptSecurity } from '../daemon/scripts.ts';
import { checkerWarnings } from '../healthcheck/from-config.ts';
import { vrrpSpecsFromConfig } from '../vrrp/from-config.ts';
import { parseCommandLine } from './args.ts';

export const DEFAULT_CHECK_FILE = '/etc/keepalived/keepalived.conf';

/** 0: usable (warnings allowed); 1: rejected. Usage errors throw UsageError. */
export async function checkCommand(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values } = parseCommandLine(argv, {
    'use-file': { type: 'string', short: 'f' },
    json: { type: 'boolean' },
    'config-id': { type: 'string', short: 'i' },
  });
  const file = values['use-file'] ?? DEFAULT_CHECK_FILE;
  const configId = values['config-id'];
  const result = parseConfigFile(file, configId === undefined ? {} : { configId });
  const diagnostics = result.ok ? result.warnings : [...result.errors, ...result.warnings].sort(
    (a, b) => a.at.file.localeCompare(b.at.file) || a.at.line - b.at.line || a.at.column - b.at.column,
  );
  for (const d of diagnostics) err.write(`${formatDiagnostic(d)}\n`);
  if (!result.ok) {
    err.write(`${file}: configuration rejected: ${result.errors.length} error(s), ${result.warnings.length} warning(s)\n`);
    return 1;
  }
  if (values.json) {
    out.write(`${JSON.stringify(result.config, null, 2)}\n`);
    return 0;
  }
  const { config } = result;
  // Scripts are judged on this host, as the daemon started here would judge them.
  const scriptWarnings: string[] = [];
  withScriptSecurity(config, (line) => scriptWarnings.push(line.replace(/^(.+?:\d+): /, '$1: warning: ')));
  const unhonoured = [...scriptWarnings, ...unhonouredSettings(config)];
  for (const warning of unhonoured) err.write(`${warning}\n`);
  const realServers = config.virtualServers.reduce((n, vs) => n + vs.realServers.length, 0);
  out.write(
    `${file}: configuration OK: ${config.virtualServers.length} virtual server(s), ${realServers} real server(s), ` +
      `${config.vrrpInstances.length} vrrp instance(s), ${result.warnings.length + unhonoured.length} warning(s)\n`,
  );
  return 0;
}

/**
 * What the daemon's checkers and VRRP speaker would warn about at start: settings lvsd reads but
 * does not honour. An operator who checks first learns of them before the daemon runs.
 */
function unhonouredSettings(config: KeepalivedConfig): string[] {
  const checks = checkerWarnings(config, { virtualServer: virtualServerName, realServer: realServerKey });
  return [...checks, ...vrrpSpecsFromConfig(config).warnings].map((warning) => warning.replace(/^(.+?:\d+): /, '$1: warning: '));
}
