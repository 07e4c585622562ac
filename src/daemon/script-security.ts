import type { Checker, KeepalivedConfig, RealServer, ScriptCommand, SourceLocation, VrrpNotify } from '../config/model.ts';
import { realServerScriptsAt } from '../config/real-server-scripts.ts';
import type { Accounts, Credentials } from '../util/accounts.ts';
import { splitCommandLine } from '../util/command.ts';
import { inspectScript, type ScriptFiles } from './script-inspection.ts';

/**
 * keepalived 2.2.7's script_user, enable_script_security and keepalived_script, applied to a parsed
 * config: each script gets the uid:gid it runs as (its own `user [group]`, else script_user, else
 * keepalived_script, else lvsd's own), and a script keepalived would not run is taken out, with
 * keepalived's messages at the config line that names it. Pure: the host comes in through ScriptHost.
 */

export interface ScriptHost extends ScriptFiles {
  readonly accounts: Accounts;
  /** lvsd's effective uid:gid, the fallback when keepalived_script does not exist. */
  readonly self: Credentials;
}

export interface ScriptNotice {
  readonly at: SourceLocation;
  readonly message: string;
}

export interface ScriptPolicy {
  /** Kept scripts carry runAs; refused ones (and the checkers and track_script entries of them) are gone. */
  readonly config: KeepalivedConfig;
  readonly notices: readonly ScriptNotice[];
}

/** keepalived's three ways of dropping a script, each with its own words. */
type Role = { readonly kind: 'misc' } | { readonly kind: 'track'; readonly name: string } | { readonly kind: 'notify'; readonly type: 'notify' | 'quorum' };

const DEFAULT_USER = 'keepalived_script';

const namesScript = (rs: RealServer): boolean => realServerScriptsAt(rs).length > 0;

/** keepalived's cmd_str: each word in single quotes. */
function quoted(argv: readonly string[]): string {
  return argv.map((word) => `'${word}'`).join(' ');
}

function lookUp(accounts: Accounts, user: string, group: string | undefined): { credentials: Credentials } | { problem: string } {
  const found = accounts.user(user);
  if (!found) return { problem: `Script user '${user}' does not exist` };
  if (group === undefined) return { credentials: found };
  const gid = accounts.group(group);
  return gid === undefined ? { problem: `Script group '${group}' does not exist` } : { credentials: { uid: found.uid, gid } };
}

function userFailure(role: Role, argv: readonly string[]): string {
  if (role.kind === 'misc') return `Failed to set uid/gid for misc checker script ${quoted(argv)} - removing`;
  if (role.kind === 'track') return `Unable to set uid/gid for script ${quoted(argv)}`;
  return `Invalid user/group for ${role.type} script ${argv[0] ?? ''} - ignoring`;
}

function defaultUserFailure(role: Role, argv: readonly string[]): string {
  if (role.kind === 'misc') return `Unable to set default user for misc script ${quoted(argv)} - removing`;
  if (role.kind === 'track') return `Unable to set default user for vrrp script ${role.name} - removing`;
  return `Failed to set default user for ${role.type} script ${argv[0] ?? ''} - ignoring`;
}

function disabling(role: Role, argv: readonly string[], why: 'due to insecure' | 'since not found/accessible'): string[] {
  if (role.kind === 'misc') return [`Disabling misc script ${quoted(argv)} ${why}`];
  if (role.kind === 'track') return [`Disabling track script ${role.name} ${why}`];
  return [];
}

interface SideFlags {
  isScript: boolean;
  insecure: boolean;
  first: SourceLocation | undefined;
}

export function applyScriptSecurity(config: KeepalivedConfig, host: ScriptHost): ScriptPolicy {
  const security = config.globalDefs.enableScriptSecurity;
  const notices: ScriptNotice[] = [];
  const note = (at: SourceLocation, message: string): void => void notices.push({ at, message });
  let defaultUser: { readonly credentials: Credentials | undefined } | undefined;

  // keepalived settles the default user once, at the first script that needs it.
  const defaultCredentials = (at: SourceLocation): Credentials | undefined => {
    if (defaultUser) return defaultUser.credentials;
    const configured = config.globalDefs.scriptUser;
    const looked = lookUp(host.accounts, configured?.user ?? DEFAULT_USER, configured?.group);
    if ('credentials' in looked) defaultUser = { credentials: looked.credentials };
    else {
      note(at, looked.problem);
      if (configured) note(config.globalDefs.at ?? at, 'Error setting global script uid/gid');
      else if (security) note(at, `Unable to set default user ${DEFAULT_USER} for script`);
      defaultUser = { credentials: configured || security ? undefined : host.self };
    }
    return defaultUser.credentials;
  };

  const judge = (script: ScriptCommand | undefined, at: SourceLocation, role: Role, side: SideFlags): ScriptCommand | undefined => {
    if (!script) return undefined;
    const argv = splitCommandLine(script.command);
    const [program] = argv;
    if (program === undefined) return undefined;
    let runAs: Credentials | undefined;
    if (script.user !== undefined) {
      const looked = lookUp(host.accounts, script.user, script.group);
      if ('problem' in looked) {
        note(at, looked.problem);
        note(at, userFailure(role, argv));
        return undefined;
      }
      runAs = looked.credentials;
    } else {
      runAs = defaultCredentials(at);
      if (!runAs) {
        note(at, defaultUserFailure(role, argv));
        return undefined;
      }
    }
    const inspection = inspectScript(program, runAs, security, host);
    const shown = [inspection.program, ...argv.slice(1)];
    for (const message of inspection.messages) note(at, message);
    if (inspection.inhibited) for (const message of disabling(role, shown, 'due to insecure')) note(at, message);
    else if (inspection.notFound) for (const message of disabling(role, shown, 'since not found/accessible')) note(at, message);
    side.isScript ||= inspection.isScript;
    side.insecure ||= inspection.insecure;
    side.first ??= at;
    if (inspection.inhibited || inspection.notFound || !inspection.executable) return undefined;
    return { ...script, runAs };
  };

  const check: SideFlags = { isScript: false, insecure: false, first: undefined };
  const vrrp: SideFlags = { isScript: false, insecure: false, first: undefined };
  const notify = (script: ScriptCommand | undefined, at: SourceLocation, side: SideFlags, type: 'notify' | 'quorum' = 'notify') =>
    judge(script, at, { kind: 'notify', type }, side);
  const optional = <K extends string>(key: K, script: ScriptCommand | undefined): Partial<Record<K, ScriptCommand>> =>
    (script ? { [key]: script } : {}) as Partial<Record<K, ScriptCommand>>;
  const notifyBlock = (block: VrrpNotify, at: SourceLocation): VrrpNotify => {
    const kept: Record<string, ScriptCommand> = {};
    for (const [key, script] of Object.entries(block) as [keyof VrrpNotify, ScriptCommand | undefined][]) {
      const judged = notify(script, at, vrrp);
      if (judged) kept[key] = judged;
    }
    return kept;
  };

  // keepalived checks each side only when it has something to run: virtual servers, or vrrp instances.
  // Blocks without a script are kept as they are: at 10,000 real servers, copying each cost a
  // tenth of `lvsd -t`.
  const virtualServers = config.virtualServers.length === 0 ? config.virtualServers : config.virtualServers.map((vs) => {
    if (vs.quorumUp === undefined && vs.quorumDown === undefined && !vs.realServers.some(namesScript)) return vs;
    const realServers = vs.realServers.map((rs) => {
      if (!namesScript(rs)) return rs;
      const checkers = rs.checkers.flatMap((checker): Checker[] => {
        if (checker.kind !== 'MISC_CHECK') return [checker];
        const script = judge(checker.script, checker.at, { kind: 'misc' }, check);
        return script ? [{ ...checker, script }] : [];
      });
      const { notifyUp, notifyDown, ...rest } = rs;
      return { ...rest, checkers, ...optional('notifyUp', notify(notifyUp, rs.at, check)), ...optional('notifyDown', notify(notifyDown, rs.at, check)) };
    });
    const { quorumUp, quorumDown, ...rest } = vs;
    return {
      ...rest,
      realServers,
      ...optional('quorumUp', notify(quorumUp, vs.at, check, 'quorum')),
      ...optional('quorumDown', notify(quorumDown, vs.at, check, 'quorum')),
    };
  });

  let vrrpPart: Pick<KeepalivedConfig, 'vrrpScripts' | 'vrrpInstances' | 'vrrpSyncGroups'> = {
    vrrpScripts: config.vrrpScripts,
    vrrpInstances: config.vrrpInstances,
    vrrpSyncGroups: config.vrrpSyncGroups,
  };
  if (config.vrrpInstances.length > 0) {
    const vrrpScripts = config.vrrpScripts.flatMap((vscript) => {
      const script = judge(vscript.script, vscript.at, { kind: 'track', name: vscript.name }, vrrp);
      return script ? [{ ...vscript, script }] : [];
    });
    const refused = new Set(config.vrrpScripts.filter((s) => !vrrpScripts.some((kept) => kept.name === s.name)).map((s) => s.name));
    vrrpPart = {
      vrrpScripts,
      vrrpInstances: config.vrrpInstances.map((instance) => ({
        ...instance,
        notify: notifyBlock(instance.notify, instance.at),
        trackScripts: instance.trackScripts.filter((tracked) => !refused.has(tracked.name)),
      })),
      vrrpSyncGroups: config.vrrpSyncGroups.map((group) => ({
        ...group,
        notify: notifyBlock(group.notify, group.at),
        trackScripts: group.trackScripts.filter((tracked) => !refused.has(tracked.name)),
      })),
    };
  }

  for (const [side, processScripts] of [[check, 'check scripts'], [vrrp, 'scripts']] as const) {
    if (security || !side.isScript || !side.first) continue;
    note(side.first, `SECURITY VIOLATION - ${processScripts} are being executed but script_security not enabled.${side.insecure ? ' There are insecure scripts.' : ''}`);
  }
  return { config: { ...config, virtualServers, ...vrrpPart }, notices };
}
