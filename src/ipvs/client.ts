import { getString, parseAttributes } from '../util/netlink.ts';
import {
  decodeDaemon,
  decodeDest,
  decodeInfo,
  decodeService,
  encodeDestDump,
  encodeOp,
  AttrWriter,
  Cmd,
  IPVS_GENL_NAME,
  IPVS_GENL_VERSION,
  type IpvsInfo,
} from './codec.ts';
import { diff, type Ownership } from './diff.ts';
import { GenlTransport, NetlinkErrnoError, NetlinkLostError, type AnswerCallback, type GenlRequest } from './genl-transport.ts';
import { destKey, serviceKey, type IpvsOp, type IpvsService, type IpvsTable, type ServiceId, type SyncDaemon } from './model.ts';

export type { IpvsInfo } from './codec.ts';

const GENL_ID_CTRL = 0x10;
const CTRL_VERSION = 1;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const GENL_NAMSIZ = 16;

export interface IpvsClientOptions {
  /**
   * Requests in flight at once (sent in half-window batches, one ack per batch); bounded so the
   * kernel's answers to failed requests fit our socket's receive buffer.
   */
  readonly window?: number;
  /** A request fails when the kernel has said nothing for this long. */
  readonly idleTimeoutMs?: number;
}

/**
 * One operation failed; names the operation and the entry. `code` is the kernel's errno name
 * (EEXIST, ESRCH, ENOENT, EINVAL, ...), ELOST when the answer never came, or EENCODE when the
 * operation could not be put into a request (e.g. a scheduler name longer than the kernel allows).
 */
export class IpvsOpError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(
    readonly op: IpvsOp,
    override readonly cause: Error,
  ) {
    const kernel = cause instanceof NetlinkErrnoError;
    const code = kernel ? cause.code : cause instanceof NetlinkLostError ? 'ELOST' : 'EENCODE';
    super(`${describeOp(op)}: ${kernel ? `${code} (${kernelMeaning(op, code)})` : `${code} (${cause.message})`}`);
    this.name = 'IpvsOpError';
    this.errno = kernel ? cause.errno : 0;
    this.code = code;
  }
}

export class IpvsUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'IpvsUnavailableError';
  }
}

export type OpResult = { readonly op: IpvsOp; readonly ok: true } | { readonly op: IpvsOp; readonly ok: false; readonly error: IpvsOpError };

export function describeOp(op: IpvsOp): string {
  switch (op.op) {
    case 'add-service':
    case 'edit-service':
      return `${op.op} ${serviceKey(op.service.id)}`;
    case 'del-service':
      return `${op.op} ${serviceKey(op.service)}`;
    case 'add-dest':
    case 'edit-dest':
    case 'del-dest':
      return `${op.op} ${destKey(op.dest)} of ${serviceKey(op.service)}`;
    case 'flush':
      return 'flush';
    case 'start-daemon':
      return `start-daemon ${op.daemon.state} on ${op.daemon.interface} syncid ${op.daemon.syncId}`;
    case 'stop-daemon':
      return `stop-daemon ${op.state}`;
  }
}

/** IPVS's own meaning of the errno values it returns. */
function kernelMeaning(op: IpvsOp, code: string): string {
  if (code === 'EEXIST') return 'already exists';
  if (code === 'ESRCH') return 'no such service';
  if (code === 'ENOENT') return op.op.endsWith('-dest') ? 'no such destination' : 'scheduler or persistence engine not found';
  if (code === 'EINVAL') return 'invalid parameters';
  if (code === 'EPERM') return 'not permitted (needs CAP_NET_ADMIN)';
  return 'refused by the kernel';
}

export class IpvsClient {
  private constructor(
    private readonly transport: GenlTransport,
    readonly family: number,
    private readonly window: number,
  ) {}

  /** Opens a generic netlink socket and resolves the IPVS family; throws IpvsUnavailableError. */
  static async open(options: IpvsClientOptions = {}): Promise<IpvsClient> {
    let transport: GenlTransport;
    try {
      transport = new GenlTransport(options.idleTimeoutMs ?? 10_000);
    } catch (error) {
      throw new IpvsUnavailableError(`cannot open a generic netlink socket: ${(error as Error).message}`);
    }
    try {
      const family = await resolveFamily(transport);
      return new IpvsClient(transport, family, options.window ?? 512);
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  /** Netlink messages sent over this client's lifetime (family lookup included). */
  get requestsSent(): number {
    return this.transport.requestsSent;
  }

  async getInfo(): Promise<IpvsInfo> {
    const [reply] = await this.transport.request(this.family, IPVS_GENL_VERSION, { cmd: Cmd.GET_INFO, payload: Buffer.alloc(0) });
    if (reply === undefined) throw new IpvsUnavailableError('IPVS GET_INFO returned nothing');
    return decodeInfo(reply);
  }

  /**
   * The kernel's table: one service dump, then one destination dump per service. With
   * `destsOf`, only the services it picks have their destinations read; the others come back
   * with none (a stop that deletes whole services need not read 10,000 destinations first).
   */
  async dump(destsOf: (service: ServiceId) => boolean = () => true): Promise<IpvsTable> {
    const [services = []] = await this.dumps([{ cmd: Cmd.GET_SERVICE, payload: Buffer.alloc(0), dump: true }]);
    const settings = services.map(decodeService);
    const read = settings.filter((s) => destsOf(s.id));
    const dests = await this.dumps(read.map((s) => ({ ...encodeDestDump(s.id), dump: true })));
    const destsById = new Map(read.map((service, i) => [service, dests[i] ?? []]));
    return settings.map((service): IpvsService => ({
      ...service,
      dests: (destsById.get(service) ?? []).map((payload) => decodeDest(payload, service.id.af)),
    }));
  }

  async getDaemons(): Promise<SyncDaemon[]> {
    const [daemons = []] = await this.dumps([{ cmd: Cmd.GET_DAEMON, payload: Buffer.alloc(0), dump: true }]);
    return daemons.map(decodeDaemon);
  }

  /**
   * Sends every operation without waiting for acks in between (the kernel applies them in
   * order), and reports each one; a refused operation does not stop the others.
   */
  async apply(ops: readonly IpvsOp[]): Promise<OpResult[]> {
    const encoded = ops.map((op) => {
      try {
        return { op, request: encodeOp(op) };
      } catch (error) {
        return { op, error: error as Error };
      }
    });
    const sendable = encoded.flatMap((e) => (e.request ? [e.request] : []));
    const answers = (await this.pipeline(sendable, { ackLastOnly: true })).values();
    return encoded.map(({ op, error }): OpResult => {
      const answer = error ? { ok: false as const, error } : answers.next().value;
      if (answer?.ok) return { op, ok: true };
      return { op, ok: false, error: new IpvsOpError(op, answer?.error ?? new NetlinkLostError('no answer')) };
    });
  }

  close(): void {
    this.transport.close();
  }

  /**
   * Dumps one after the other: the kernel runs one dump per socket at a time and says EBUSY to
   * the rest (retried), so pipelining them only multiplies requests.
   */
  private async dumps(requests: readonly GenlRequest[]): Promise<Buffer[][]> {
    const answers = await this.pipeline(requests, { retryBusy: true, window: 1 });
    return answers.map((answer) => {
      if (!answer.ok) throw answer.error;
      return answer.value;
    });
  }

  /**
   * Keeps up to `window` requests in flight, refilling by half windows. With `retryBusy`, dumps
   * the kernel refused because another dump on this socket was still running go again.
   */
  private async pipeline(
    requests: readonly GenlRequest[],
    { retryBusy = false, ackLastOnly = false, window = this.window }: { retryBusy?: boolean; ackLastOnly?: boolean; window?: number },
  ): Promise<Array<{ ok: true; value: Buffer[] } | { ok: false; error: Error }>> {
    const results: Array<{ ok: true; value: Buffer[] } | { ok: false; error: Error }> = new Array(requests.length);
    let todo = requests.map((_, i) => i);
    while (todo.length > 0) {
      const busy: number[] = [];
      const round = todo;
      await new Promise<void>((resolve) => {
        let next = 0;
        let inFlight = 0;
        const refill = Math.max(1, window >> 1);
        const pump = (): void => {
          if (next >= round.length) {
            if (inFlight === 0) resolve();
            return;
          }
          if (inFlight > window - refill) return;
          const batch = round.slice(next, next + (window - inFlight));
          next += batch.length;
          inFlight += batch.length;
          const answer: AnswerCallback = (k, error, value) => {
            const index = batch[k] as number;
            if (error === null) results[index] = { ok: true, value };
            else if (retryBusy && error instanceof NetlinkErrnoError && error.code === 'EBUSY') busy.push(index);
            else results[index] = { ok: false, error };
            inFlight--;
            pump();
          };
          this.transport.sendBatch(this.family, IPVS_GENL_VERSION, batch.map((i) => requests[i] as GenlRequest), answer, { ackLastOnly });
        };
        pump();
      });
      todo = busy.sort((a, b) => a - b);
    }
    return results;
  }
}

async function resolveFamily(transport: GenlTransport): Promise<number> {
  let replies: Buffer[];
  try {
    replies = await transport.request(GENL_ID_CTRL, CTRL_VERSION, {
      cmd: CTRL_CMD_GETFAMILY,
      payload: new AttrWriter().string(CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME, GENL_NAMSIZ).finish(),
    });
  } catch (error) {
    if (error instanceof NetlinkErrnoError && error.code === 'ENOENT') {
      throw new IpvsUnavailableError('the kernel has no IPVS generic netlink family: load it with `modprobe ip_vs`');
    }
    throw new IpvsUnavailableError(`cannot resolve the IPVS netlink family: ${(error as Error).message}`);
  }
  let id: number | undefined;
  let name: string | undefined;
  for (const reply of replies) {
    parseAttributes(reply, (attr) => {
      if (attr.type === CTRL_ATTR_FAMILY_ID) id = attr.data.readUInt16LE(0);
      if (attr.type === CTRL_ATTR_FAMILY_NAME) name = getString(attr.data);
    });
  }
  if (id === undefined || name !== IPVS_GENL_NAME) throw new IpvsUnavailableError('unexpected answer resolving the IPVS netlink family');
  return id;
}

/** Whether this host can program IPVS; the reason names the fix (e.g. `modprobe ip_vs`). */
export async function ipvsAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const client = await IpvsClient.open();
    try {
      await client.getInfo();
    } finally {
      client.close();
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

export interface SyncReport {
  /** What the diff asked for. */
  readonly ops: readonly IpvsOp[];
  readonly failed: ReadonlyArray<IpvsOpError>;
  /** What still differs after applying, read back from the kernel (empty when in sync). */
  readonly remaining: readonly IpvsOp[];
}

/** Read the kernel once, diff, apply, verify by reading it again. */
export async function sync(client: IpvsClient, wanted: IpvsTable, owned: Ownership): Promise<SyncReport> {
  const ops = diff(await client.dump(), wanted, owned);
  const results = await client.apply(ops);
  const remaining = diff(await client.dump(), wanted, owned);
  return { ops, failed: results.flatMap((r) => (r.ok ? [] : [r.error])), remaining };
}
