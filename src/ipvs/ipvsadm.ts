import { familyOf, type Family } from './address.ts';
import type { ForwardingMethod, IpvsDest, IpvsService, IpvsTable, Protocol, SchedulerFlag, ServiceId, TunnelType } from './model.ts';

/**
 * The rule language of `ipvsadm -S -n` / `ipvsadm -R`: formatting a table gives restore input,
 * parsing reads save output, so tests can compare our kernel programming with ipvsadm's.
 */

const PROTOCOL_SWITCH: Record<Protocol, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };
const FWD_SWITCH: Record<ForwardingMethod, string | null> = { masq: '-m', droute: '-g', tunnel: '-i', local: null, bypass: null };

export function formatRules(table: IpvsTable): string {
  const lines: string[] = [];
  for (const service of table) {
    const target = formatTarget(service.id);
    let line = `-A ${target} -s ${service.scheduler}`;
    if (service.persistence) {
      line += ` -p ${service.persistence.timeout}`;
      const full = service.id.af === 'inet' ? 32 : 128;
      if (service.persistence.prefix !== full) {
        line += ` -M ${service.id.af === 'inet' ? prefixToMask(service.persistence.prefix) : service.persistence.prefix}`;
      }
    }
    if (service.pe) line += ` --pe ${service.pe}`;
    if (service.schedulerFlags.length > 0) line += ` -b ${service.schedulerFlags.map((f) => schedulerFlagName(service.scheduler, f)).join(',')}`;
    if (service.onePacket) line += ' -o';
    lines.push(line);
    for (const dest of service.dests) lines.push(formatDest(target, dest));
  }
  return lines.map((l) => `${l}\n`).join('');
}

function formatTarget(id: ServiceId): string {
  if (id.kind === 'fwmark') return id.af === 'inet6' ? `-f ${id.fwmark} -6` : `-f ${id.fwmark}`;
  return `${PROTOCOL_SWITCH[id.protocol]} ${formatAddrPort(id.addr, id.port)}`;
}

function formatAddrPort(addr: string, port: number): string {
  return familyOf(addr) === 'inet6' ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function formatDest(target: string, dest: IpvsDest): string {
  const fwd = FWD_SWITCH[dest.fwd];
  if (fwd === null) throw new Error(`ipvsadm cannot express forwarding method ${dest.fwd}`);
  let line = `-a ${target} -r ${formatAddrPort(dest.addr, dest.port)} ${fwd} -w ${dest.weight}`;
  if (dest.upperThreshold) line += ` -x ${dest.upperThreshold}`;
  if (dest.lowerThreshold) line += ` -y ${dest.lowerThreshold}`;
  if (dest.tunnel) {
    line += ` --tun-type ${dest.tunnel.type}`;
    if (dest.tunnel.type === 'gue') line += ` --tun-port ${dest.tunnel.port}`;
    if (dest.tunnel.type !== 'ipip') line += ` --tun-${dest.tunnel.checksum}`;
  }
  return line;
}

function schedulerFlagName(scheduler: string, flag: SchedulerFlag): string {
  if ((scheduler === 'sh' || scheduler === 'mh') && flag !== 3) return `${scheduler}-${flag === 1 ? 'fallback' : 'port'}`;
  return `flag-${flag}`;
}

function prefixToMask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (mask >>> shift) & 0xff).join('.');
}

function maskToPrefix(mask: string): number {
  const bits = mask.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  return bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
}

export class RuleParseError extends Error {
  constructor(readonly lineNumber: number, readonly line: string, reason: string) {
    super(`line ${lineNumber}: ${reason}: ${line}`);
    this.name = 'RuleParseError';
  }
}

type MutableService = { -readonly [K in keyof IpvsService]: IpvsService[K] };

export function parseRules(text: string): IpvsTable {
  const services = new Map<string, MutableService>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const fail = (reason: string): never => {
      throw new RuleParseError(index + 1, line, reason);
    };
    const args = line.split(/\s+/);
    const command = args.shift();
    const options = readOptions(args, fail);
    const id = readTarget(options, fail);
    const key = `${id.af} ${formatTarget(id)}`;
    if (command === '-A') {
      services.set(key, readService(id, options, fail));
    } else if (command === '-a') {
      const service = services.get(key) ?? fail('destination before its service');
      service.dests = [...service.dests, readDest(options, fail)];
    } else {
      fail(`unknown command ${command}`);
    }
  });
  return [...services.values()];
}

type Options = Map<string, string | true>;
const VALUED = new Set(['-t', '-u', '--sctp-service', '-f', '-s', '-p', '-M', '--pe', '-b', '-r', '-w', '-x', '-y', '--tun-type', '--tun-port']);

function readOptions(args: string[], fail: (reason: string) => never): Options {
  const options: Options = new Map();
  for (let i = 0; i < args.length; i++) {
    const name = args[i] ?? '';
    if (VALUED.has(name)) {
      const value = args[i + 1];
      // -p takes an optional timeout (ipvsadm's default is 300 s).
      if (name === '-p' && (value === undefined || value.startsWith('-'))) options.set(name, '300');
      else options.set(name, value ?? fail(`${name} needs a value`)), i++;
    } else {
      options.set(name, true);
    }
  }
  return options;
}

function value(options: Options, name: string): string | undefined {
  const v = options.get(name);
  return typeof v === 'string' ? v : undefined;
}

function splitAddrPort(text: string, fail: (reason: string) => never): { addr: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text) ?? fail(`bad address ${text}`);
  return { addr: match[1] ?? '', port: Number(match[2] ?? 0) };
}

function readTarget(options: Options, fail: (reason: string) => never): ServiceId {
  const fwmark = value(options, '-f');
  if (fwmark !== undefined) {
    const af: Family = options.has('-6') ? 'inet6' : 'inet';
    return { kind: 'fwmark', af, fwmark: Number(fwmark) };
  }
  for (const protocol of ['tcp', 'udp', 'sctp'] as const) {
    const text = value(options, PROTOCOL_SWITCH[protocol]);
    if (text === undefined) continue;
    const { addr, port } = splitAddrPort(text, fail);
    return { kind: 'addr', af: familyOf(addr), protocol, addr, port };
  }
  return fail('no service (-t, -u, --sctp-service or -f)');
}

function readService(id: ServiceId, options: Options, fail: (reason: string) => never): MutableService {
  const timeout = value(options, '-p');
  const mask = value(options, '-M');
  const full = id.af === 'inet' ? 32 : 128;
  const prefix = mask === undefined ? full : id.af === 'inet' ? maskToPrefix(mask) : Number(mask);
  const flagNames = value(options, '-b')?.split(',') ?? [];
  const schedulerFlags = flagNames
    .map((name): SchedulerFlag => {
      if (/fallback$|^flag-1$/.test(name)) return 1;
      if (/port$|^flag-2$/.test(name)) return 2;
      if (name === 'flag-3') return 3;
      return fail(`unknown scheduler flag ${name}`);
    })
    .sort();
  return {
    id,
    scheduler: value(options, '-s') ?? 'wlc',
    persistence: timeout === undefined ? null : { timeout: Number(timeout), prefix },
    onePacket: options.has('-o'),
    schedulerFlags,
    pe: value(options, '--pe') ?? null,
    dests: [],
  };
}

function readDest(options: Options, fail: (reason: string) => never): IpvsDest {
  const { addr, port } = splitAddrPort(value(options, '-r') ?? fail('no -r'), fail);
  const fwd: ForwardingMethod = options.has('-m') ? 'masq' : options.has('-i') ? 'tunnel' : 'droute';
  const tunnelType = (value(options, '--tun-type') ?? 'ipip') as TunnelType;
  return {
    addr,
    port,
    fwd,
    weight: Number(value(options, '-w') ?? 1),
    upperThreshold: Number(value(options, '-x') ?? 0),
    lowerThreshold: Number(value(options, '-y') ?? 0),
    tunnel:
      fwd === 'tunnel'
        ? {
            type: tunnelType,
            port: Number(value(options, '--tun-port') ?? 0),
            checksum: options.has('--tun-remcsum') ? 'remcsum' : options.has('--tun-csum') ? 'csum' : 'nocsum',
          }
        : null,
  };
}
