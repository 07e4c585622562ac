// The top level of keepalived.conf: dispatches each block to its parser as
// it arrives, then checks what refers to what (groups, scripts, track files,
// sync groups).
import { Diagnostics, sourceOrder } from './diagnostics.ts';
import type {
  BgpAnnounce, IpAddressSpec, IpRouteSpec, KeepalivedConfig, SourceLocation, SslConfig, StaticRuleSpec, TrackFile, VirtualServer, VirtualServerGroup, VrrpInstance, VrrpTrackProcess,
  VrrpScript, VrrpSyncGroup,
} from './model.ts';
import { parseBgpAnnounce } from './bgp.ts';
import { defaultGlobals, parseGlobalDefs } from './global.ts';
import {
  keyText, parseVirtualServerGroup, readVirtualServer, refersToDefinitions, resolveVirtualServer, type LvsContext, type VirtualServerDraft,
} from './lvs.ts';
import { realServerScriptsAt } from './real-server-scripts.ts';
import type { Statement } from './tree.ts';
import { block, dispatch, text, type Handlers, type Mutable } from './values.ts';
import {
  parseStaticAddresses, parseTrackFile, parseVrrpInstance, parseVrrpScript, parseVrrpSyncGroup, parseVrrpTrackProcess, routeList,
} from './vrrp.ts';

/** Top-level blocks keepalived knows that lvsd does not implement; accepted with a warning. */
const UNSUPPORTED_TOP_LEVEL = ['garp_group', 'bfd_instance', 'linkbeat_interfaces'];

/**
 * keepalived 2.2.7's VRRP process adds these at its start, puts back one that is deleted and
 * removes them at its stop (vrrp_daemon.c start_vrrp and vrrp_terminate_phase1, keepalived_netlink.c
 * reinstate_static_*). lvsd reads them (`lvsctl check --json` shows them) and programs none.
 */
const STATIC_BLOCK_WHY = "lvsd leaves static addresses, routes and rules to the host's network configuration";

function byName<T extends { readonly name: string; readonly at: Statement['at'] }>(items: readonly T[], what: string, d: Diagnostics): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    if (map.has(item.name)) d.error(item.at, `${what} '${item.name}' is defined twice (first at line ${map.get(item.name)!.at.line})`);
    else map.set(item.name, item);
  }
  return map;
}

function parseSsl(s: Statement, d: Diagnostics): SslConfig {
  const ssl: Mutable<SslConfig> = { at: s.at };
  dispatch(block(s, d) ?? [], {
    password: (t) => { ssl.password = text(t, 0, d); },
    ca: (t) => { ssl.ca = text(t, 0, d); },
    certificate: (t) => { ssl.certificate = text(t, 0, d); },
    key: (t) => { ssl.key = text(t, 0, d); },
  }, d, 'SSL');
  return ssl;
}

function resolveTracking<T extends { readonly name: string; readonly at: Statement['at'] }>(
  owner: string,
  tracked: readonly T[],
  known: ReadonlyMap<string, unknown>,
  what: string,
  d: Diagnostics,
): T[] {
  return tracked.filter((t) => {
    if (known.has(t.name)) return true;
    d.warn(t.at, `(${owner}) ${what} ${t.name} not found, ignoring`);
    return false;
  });
}

/** Where the first script of the configuration is set, if any (for the script_security warning). */
function firstScriptAt(config: KeepalivedConfig, order: (a: SourceLocation, b: SourceLocation) => number): SourceLocation | undefined {
  let first: SourceLocation | undefined;
  const consider = (at: SourceLocation, hasScript: boolean) => {
    if (hasScript && (!first || order(at, first) < 0)) first = at;
  };
  for (const vs of config.virtualServers) {
    consider(vs.at, vs.quorumUp !== undefined || vs.quorumDown !== undefined);
    for (const rs of vs.realServers) for (const at of realServerScriptsAt(rs)) consider(at, true);
  }
  for (const script of config.vrrpScripts) consider(script.at, true);
  for (const owner of [...config.vrrpInstances, ...config.vrrpSyncGroups]) consider(owner.at, Object.keys(owner.notify).length > 0);
  return first;
}

export interface ConfigAssembler {
  /** Takes each top-level statement as soon as it is complete. */
  statement(statement: Statement): void;
  /** Checks what refers to what and returns the model; `files` as read. */
  finish(files: readonly string[]): KeepalivedConfig;
}

/**
 * A virtual_server as read. One that names no virtual_server_group and no track_file is resolved
 * at once, so that a large file's parsed real servers are not all kept until its end; what
 * resolving it said is reported at the end, in the order it would have been, had it been resolved
 * there.
 */
type ReadVirtualServer = { readonly draft: VirtualServerDraft } | { readonly resolved: VirtualServer | undefined; readonly said: Diagnostics };

const NO_DEFINITIONS: LvsContext = { groups: new Map(), trackFiles: new Map() };

function readAndResolveEarly(s: Statement, d: Diagnostics): ReadVirtualServer {
  const draft = readVirtualServer(s, d);
  if (refersToDefinitions(draft)) return { draft };
  const said = new Diagnostics();
  return { resolved: resolveVirtualServer(draft, NO_DEFINITIONS, said), said };
}

/**
 * A virtual_server declared again: keepalived's second add of the service fails, and the block
 * then adds its real servers to the first one's service. Its own settings are not programmed, and
 * a real server the first block already has stays the first block's.
 */
function withRealServersOf(first: VirtualServer, again: VirtualServer, key: string, d: Diagnostics): VirtualServer {
  const have = new Set(first.realServers.map((rs) => `${rs.address}|${rs.port}`));
  const added = again.realServers.filter((rs) => !have.has(`${rs.address}|${rs.port}`));
  for (const rs of again.realServers) {
    if (!added.includes(rs)) d.warn(rs.at, `real server ${rs.address} port ${rs.port} is already in virtual_server ${key} at line ${first.at.line} - ignored`);
  }
  d.warn(again.at, `virtual_server ${key} duplicates the one at line ${first.at.line} of ${first.at.file}: its real servers join that service, its other settings are ignored`);
  return { ...first, realServers: [...first.realServers, ...added] };
}

export function assembleConfig(hostname: string, d: Diagnostics): ConfigAssembler {
  let globalDefs = defaultGlobals(hostname);
  const groups: VirtualServerGroup[] = [];
  const readServers: ReadVirtualServer[] = [];
  const instanceStatements: Statement[] = [];
  const scripts: VrrpScript[] = [];
  const syncGroups: VrrpSyncGroup[] = [];
  const trackFiles: TrackFile[] = [];
  const trackProcesses: VrrpTrackProcess[] = [];
  const staticIpaddresses: IpAddressSpec[] = [];
  const staticRoutes: IpRouteSpec[] = [];
  const staticRules: StaticRuleSpec[] = [];
  let ssl: SslConfig | undefined;
  let netNamespace: string | undefined;
  let bgpAnnounce: BgpAnnounce | undefined;

  const trackFile = (s: Statement) => {
    const parsed = parseTrackFile(s, d);
    if (parsed) trackFiles.push(parsed);
  };
  const staticBlock = <T>(into: T[], read: (s: Statement, d: Diagnostics) => T[]) => (s: Statement) => {
    d.warn(s.at, `'${s.keyword.text}' is not supported by lvsd, block ignored: ${STATIC_BLOCK_WHY}`);
    into.push(...read(s, d));
  };
  const topLevel: Handlers = {
    global_defs: (s) => { globalDefs = parseGlobalDefs(s, globalDefs, d); },
    virtual_server_group: (s) => {
      const group = parseVirtualServerGroup(s, d);
      if (group) groups.push(group);
    },
    // Those that name groups or track files are resolved at the end: these may come later in the file.
    virtual_server: (s) => void readServers.push(readAndResolveEarly(s, d)),
    vrrp_instance: (s) => void instanceStatements.push(s),
    vrrp_script: (s) => {
      const parsed = parseVrrpScript(s, d);
      if (parsed) scripts.push(parsed);
    },
    vrrp_sync_group: (s) => {
      const parsed = parseVrrpSyncGroup(s, d);
      if (parsed) syncGroups.push(parsed);
    },
    track_file: trackFile,
    vrrp_track_process: (s) => {
      const parsed = parseVrrpTrackProcess(s, d);
      if (parsed) trackProcesses.push(parsed);
    },
    vrrp_track_file: (s) => {
      d.warn(s.at, "'vrrp_track_file' is deprecated, use 'track_file'");
      trackFile(s);
    },
    static_ipaddress: staticBlock(staticIpaddresses, parseStaticAddresses),
    static_routes: staticBlock(staticRoutes, routeList),
    // keepalived numbers static and virtual rules without a preference together, in the order of the
    // file (vrrp_iprule.c alloc_rule): the virtual rules after these count on from them.
    static_rules: staticBlock(staticRules, (s, d) => routeList(s, d).map((line) => ({ ...line, afterInstances: instanceStatements.length }))),
    SSL: (s) => { ssl = parseSsl(s, d); },
    net_namespace: (s) => { netNamespace = text(s, 0, d, 'a namespace name'); },
    bgp_announce: (s) => {
      if (bgpAnnounce) d.error(s.at, `bgp_announce is given twice (first at line ${bgpAnnounce.at.line} of ${bgpAnnounce.at.file})`);
      else bgpAnnounce = parseBgpAnnounce(s, d);
    },
    ...Object.fromEntries(UNSUPPORTED_TOP_LEVEL.map((k) => [k, (s: Statement) => d.warn(s.at, `'${k}' is not supported by lvsd, block ignored`)])),
  };

  const finish = (files: readonly string[]): KeepalivedConfig => {
    const trackFileMap = byName(trackFiles, 'track_file', d);
    const groupMap = byName(groups, 'virtual_server_group', d);
    const context = { groups: groupMap, trackFiles: trackFileMap };
    const servers: VirtualServer[] = [];
    const serverAt = new Map<string, number>();
    for (const read of readServers) {
      if ('said' in read) d.append(read.said);
      const vs = 'draft' in read ? resolveVirtualServer(read.draft, context, d) : read.resolved;
      if (!vs) continue;
      const key = keyText(vs.key, vs.family);
      const index = serverAt.get(key);
      if (index === undefined) {
        serverAt.set(key, servers.length);
        servers.push(vs);
      } else {
        servers[index] = withRealServersOf(servers[index]!, vs, key, d);
      }
    }

    if (!bgpAnnounce) {
      for (const vs of servers) if (vs.announce) d.warn(vs.announce.at, `'announce' without a bgp_announce block: nothing is announced`);
    }

    const scriptMap = byName(scripts, 'vrrp_script', d);
    const processMap = byName(trackProcesses, 'vrrp_track_process', d);
    const parsedInstances: Mutable<VrrpInstance>[] = instanceStatements.flatMap((s) => parseVrrpInstance(s, globalDefs, d) ?? []);
    const instanceMap = byName(parsedInstances, 'vrrp_instance', d);
    const instances: Mutable<VrrpInstance>[] = [...instanceMap.values()];
    const vrids = new Map<string, VrrpInstance>();
    for (const instance of instances) {
      const vridKey = `${instance.interface ?? globalDefs.defaultInterface}|${instance.family}|${instance.virtualRouterId}`;
      const other = vrids.get(vridKey);
      if (other) {
        d.error(instance.at, `(${instance.name}) virtual_router_id ${instance.virtualRouterId} is already used by ${other.name} on the same interface and family`);
      } else vrids.set(vridKey, instance);
      instance.trackScripts = resolveTracking(instance.name, instance.trackScripts, scriptMap, 'track script', d);
      instance.trackFiles = resolveTracking(instance.name, instance.trackFiles, trackFileMap, 'track file', d);
      instance.trackProcesses = resolveTracking(instance.name, instance.trackProcesses, processMap, 'track process', d);
    }

    const resolvedGroups: VrrpSyncGroup[] = [];
    for (const group of byName(syncGroups, 'vrrp_sync_group', d).values()) {
      const members = group.instances.filter((member) => {
        const instance = instanceMap.get(member);
        if (!instance) {
          d.warn(group.at, `virtual router ${member} specified in sync group ${group.name} doesn't exist - ignoring`);
          return false;
        }
        if (instance.syncGroup !== undefined) {
          d.error(group.at, `vrrp_instance ${member} is already in sync group ${instance.syncGroup}`);
          return false;
        }
        instance.syncGroup = group.name;
        return true;
      });
      if (members.length === 0) {
        d.warn(group.at, `sync group ${group.name} has no virtual routers - removing`);
        continue;
      }
      if (members.length === 1) d.warn(group.at, `sync group ${group.name} has only 1 virtual router - this probably isn't what you want`);
      resolvedGroups.push({
        ...group,
        instances: members,
        trackScripts: resolveTracking(group.name, group.trackScripts, scriptMap, 'track script', d),
        trackFiles: resolveTracking(group.name, group.trackFiles, trackFileMap, 'track file', d),
        trackProcesses: resolveTracking(group.name, group.trackProcesses, processMap, 'track process', d),
      });
    }

    const syncDaemon = globalDefs.lvsSyncDaemon;
    if (syncDaemon?.vrrpInstance !== undefined && !instanceMap.has(syncDaemon.vrrpInstance)) {
      // keepalived is silent here and has no instance to follow; lvsd says so and runs no sync daemon.
      d.warn(syncDaemon.at, `lvs_sync_daemon refers to vrrp_instance ${syncDaemon.vrrpInstance}, which is not defined - lvs_sync_daemon ignored`);
      globalDefs = { ...globalDefs, lvsSyncDaemon: undefined };
    }

    const config: KeepalivedConfig = {
      globalDefs,
      virtualServers: servers,
      virtualServerGroups: groups,
      vrrpInstances: instances,
      vrrpScripts: scripts,
      vrrpTrackProcesses: [...processMap.values()],
      vrrpSyncGroups: resolvedGroups,
      trackFiles,
      staticIpaddresses,
      staticRoutes,
      staticRules,
      ssl,
      netNamespace,
      ...(bgpAnnounce && { bgpAnnounce }),
      files,
    };
    const order = sourceOrder(files);
    const scriptAt = globalDefs.enableScriptSecurity ? undefined : firstScriptAt(config, (a, b) => order({ at: a }, { at: b }));
    if (scriptAt) {
      d.warn(scriptAt, 'SECURITY VIOLATION - scripts are being executed but script_security not enabled');
    }
    return config;
  };

  return {
    statement: (s) => dispatch([s], topLevel, d, 'the top level'),
    finish,
  };
}
