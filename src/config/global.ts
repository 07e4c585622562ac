import type { Diagnostics } from './diagnostics.ts';
import { isLinkLocalMulticast, isMulticast } from './address.ts';
import type { AddressFamily, GlobalDefs, LvsSyncDaemon, UnhandledKeyword, VrrpGlobals } from './model.ts';
import type { Statement } from './tree.ts';
import {
  block, dispatch, garpExtraIf, INT_MAX, integer, ip, listWords, name, oneOf, port, refreshRepeat, text, timerMs, trueFalse, unhandled, warnOfIgnoredArgument, wholeSecondsMs, type Handlers,
  type Mutable,
} from './values.ts';

/** keepalived global_defs keywords lvsd accepts but does not act on (kept in `unhandled`). */
const ACCEPTED_UNHANDLED = [
  'vrrp_iptables', 'vrrp_ipsets', 'nftables', 'nftables_priority', 'nftables_ifindex', 'nftables_counters',
  'snmp_socket', 'enable_traps', 'enable_snmp_vrrp', 'enable_snmp_checker', 'enable_snmp_rfc', 'enable_snmp_rfcv2',
  'enable_snmp_rfcv3', 'enable_dbus', 'dbus_service_name', 'script_log', 'use_pid_dir', 'instance', 'max_auto_priority',
  'vrrp_priority', 'checker_priority', 'bfd_priority', 'vrrp_no_swap', 'checker_no_swap', 'bfd_no_swap',
  'vrrp_rt_priority', 'checker_rt_priority', 'bfd_rt_priority', 'vrrp_rlimit_rttime', 'checker_rlimit_rttime',
  'bfd_rlimit_rttime', 'notify_fifo', 'notify_fifo_script', 'vrrp_notify_fifo', 'vrrp_notify_fifo_script',
  'lvs_notify_fifo', 'lvs_notify_fifo_script', 'vrrp_process_name', 'bfd_process_name', 'process_names',
  'process_name', 'linkbeat_use_polling', 'linkbeat_interfaces', 'vrrp_netlink_cmd_rcv_bufs',
  'vrrp_netlink_cmd_rcv_bufs_force', 'vrrp_netlink_monitor_rcv_bufs', 'vrrp_netlink_monitor_rcv_bufs_force',
  'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force', 'lvs_netlink_monitor_rcv_bufs',
  'lvs_netlink_monitor_rcv_bufs_force', 'rs_init_notifies', 'no_checker_emails', 'vrrp_rx_bufs_policy',
  'vrrp_rx_bufs_multiplier', 'vrrp_startup_delay', 'log_unknown_vrids', 'vmac_prefix', 'vmac_addr_prefix',
  'random_seed', 'reload_time_file', 'reload_repeat', 'reload_file', 'tmp_config_directory', 'config_save_dir',
  'umask', 'net_namespace_ipvs', 'namespace_with_ipsets', 'child_wait_time', 'data_use_instance',
  'vrrp_track_process', 'fifo_write_vrrp_states_on_reload', 'vrrp_min_garp', 'vrrp_garp_interval', 'vrrp_gna_interval',
  'vrrp_lower_prio_no_advert', 'vrrp_higher_prio_send_advert', 'vrrp_skip_check_adv_addr', 'vrrp_check_unicast_src',
  'vrrp_startup_delay', 'dynamic_interfaces', 'smtp_alert_vrrp', 'smtp_alert_checker',
];

const DEFAULT_SMTP_CONNECT_TIMEOUT_MS = 30_000;

/** vrrp_mcast_group4/6: a multicast address of the family, as keepalived 2.2.7 checks it. */
function multicastGroup(s: Statement, family: AddressFamily, d: Diagnostics): string | undefined {
  const address = ip(s, 0, d);
  if (!address) return undefined;
  const keyword = name(s);
  if (address.family !== family) return void d.error(s.args[0]!.at, `${keyword} [${address.text}] is not ${family === 'inet' ? 'IPv4' : 'IPv6'}`);
  if (!isMulticast(address)) return void d.error(s.args[0]!.at, `${keyword} [${address.text}] is not multicast`);
  if (family === 'inet6' && !isLinkLocalMulticast(address)) d.warn(s.args[0]!.at, `${keyword} [${address.text}] should be link-local multicast.`);
  return address.text;
}
const DEFAULT_SYNC_DAEMON_PORT = 8848;
const DEFAULT_SYNC_DAEMON_GROUP = '224.0.0.81';

function lvsSyncDaemon(s: Statement, d: Diagnostics): LvsSyncDaemon | undefined {
  const iface = text(s, 0, d, 'an interface');
  if (iface === undefined) return undefined;
  const sync: Mutable<LvsSyncDaemon> = {
    at: s.at, interface: iface, port: DEFAULT_SYNC_DAEMON_PORT, group: DEFAULT_SYNC_DAEMON_GROUP,
  };
  for (let i = 1; i < s.args.length; i++) {
    const word = s.args[i]!.text;
    const valueIndex = i + 1;
    switch (word) {
      case 'inst': sync.vrrpInstance = text(s, valueIndex, d, 'a vrrp instance after inst'); break;
      case 'id': sync.syncId = integer(s, valueIndex, d, 0, 255); break;
      case 'maxlen': sync.maxlen = integer(s, valueIndex, d, 1, 65507); break;
      case 'port': sync.port = integer(s, valueIndex, d, 1, 65535) ?? DEFAULT_SYNC_DAEMON_PORT; break;
      case 'ttl': sync.ttl = integer(s, valueIndex, d, 1, 255); break;
      case 'group': sync.group = ip(s, valueIndex, d)?.text ?? DEFAULT_SYNC_DAEMON_GROUP; break;
      default:
        // The instance, and after it the sync id, may be given without their words, as before
        // keepalived 1.2.20.
        if (i === 1) {
          sync.vrrpInstance = word;
          continue;
        }
        if (i === 2) {
          sync.syncId = integer(s, i, d, 0, 255);
          d.warn(s.args[i]!.at, 'Please use keyword "id" before lvs_sync_daemon SYNCID');
          continue;
        }
        d.error(s.args[i]!.at, `unknown lvs_sync_daemon option '${word}'`);
        continue;
    }
    i++;
  }
  return sync;
}

export function defaultGlobals(hostname: string): GlobalDefs {
  return {
    at: undefined,
    routerId: hostname,
    notificationEmail: [],
    notificationEmailFrom: `keepalived@${hostname}`,
    smtpHeloName: hostname,
    smtpConnectTimeoutMs: DEFAULT_SMTP_CONNECT_TIMEOUT_MS,
    lvsFlush: false,
    lvsFlushOnstop: 'no',
    defaultInterface: 'eth0',
    enableScriptSecurity: false,
    dynamicInterfaces: false,
    probeClose: 'reset',
    tcpCheck: 'syn',
    vrrp: {
      mcastGroup4: '224.0.0.18',
      mcastGroup6: 'ff02::12',
      garpMasterDelayMs: 5000,
      garpMasterRepeat: 5,
      garpMasterRefreshMs: 0,
      garpMasterRefreshRepeat: 1,
      downTimerAdverts: 3,
      notifyPriorityChanges: false,
      garpIntervalMs: 0,
      gnaIntervalMs: 0,
      lowerPrioNoAdvert: false,
      higherPrioSendAdvert: false,
      version: 2,
      checkUnicastSrc: false,
      skipCheckAdvAddr: false,
      strict: false,
      noSwap: false,
    },
    unhandled: [],
  };
}

/** Several global_defs blocks merge, later settings winning, as in keepalived. */
export function parseGlobalDefs(statement: Statement, previous: GlobalDefs, d: Diagnostics): GlobalDefs {
  let halfOpenAt: Statement['at'] | undefined;
  const g: Mutable<GlobalDefs> = { ...previous, at: previous.at ?? statement.at };
  const vrrp: Mutable<VrrpGlobals> = { ...previous.vrrp };
  const extra: UnhandledKeyword[] = [...previous.unhandled];
  const setTrueFalse = (invalid: (word: string) => string, apply: (v: boolean) => void) => (s: Statement) => {
    const value = trueFalse(s, d, invalid);
    if (value !== undefined) apply(value);
  };
  const setBare = (apply: () => void) => (s: Statement) => {
    warnOfIgnoredArgument(s, d, 'global_defs');
    apply();
  };
  const handlers: Handlers = {
    router_id: (s) => { g.routerId = text(s, 0, d, 'a name') ?? g.routerId; },
    lvs_id: (s) => {
      d.warn(s.at, "'lvs_id' is deprecated, use 'router_id'");
      g.routerId = text(s, 0, d, 'a name') ?? g.routerId;
    },
    notification_email: (s) => {
      const list = block(s, d);
      if (list) g.notificationEmail = [...g.notificationEmail, ...listWords(list).map((t) => t.text)];
    },
    notification_email_from: (s) => {
      g.notificationEmailFrom = text(s, 0, d, 'an address') ?? g.notificationEmailFrom;
    },
    smtp_server: (s) => {
      const address = text(s, 0, d, 'a host');
      const smtpPort = s.args[1] ? port(s, 1, d) : 25;
      if (address !== undefined && smtpPort !== undefined) g.smtpServer = { address, port: smtpPort };
    },
    smtp_helo_name: (s) => { g.smtpHeloName = text(s, 0, d) ?? g.smtpHeloName; },
    smtp_connect_timeout: (s) => { g.smtpConnectTimeoutMs = timerMs(s, 0, d) ?? g.smtpConnectTimeoutMs; },
    smtp_alert: setTrueFalse((word) => `Invalid value '${word}' for global smtp_alert specified`, (v) => (g.smtpAlert = v)),
    smtp_alert_vrrp: setTrueFalse((word) => `Invalid value '${word}' for global smtp_alert_vrrp specified`, (v) => (g.smtpAlertVrrp = v)),
    smtp_alert_checker: setTrueFalse((word) => `Invalid value '${word}' for global smtp_alert_checker specified`, (v) => (g.smtpAlertChecker = v)),
    lvs_flush: setBare(() => (g.lvsFlush = true)),
    lvs_flush_onstop: (s) => {
      if (!s.args[0]) g.lvsFlushOnstop = 'yes';
      else if (s.args[0].text === 'VS') g.lvsFlushOnstop = 'VS';
      else d.error(s.args[0].at, `Unknown lvs_flush_on_stop type ${s.args[0].text} - expected VS or nothing`);
    },
    lvs_sync_daemon: (s) => { g.lvsSyncDaemon = lvsSyncDaemon(s, d) ?? g.lvsSyncDaemon; },
    lvs_timeouts: (s) => {
      const timeouts: { tcpSec?: number; tcpFinSec?: number; udpSec?: number } = {};
      for (let i = 0; i < s.args.length; i += 2) {
        const key = s.args[i]!.text;
        const value = integer(s, i + 1, d, 0, 86400 * 31);
        if (key === 'tcp') timeouts.tcpSec = value;
        else if (key === 'tcpfin') timeouts.tcpFinSec = value;
        else if (key === 'udp') timeouts.udpSec = value;
        else d.error(s.args[i]!.at, `unknown lvs_timeouts option '${key}'`);
      }
      g.lvsTimeouts = timeouts;
    },
    default_interface: (s) => { g.defaultInterface = text(s, 0, d, 'an interface') ?? g.defaultInterface; },
    enable_script_security: setBare(() => (g.enableScriptSecurity = true)),
    script_user: (s) => {
      const user = text(s, 0, d, 'a user name');
      const group = s.args[1]?.text;
      if (user !== undefined) g.scriptUser = group === undefined ? { user } : { user, group };
    },
    dynamic_interfaces: (s) => {
      // keepalived 2.2.7 sets it whatever follows, reporting any word but allow_if_changes.
      const option = s.args[0];
      if (option && option.text !== 'allow_if_changes') d.warn(option.at, `Unknown dynamic_interfaces option '${option.text}' - dynamic_interfaces set all the same, as keepalived 2.2.7 sets it`);
      g.dynamicInterfaces = true;
    },
    checker_process_name: (s) => { g.checkerProcessName = text(s, 0, d); },
    lvsd_probe_close: (s) => { g.probeClose = oneOf(s, 0, d, ['reset', 'fin'] as const) ?? g.probeClose; },
    lvsd_tcp_check: (s) => {
      g.tcpCheck = oneOf(s, 0, d, ['connect', 'syn'] as const) ?? g.tcpCheck;
      halfOpenAt = s.at;
    },
    vrrp_mcast_group4: (s) => { vrrp.mcastGroup4 = multicastGroup(s, 'inet', d) ?? vrrp.mcastGroup4; },
    vrrp_mcast_group6: (s) => { vrrp.mcastGroup6 = multicastGroup(s, 'inet6', d) ?? vrrp.mcastGroup6; },
    vrrp_garp_master_delay: (s) => { vrrp.garpMasterDelayMs = timerMs(s, 0, d) ?? vrrp.garpMasterDelayMs; },
    vrrp_garp_master_repeat: (s) => { vrrp.garpMasterRepeat = integer(s, 0, d, 1, 255) ?? vrrp.garpMasterRepeat; },
    vrrp_garp_master_refresh: (s) => { vrrp.garpMasterRefreshMs = wholeSecondsMs(s, d) ?? vrrp.garpMasterRefreshMs; },
    vrrp_garp_lower_prio_delay: (s) => { vrrp.garpLowerPrioDelayMs = wholeSecondsMs(s, d) ?? vrrp.garpLowerPrioDelayMs; },
    vrrp_garp_lower_prio_repeat: (s) => { vrrp.garpLowerPrioRepeat = integer(s, 0, d, 0, INT_MAX) ?? vrrp.garpLowerPrioRepeat; },
    vrrp_down_timer_adverts: (s) => { vrrp.downTimerAdverts = integer(s, 0, d, 1, 100) ?? vrrp.downTimerAdverts; },
    vrrp_notify_priority_changes: (s) => {
      const value = trueFalse(s, d, (word) => `Invalid value '${word}' for global vrrp_notify_priority_changes specified`);
      if (value !== undefined) vrrp.notifyPriorityChanges = value;
    },
    vrrp_garp_master_refresh_repeat: (s) => { vrrp.garpMasterRefreshRepeat = refreshRepeat(s, d) ?? vrrp.garpMasterRefreshRepeat; },
    vrrp_garp_extra_if: (s) => { vrrp.garpExtraIf = garpExtraIf(s, d, 1) ?? vrrp.garpExtraIf; },
    vrrp_vmac_garp_intvl: (s) => { vrrp.garpExtraIf = garpExtraIf(s, d, 1, 'vrrp_garp_extra_if') ?? vrrp.garpExtraIf; },
    vrrp_garp_interval: (s) => { vrrp.garpIntervalMs = timerMs(s, 0, d, 1) ?? vrrp.garpIntervalMs; },
    vrrp_gna_interval: (s) => { vrrp.gnaIntervalMs = timerMs(s, 0, d, 1) ?? vrrp.gnaIntervalMs; },
    vrrp_lower_prio_no_advert: setTrueFalse(() => 'Invalid value for vrrp_lower_prio_no_advert specified', (v) => (vrrp.lowerPrioNoAdvert = v)),
    vrrp_higher_prio_send_advert: setTrueFalse(() => 'Invalid value for vrrp_higher_prio_send_advert specified', (v) => (vrrp.higherPrioSendAdvert = v)),
    vrrp_version: (s) => {
      const version = integer(s, 0, d, 2, 3);
      if (version === 2 || version === 3) vrrp.version = version;
    },
    vrrp_check_unicast_src: setBare(() => (vrrp.checkUnicastSrc = true)),
    vrrp_skip_check_adv_addr: (s) => {
      // keepalived 2.2.7 reads no argument here: 'false' sets it too.
      if (s.args[0]) d.warn(s.args[0].at, `vrrp_skip_check_adv_addr ${s.args[0].text}: keepalived 2.2.7 ignores the argument and sets it, and so does lvsd`);
      vrrp.skipCheckAdvAddr = true;
    },
    vrrp_strict: setBare(() => (vrrp.strict = true)),
    vrrp_priority: (s) => { vrrp.priority = integer(s, 0, d, -20, 19); },
    vrrp_no_swap: setBare(() => (vrrp.noSwap = true)),
    router_id_override: (s) => { vrrp.routerIdOverride = text(s, 0, d); },
  };
  const withUnhandled: Handlers = Object.fromEntries([
    ...ACCEPTED_UNHANDLED.filter((k) => !Object.hasOwn(handlers, k)).map((k) => [k, (s: Statement) => void extra.push(unhandled(s))]),
    ...Object.entries(handlers),
  ]);
  dispatch(block(statement, d) ?? [], withUnhandled, d, 'global_defs');
  if (halfOpenAt !== undefined && g.tcpCheck === 'syn' && g.probeClose === 'fin') {
    d.warn(halfOpenAt, 'lvsd_tcp_check syn is not used under lvsd_probe_close fin, which asks for whole connections');
  }
  return { ...g, vrrp, unhandled: extra };
}

