// The resolved keepalived.conf model every other part of lvsd consumes.
// Everything is readonly and keepalived 2.2.7's defaults, synonyms and
// inheritance (virtual server -> real server -> checker) are already applied,
// so consumers never re-derive a default.
//
// Units: fields ending in `Ms` are milliseconds (keepalived accepts fractional
// seconds); fields ending in `Sec` are whole seconds because the kernel takes
// whole seconds there. Addresses are canonical strings (IPv6 compressed, lower case).

export interface SourceLocation {
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
}

export type AddressFamily = 'inet' | 'inet6';

export type LbAlgo =
  | 'rr' | 'wrr' | 'lc' | 'wlc' | 'lblc' | 'lblcr' | 'dh' | 'sh'
  | 'sed' | 'nq' | 'fo' | 'ovf' | 'mh' | 'twos';

export type LbKind = 'NAT' | 'DR' | 'TUN';

export type VsProtocol = 'TCP' | 'UDP' | 'SCTP';

export type TunnelType = 'ipip' | 'gue' | 'gre';

/** `lvs_method TUN type gue port 6080 csum` and friends. */
export interface ForwardingMethod {
  readonly kind: LbKind;
  /** Only for kind 'TUN'; ipip unless configured. */
  readonly tunnelType?: TunnelType;
  /** Only for tunnelType 'gue'. */
  readonly tunnelPort?: number;
  readonly tunnelChecksum?: 'nocsum' | 'csum' | 'remcsum';
}

/** A script keepalived runs (notify_*, quorum_*, misc_path, vrrp_script). */
export interface ScriptCommand {
  /** The command line as written, quotes removed. */
  readonly command: string;
  /** Set only when given after the command (`notify_up "/x.sh" user group`). */
  readonly user?: string;
  readonly group?: string;
  /**
   * The uid:gid it runs as, set by the daemon's script security pass from the host's accounts
   * (src/daemon/script-security.ts); absent until then, when it would run as lvsd's own user.
   */
  readonly runAs?: { readonly uid: number; readonly gid: number };
}

// ---------------------------------------------------------------- global_defs

export interface LvsSyncDaemon {
  readonly at: SourceLocation;
  readonly interface: string;
  /** When absent both master and backup sync daemons run. */
  readonly vrrpInstance?: string;
  /** Defaults to the VRID of the vrrp instance; undefined here means "use the VRID". */
  readonly syncId?: number;
  readonly maxlen?: number;
  /** default 8848 */
  readonly port: number;
  readonly ttl?: number;
  /** default 224.0.0.81 */
  readonly group: string;
}

export interface GlobalDefs {
  readonly at: SourceLocation | undefined;
  /** default: local host name */
  readonly routerId: string;
  readonly notificationEmail: readonly string[];
  /** default: keepalived@<router host name> */
  readonly notificationEmailFrom: string;
  readonly smtpServer?: { readonly address: string; readonly port: number };
  /** default: local host name */
  readonly smtpHeloName: string;
  /** default 30 s */
  readonly smtpConnectTimeoutMs: number;
  readonly smtpAlert?: boolean;
  readonly smtpAlertVrrp?: boolean;
  readonly smtpAlertChecker?: boolean;
  readonly lvsFlush: boolean;
  readonly lvsFlushOnstop: 'no' | 'yes' | 'VS';
  readonly lvsSyncDaemon?: LvsSyncDaemon;
  readonly lvsTimeouts?: { readonly tcpSec?: number; readonly tcpFinSec?: number; readonly udpSec?: number };
  /** default eth0 */
  readonly defaultInterface: string;
  readonly enableScriptSecurity: boolean;
  /** default user keepalived_script (or lvsd's own if absent), resolved by the daemon's script security pass */
  readonly scriptUser?: { readonly user: string; readonly group?: string };
  readonly dynamicInterfaces: boolean;
  readonly checkerProcessName?: string;
  /**
   * lvsd only (`lvsd_probe_close fin|reset`): how TCP_CHECK and HTTP_GET connections end.
   * Default reset (HAProxy's way, no TIME_WAIT); fin is keepalived's wire behaviour.
   */
  readonly probeClose: 'reset' | 'fin';
  /**
   * lvsd only (`lvsd_tcp_check connect|syn`): how TCP_CHECK asks whether a port answers. Default
   * syn: a SYN on a raw socket, the SYN-ACK read there (no socket per check; the same SYN, SYN-ACK,
   * RST on the wire as the reset close of a connect). connect makes a socket and connects.
   */
  readonly tcpCheck: 'connect' | 'syn';
  readonly vrrp: VrrpGlobals;
  /** Keywords keepalived accepts in global_defs that lvsd does not act on, kept verbatim. */
  readonly unhandled: readonly UnhandledKeyword[];
}

export interface VrrpGlobals {
  /** default 224.0.0.18 */
  readonly mcastGroup4: string;
  /** default ff02::12 */
  readonly mcastGroup6: string;
  /** default 5 s */
  readonly garpMasterDelayMs: number;
  /** default 5 */
  readonly garpMasterRepeat: number;
  /** default 0 (off) */
  readonly garpMasterRefreshMs: number;
  /** default 1 */
  readonly garpMasterRefreshRepeat: number;
  /** vrrp_garp_lower_prio_delay; keepalived defaults it to vrrp_garp_master_delay */
  readonly garpLowerPrioDelayMs?: number;
  /** vrrp_garp_lower_prio_repeat; keepalived defaults it to vrrp_garp_master_repeat */
  readonly garpLowerPrioRepeat?: number;
  /** default 3 */
  readonly downTimerAdverts: number;
  /** default false */
  readonly notifyPriorityChanges: boolean;
  /** vrrp_garp_extra_if (or the deprecated vrrp_vmac_garp_intvl): the default of an instance's garp_extra_if. */
  readonly garpExtraIf?: GarpExtraIf;
  /** default 0 */
  readonly garpIntervalMs: number;
  /** default 0 */
  readonly gnaIntervalMs: number;
  readonly lowerPrioNoAdvert: boolean;
  readonly higherPrioSendAdvert: boolean;
  /** default 2 (IPv6 instances always use 3) */
  readonly version: 2 | 3;
  readonly checkUnicastSrc: boolean;
  readonly skipCheckAdvAddr: boolean;
  readonly strict: boolean;
  /** default 0 */
  readonly priority?: number;
  readonly noSwap: boolean;
  readonly routerIdOverride?: string;
}

/**
 * garp_extra_if [all] SECONDS: while master, one gratuitous ARP (or NA) every SECONDS on each
 * interface other than the instance's own that holds its VIPs: its vmacs of their own, or with
 * `all` any interface.
 */
export interface GarpExtraIf {
  readonly seconds: number;
  readonly all: boolean;
}

export interface UnhandledKeyword {
  readonly at: SourceLocation;
  readonly keyword: string;
  readonly args: readonly string[];
}

// ---------------------------------------------------------------- LVS

export type VirtualServerKey =
  | { readonly kind: 'address'; readonly protocol: VsProtocol; readonly address: string; readonly port: number }
  | { readonly kind: 'fwmark'; readonly fwmark: number }
  | { readonly kind: 'group'; readonly group: string };

export type VirtualServerGroupEntry =
  | {
      readonly at: SourceLocation;
      readonly kind: 'range';
      readonly family: AddressFamily;
      /** First and last address of the range, inclusive; equal for a single address. */
      readonly first: string;
      readonly last: string;
      /** 0 when omitted (only valid for persistent services). */
      readonly port: number;
    }
  | {
      readonly at: SourceLocation;
      readonly kind: 'fwmark';
      readonly fwmark: number;
      readonly family?: AddressFamily;
    };

export interface VirtualServerGroup {
  readonly at: SourceLocation;
  readonly name: string;
  readonly entries: readonly VirtualServerGroupEntry[];
}

export interface VirtualServer {
  readonly at: SourceLocation;
  readonly key: VirtualServerKey;
  readonly family: AddressFamily;
  /** default UDP: keepalived 2.2.7 defaults an unset protocol to UDP (with a warning, which lvsd repeats) */
  readonly protocol: VsProtocol;
  /** `lb_algo` / `lvs_sched`; default wlc */
  readonly lbAlgo: LbAlgo;
  /** `lb_kind` / `lvs_method`; default NAT */
  readonly lbKind: LbKind;
  readonly forwarding: ForwardingMethod;
  /** Scheduler flags: flag-1 = sh-fallback/mh-fallback, flag-2 = sh-port/mh-port, flag-3 */
  readonly schedulerFlags: { readonly flag1: boolean; readonly flag2: boolean; readonly flag3: boolean };
  readonly ops: boolean;
  /** Set when persistent; `persistence_timeout` without a value is 360 s. */
  readonly persistenceTimeoutSec?: number;
  readonly persistenceGranularity?: string;
  readonly persistenceEngine?: string;
  readonly haSuspend: boolean;
  readonly virtualhost?: string;
  readonly smtpAlert?: boolean;
  readonly alpha: boolean;
  readonly omega: boolean;
  /** default 1 */
  readonly quorum: number;
  /** default 0 */
  readonly hysteresis: number;
  readonly quorumUp?: ScriptCommand;
  readonly quorumDown?: ScriptCommand;
  /** default 60 s */
  readonly delayLoopMs: number;
  readonly inhibitOnFailure: boolean;
  readonly sorryServer?: SorryServer;
  readonly realServers: readonly RealServer[];
  readonly snmpName?: string;
  /** lvsd's `announce`: these addresses go to BGP (through bgp_announce) while the virtual server holds quorum. */
  readonly announce?: VirtualServerAnnounce;
}

export interface VirtualServerAnnounce {
  readonly at: SourceLocation;
  /** The virtual server's own address unless listed (a fwmark or group virtual server must list them). */
  readonly addresses: readonly string[];
}

/** lvsd's `bgp_announce` block: where announced VIPs go for BIRD to pick up. */
export interface BgpAnnounce {
  readonly at: SourceLocation;
  /** The routing table lvsd's VIP routes go into, for BIRD's `kernel table`. */
  readonly table: number;
  /** The rtnetlink protocol number of lvsd's routes: what lvsd flushes at start, and BIRD learns. */
  readonly proto: number;
  /** BIRD's control socket, read for the BGP sessions' state. */
  readonly birdSocket: string;
}

export interface SorryServer {
  readonly at: SourceLocation;
  readonly address: string;
  readonly port: number;
  readonly family: AddressFamily;
  readonly forwarding: ForwardingMethod;
  readonly inhibit: boolean;
}

export interface RealServer {
  readonly at: SourceLocation;
  readonly address: string;
  /** For DR/TUN keepalived resets the port to the virtual server's; 0 for fwmark services without a port. */
  readonly port: number;
  readonly family: AddressFamily;
  /** default 1 */
  readonly weight: number;
  readonly forwarding: ForwardingMethod;
  readonly inhibitOnFailure: boolean;
  readonly notifyUp?: ScriptCommand;
  readonly notifyDown?: ScriptCommand;
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
  readonly smtpAlert?: boolean;
  readonly alpha: boolean;
  readonly delayLoopMs: number;
  readonly virtualhost?: string;
  readonly checkers: readonly Checker[];
  readonly snmpName?: string;
}

/** Scheduling options every checker has (with VS -> RS -> checker inheritance applied). */
export interface CheckerTiming {
  /** default 60 s (delay_loop) */
  readonly delayLoopMs: number;
  /** Random initial delay up to this; default delay_loop, 0 disables. */
  readonly warmupMs: number;
  /** retry (also nb_get_retry in HTTP_GET and SSL_GET): 1 default, 3 for DNS_CHECK, 0 for MISC_CHECK */
  readonly retry: number;
  /** 3 s for HTTP_GET/SSL_GET, delay_loop for DNS_CHECK, 1 s otherwise */
  readonly delayBeforeRetryMs: number;
  readonly alpha: boolean;
  readonly logAllFailures: boolean;
}

/** Where and how a network checker connects. */
export interface CheckerConnection {
  /** default: the real server's address */
  readonly connectIp: string;
  /** default: the real server's port */
  readonly connectPort: number;
  readonly family: AddressFamily;
  readonly bindTo?: string;
  readonly bindPort?: number;
  readonly bindInterface?: string;
  readonly fwmark?: number;
  /** default 5 s, inherited from real server then virtual server */
  readonly connectTimeoutMs: number;
}

interface CheckerBase {
  readonly at: SourceLocation;
  readonly timing: CheckerTiming;
}

interface NetworkCheckerBase extends CheckerBase {
  readonly connection: CheckerConnection;
}

export interface TcpCheck extends NetworkCheckerBase {
  readonly kind: 'TCP_CHECK';
}

export interface HttpStatusRange {
  readonly from: number;
  readonly to: number;
}

export interface HttpUrl {
  readonly at: SourceLocation;
  readonly path: string;
  /** Lower-case hex MD5 of the body */
  readonly digest?: string;
  /** default 200-299 */
  readonly statusCodes: readonly HttpStatusRange[];
  readonly virtualhost?: string;
  readonly regex?: string;
  readonly regexNoMatch: boolean;
  readonly regexOptions: readonly string[];
  readonly regexMinOffset?: number;
  readonly regexMaxOffset?: number;
}

export interface HttpCheck extends NetworkCheckerBase {
  readonly kind: 'HTTP_GET' | 'SSL_GET';
  /** default '1.0' */
  readonly httpProtocol: '1.0' | '1.0C' | '1.1';
  readonly urls: readonly HttpUrl[];
  /** The Host header's name for a url without its own: checker -> real server -> virtual server */
  readonly virtualhost?: string;
  /**
   * enable_sni's TLS server name for a url without its own virtualhost: checker -> virtual server.
   * keepalived 2.2.7's ssl_connect skips the real server's, which the Host header takes.
   */
  readonly sniVirtualhost?: string;
  readonly fastRecovery: boolean;
  readonly enableSni: boolean;
}

export interface PingCheck extends NetworkCheckerBase {
  readonly kind: 'PING_CHECK';
}

export interface UdpCheck extends NetworkCheckerBase {
  readonly kind: 'UDP_CHECK';
  /** Hex string normalised to lower case, no spaces; keepalived's datagram when absent. */
  readonly payload?: string;
  readonly requireReply: boolean;
  /** Hex with 'x' for ignored nibbles, lower case. */
  readonly requireReplyPattern?: string;
  /** default 0 */
  readonly minReplyLength: number;
  /** default 255 */
  readonly maxReplyLength: number;
}

export type DnsQueryType = 'A' | 'NS' | 'CNAME' | 'SOA' | 'MX' | 'TXT' | 'AAAA';

export interface DnsCheck extends NetworkCheckerBase {
  readonly kind: 'DNS_CHECK';
  /** default SOA */
  readonly type: DnsQueryType;
  /** default '.' */
  readonly name: string;
}

/** One SMTP_CHECK per `host { }` sub-block (or one for the checker itself when there is none). */
export interface SmtpCheck extends NetworkCheckerBase {
  readonly kind: 'SMTP_CHECK';
  /** default: smtpchecker.keepalived.org, as in keepalived (not the global smtp_helo_name) */
  readonly heloName: string;
}

export interface MiscCheck extends CheckerBase {
  readonly kind: 'MISC_CHECK';
  readonly script: ScriptCommand;
  /** default delay_loop */
  readonly timeoutMs: number;
  readonly dynamic: boolean;
}

export interface FileCheck extends CheckerBase {
  readonly kind: 'FILE_CHECK';
  /** Name of a top-level track_file / vrrp_track_file block (checked to exist). */
  readonly trackFile: string;
  /** default: the track_file's weight */
  readonly weight: number;
  readonly reverse: boolean;
}

export type Checker =
  | TcpCheck
  | HttpCheck
  | PingCheck
  | UdpCheck
  | DnsCheck
  | SmtpCheck
  | MiscCheck
  | FileCheck;

export type CheckerKind = Checker['kind'];

export interface SslConfig {
  readonly at: SourceLocation;
  readonly password?: string;
  readonly ca?: string;
  readonly certificate?: string;
  readonly key?: string;
}

// ---------------------------------------------------------------- VRRP

export interface IpAddressSpec {
  readonly at: SourceLocation;
  readonly address: string;
  readonly family: AddressFamily;
  /** /32 or /128 when not given */
  readonly prefixLength: number;
  readonly broadcast?: string;
  /** default: the instance's interface (static addresses: default_interface) */
  readonly device?: string;
  readonly scope?: string;
  readonly label?: string;
  readonly peer?: string;
  /** Remaining options (e.g. no_track, preferred_lft 0) kept verbatim. */
  readonly options: readonly string[];
}

/** Routes and rules keep the iproute2-style words; the VRRP side programs them verbatim. */
export interface IpRouteSpec {
  readonly at: SourceLocation;
  readonly words: readonly string[];
}

/** A static_rules line, and how many vrrp_instance blocks came before it (keepalived numbers rules in file order). */
export interface StaticRuleSpec extends IpRouteSpec {
  readonly afterInstances: number;
}

export interface TrackedInterface {
  readonly at: SourceLocation;
  readonly name: string;
  /** undefined: interface down means FAULT */
  readonly weight?: number;
  readonly reverse: boolean;
}

export interface TrackedScript {
  readonly at: SourceLocation;
  readonly name: string;
  /** undefined: use the vrrp_script's weight */
  readonly weight?: number;
  readonly reverse: boolean;
}

export interface VrrpAuthentication {
  readonly type: 'PASS' | 'AH';
  /** At most 8 characters (longer is truncated with a warning, like keepalived). */
  readonly password: string;
}

export interface UnicastPeer {
  readonly at: SourceLocation;
  readonly address: string;
  readonly minTtl?: number;
  readonly maxTtl?: number;
}

export interface VrrpNotify {
  readonly master?: ScriptCommand;
  readonly backup?: ScriptCommand;
  readonly fault?: ScriptCommand;
  readonly stop?: ScriptCommand;
  readonly deleted?: ScriptCommand;
  readonly any?: ScriptCommand;
  readonly masterRxLowerPri?: ScriptCommand;
}

export interface VrrpInstance {
  readonly at: SourceLocation;
  readonly name: string;
  /** Initial state, default BACKUP. */
  readonly state: 'MASTER' | 'BACKUP';
  readonly interface?: string;
  readonly virtualRouterId: number;
  /** default 100, or 255 (address owner) for an initial MASTER without a priority, as keepalived does */
  readonly priority: number;
  /** default 1 s */
  readonly advertIntMs: number;
  readonly version: 2 | 3;
  readonly family: AddressFamily;
  readonly nopreempt: boolean;
  /** default 0 */
  readonly preemptDelayMs: number;
  readonly authentication?: VrrpAuthentication;
  readonly virtualIpaddresses: readonly IpAddressSpec[];
  readonly virtualIpaddressesExcluded: readonly IpAddressSpec[];
  readonly virtualRoutes: readonly IpRouteSpec[];
  readonly virtualRules: readonly IpRouteSpec[];
  readonly trackInterfaces: readonly TrackedInterface[];
  readonly trackScripts: readonly TrackedScript[];
  readonly trackFiles: readonly TrackedScript[];
  readonly trackProcesses: readonly TrackedScript[];
  readonly unicastSrcIp?: string;
  readonly unicastPeers: readonly UnicastPeer[];
  /** check_unicast_src: unicast adverts from an address not in unicastPeers are dropped. */
  readonly checkUnicastSrc: boolean;
  /** unicast_fault_no_peer: a unicast instance without any unicast peer stays in FAULT instead of using multicast. */
  readonly unicastFaultNoPeer: boolean;
  /**
   * old_unicast_checksum: VRRPv3 over IPv4 summed as if sent to vrrp_mcast_group4, as keepalived up
   * to 1.3.6 did: 'always' with the keyword, 'never' with `never`, else from the first such advert.
   */
  readonly oldUnicastChecksum: 'detect' | 'never' | 'always';
  readonly mcastSrcIp?: string;
  /** track_src_ip, kept only with a configured source (mcast_src_ip or unicast_src_ip), as keepalived clears it otherwise. */
  readonly trackSrcIp: boolean;
  /** mcast_dst_ip: the group a multicast instance advertises to, instead of global_defs' vrrp_mcast_group4/6. */
  readonly mcastDstIp?: string;
  readonly useVmac: boolean;
  readonly vmacName?: string;
  /** `use_vmac` with a MAC: six octets, or five and the VRID as the sixth (`vmacMacUsesVrid`). */
  readonly vmacMac?: string;
  readonly vmacMacUsesVrid?: boolean;
  readonly vmacXmitBase: boolean;
  /** use_vmac_addr: VIPs on another interface, or of the other family, each get a vmac of their own. */
  readonly useVmacAddr: boolean;
  readonly dontTrackPrimary: boolean;
  /** promote_secondaries (cleared with use_vmac, whose vmac has it anyway). */
  readonly promoteSecondaries: boolean;
  readonly garpMasterDelayMs: number;
  readonly garpMasterRepeat: number;
  readonly garpMasterRefreshMs: number;
  readonly garpMasterRefreshRepeat: number;
  readonly garpLowerPrioDelayMs: number;
  readonly garpLowerPrioRepeat: number;
  readonly downTimerAdverts: number;
  /** garp_extra_if (or vmac_garp_intvl), else global_defs' vrrp_garp_extra_if; absent or 0 s: none. */
  readonly garpExtraIf?: GarpExtraIf;
  /** As configured; 0 when set without unicast peers (keepalived 2.2.7's reset). */
  readonly unicastTtl?: number;
  /** Unset: the sync group's, else global_defs' vrrp_notify_priority_changes. */
  readonly notifyPriorityChanges?: boolean;
  readonly lvsSyncDaemonInterface?: string;
  /** kernel_rx_buf_size: the instance's share of its VRRP socket's receive buffer, in bytes; 0 leaves the kernel's default. */
  readonly kernelRxBufSize: number;
  readonly notify: VrrpNotify;
  readonly smtpAlert?: boolean;
  readonly accept: boolean;
  readonly skipCheckAdvAddr: boolean;
  readonly strictMode: boolean;
  /** A master does not answer a lower priority advert with one of its own (RFC behaviour). */
  readonly lowerPrioNoAdvert: boolean;
  /** A master sends an advert before it yields to a higher priority one. */
  readonly higherPrioSendAdvert: boolean;
  readonly nativeIpv6: boolean;
  /** Set when the instance is listed in a vrrp_sync_group. */
  readonly syncGroup?: string;
  readonly unhandled: readonly UnhandledKeyword[];
}

export interface VrrpScript {
  readonly at: SourceLocation;
  readonly name: string;
  readonly script: ScriptCommand;
  /** default 1 s */
  readonly intervalMs: number;
  /** default: interval */
  readonly timeoutMs: number;
  /** default 0 */
  readonly weight: number;
  readonly weightReverse: boolean;
  /** default 1 */
  readonly rise: number;
  /** default 1 */
  readonly fall: number;
  readonly initFail: boolean;
}

export interface VrrpSyncGroup {
  readonly at: SourceLocation;
  readonly name: string;
  readonly instances: readonly string[];
  readonly notify: VrrpNotify;
  readonly smtpAlert?: boolean;
  readonly notifyPriorityChanges?: boolean;
  readonly globalTracking: boolean;
  /** sync_group_tracking_weight (or global_tracking): members keep the weights of their own tracking. */
  readonly trackingWeight: boolean;
  readonly trackInterfaces: readonly TrackedInterface[];
  readonly trackScripts: readonly TrackedScript[];
  readonly trackFiles: readonly TrackedScript[];
  readonly trackProcesses: readonly TrackedScript[];
}

/** `vrrp_track_process NAME { process PATH [ARGS...] ... }`: a quorum of running processes. */
export interface VrrpTrackProcess {
  readonly at: SourceLocation;
  readonly name: string;
  /** Matched against the process's comm, or against argv[0] with fullCommand. */
  readonly process: string;
  /** The arguments after `process PATH`; matched as paramMatch says. */
  readonly params: readonly string[];
  /** 'none': arguments are not looked at. */
  readonly paramMatch: 'none' | 'exact' | 'partial' | 'initial';
  readonly fullCommand: boolean;
  /** default 0 */
  readonly weight: number;
  readonly reverse: boolean;
  /** default 1 */
  readonly quorum: number;
  /** default: no maximum */
  readonly quorumMax: number;
  /** How long a lost quorum must last before it counts (terminate_delay, or delay). */
  readonly terminateDelayMs: number;
  /** How long a gained quorum must last before it counts (fork_delay, or delay). */
  readonly forkDelayMs: number;
}

/** `track_file NAME { file PATH weight N }` (also spelt vrrp_track_file). */
export interface TrackFile {
  readonly at: SourceLocation;
  readonly name: string;
  readonly file: string;
  /** default 1 */
  readonly weight: number;
  readonly reverse: boolean;
  readonly initFile?: { readonly value: number; readonly overwrite: boolean };
}

// ---------------------------------------------------------------- root

export interface KeepalivedConfig {
  readonly globalDefs: GlobalDefs;
  readonly virtualServers: readonly VirtualServer[];
  readonly virtualServerGroups: readonly VirtualServerGroup[];
  readonly vrrpInstances: readonly VrrpInstance[];
  readonly vrrpScripts: readonly VrrpScript[];
  readonly vrrpTrackProcesses: readonly VrrpTrackProcess[];
  readonly vrrpSyncGroups: readonly VrrpSyncGroup[];
  readonly trackFiles: readonly TrackFile[];
  /** Read as keepalived reads them; lvsd programs none of the static blocks, and warns at each. */
  readonly staticIpaddresses: readonly IpAddressSpec[];
  readonly staticRoutes: readonly IpRouteSpec[];
  readonly staticRules: readonly StaticRuleSpec[];
  readonly ssl?: SslConfig;
  /** net_namespace from the config (lvsd itself does not enter it). */
  readonly netNamespace?: string;
  readonly bgpAnnounce?: BgpAnnounce;
  /** Every file read, in order: the main file first, then includes. */
  readonly files: readonly string[];
}

export type DiagnosticSeverity = 'error' | 'warning';

export interface ConfigDiagnostic {
  readonly at: SourceLocation;
  readonly severity: DiagnosticSeverity;
  readonly message: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: KeepalivedConfig; readonly warnings: readonly ConfigDiagnostic[] }
  | { readonly ok: false; readonly errors: readonly ConfigDiagnostic[]; readonly warnings: readonly ConfigDiagnostic[] };
