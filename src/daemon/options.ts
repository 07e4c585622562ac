export const DEFAULT_CONFIG_FILE = '/etc/keepalived/keepalived.conf';
export const DEFAULT_SOCKET = '/run/lvsd/lvsd.sock';

/** What `lvsd` was asked to do, from its command line. */
export interface DaemonOptions {
  readonly configFile: string;
  /** Health checkers and IPVS (keepalived's -C part). */
  readonly runCheckers: boolean;
  /** The VRRP speaker (keepalived's -P part). */
  readonly runVrrp: boolean;
  readonly pidFile: string | undefined;
  readonly logDetail: boolean;
  readonly socketPath: string;
  readonly metricsAddress: { readonly host: string; readonly port: number } | undefined;
}
