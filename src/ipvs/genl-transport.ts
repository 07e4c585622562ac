import { getSystemErrorName } from 'node:util';
import { parseMessages, Protocol, RawNetlinkSocket, type ErrnoException } from '../util/netlink.ts';

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_OVERRUN = 4;
const HEADER_LENGTH = 16;
const GENL_HEADER_LENGTH = 4;

/** The kernel refused a request: errno as the kernel gave it. */
export class NetlinkErrnoError extends Error {
  readonly code: string;
  constructor(readonly errno: number) {
    const code = safeErrorName(errno);
    super(code);
    this.name = 'NetlinkErrnoError';
    this.code = code;
  }
}

function safeErrorName(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** The answer never came: the socket failed (e.g. ENOBUFS, acks lost) or the kernel went quiet. */
export class NetlinkLostError extends Error {
  constructor(reason: string) {
    super(`netlink request lost: ${reason}`);
    this.name = 'NetlinkLostError';
  }
}

export interface GenlRequest {
  readonly cmd: number;
  readonly payload: Buffer;
  /** A dump answers with many messages ending in NLMSG_DONE; anything else is acked. */
  readonly dump?: boolean;
}

/** `error` is null on success; `parts` holds the reply payloads (empty for a plain ack). */
export type AnswerCallback = (index: number, error: Error | null, parts: Buffer[]) => void;

interface Pending {
  readonly index: number;
  readonly parts: Buffer[];
  /** Earlier requests sent without NLM_F_ACK: the kernel processed them before this one. */
  readonly covers: readonly number[];
  readonly answer: AnswerCallback;
}

export interface BatchOptions {
  /**
   * Ask only the batch's last request for an ack. The kernel handles a datagram's messages in
   * order and answers a request without NLM_F_ACK only when it fails, so the last ack (or
   * error) tells that every earlier request without an error succeeded: one ack per batch
   * instead of one per request. Not for dumps.
   */
  readonly ackLastOnly?: boolean;
}

/**
 * Generic netlink requests over one socket: many requests go out in one datagram, each with its
 * own sequence number, and answers are matched back by sequence number, so nothing waits for an
 * ack before the next request is sent. Resolves with the generic-netlink payloads (attributes).
 */
export class GenlTransport {
  private readonly socket: RawNetlinkSocket;
  private readonly pending = new Map<number, Pending>();
  private seq = 1;
  private watchdog: NodeJS.Timeout | undefined;
  private sent = 0;

  constructor(private readonly idleTimeoutMs: number) {
    this.socket = new RawNetlinkSocket(Protocol.GENERIC, { recvBufferSize: 4 << 20, sendBufferSize: 1 << 20 });
    this.socket.unref();
    this.socket.on('message', (data) => this.receive(data));
    this.socket.on('error', (error: ErrnoException) => this.failAll(new NetlinkLostError(error.code ?? error.message)));
  }

  /** Netlink messages handed to the kernel so far. */
  get requestsSent(): number {
    return this.sent;
  }

  /**
   * Sends all requests in one datagram; `answer` is called once per request with its index.
   * (Callbacks, not promises: at 11,000 requests per table the promise machinery showed.)
   */
  sendBatch(family: number, version: number, requests: readonly GenlRequest[], answer: AnswerCallback, options: BatchOptions = {}): void {
    if (options.ackLastOnly && requests.some((r) => r.dump)) throw new Error('a dump cannot be batched without acks');
    const port = this.socket.address().port;
    // One contiguous datagram (an iovec per piece would hit UIO_MAXIOV at 512 requests).
    let size = 0;
    for (const request of requests) size += HEADER_LENGTH + GENL_HEADER_LENGTH + ((request.payload.length + 3) & ~3);
    const datagram = Buffer.alloc(size);
    let offset = 0;
    let silent: number[] = [];
    requests.forEach((request, index) => {
      const seq = this.nextSeq();
      const last = index === requests.length - 1;
      const ack = !request.dump && (last || !options.ackLastOnly);
      const frame = datagram.subarray(offset, offset + HEADER_LENGTH + GENL_HEADER_LENGTH);
      frame.writeUInt32LE(HEADER_LENGTH + GENL_HEADER_LENGTH + request.payload.length, 0);
      frame.writeUInt16LE(family, 4);
      frame.writeUInt16LE(NLM_F_REQUEST | (request.dump ? NLM_F_DUMP : ack ? NLM_F_ACK : 0), 6);
      frame.writeUInt32LE(seq, 8);
      frame.writeUInt32LE(port, 12);
      frame.writeUInt8(request.cmd, 16);
      frame.writeUInt8(version, 17);
      request.payload.copy(datagram, offset + HEADER_LENGTH + GENL_HEADER_LENGTH);
      offset += HEADER_LENGTH + GENL_HEADER_LENGTH + ((request.payload.length + 3) & ~3);
      const covers = ack ? silent : [];
      if (covers === silent) silent = [];
      if (!request.dump && !ack) silent.push(seq);
      this.pending.set(seq, { index, parts: [], covers, answer });
    });
    if (requests.length === 0) return;
    this.socket.ref();
    this.armWatchdog();
    this.sent += requests.length;
    this.socket.send(datagram, {}, (error) => {
      if (error) this.failAll(new NetlinkLostError(`send: ${error.code ?? error.message}`));
    });
  }

  request(family: number, version: number, request: GenlRequest): Promise<Buffer[]> {
    return new Promise((resolve, reject) =>
      this.sendBatch(family, version, [request], (_, error, parts) => (error ? reject(error) : resolve(parts))),
    );
  }

  close(): void {
    this.failAll(new NetlinkLostError('socket closed'));
    this.socket.close();
  }

  private nextSeq(): number {
    const seq = this.seq;
    this.seq = (this.seq % 0xffffffff) + 1;
    return seq;
  }

  private receive(data: Buffer): void {
    this.armWatchdog();
    let messages;
    try {
      messages = parseMessages(data);
    } catch (error) {
      this.failAll(new NetlinkLostError(`unparsable datagram: ${(error as Error).message}`));
      return;
    }
    for (const message of messages) {
      const pending = this.pending.get(message.seq);
      if (pending === undefined) continue;
      if (message.type === NLMSG_ERROR || message.type === NLMSG_DONE) {
        const errno = message.data.length >= 4 ? message.data.readInt32LE(0) : 0;
        this.settle(message.seq, pending, errno);
      } else if (message.type === NLMSG_OVERRUN) {
        this.failAll(new NetlinkLostError('overrun'));
      } else {
        pending.parts.push(message.data.subarray(GENL_HEADER_LENGTH));
      }
    }
  }

  private settle(seq: number, pending: Pending, errno: number): void {
    this.pending.delete(seq);
    for (const earlier of pending.covers) {
      const succeeded = this.pending.get(earlier);
      this.pending.delete(earlier);
      succeeded?.answer(succeeded.index, null, []);
    }
    pending.answer(pending.index, errno < 0 ? new NetlinkErrnoError(errno) : null, pending.parts);
    if (this.pending.size === 0) this.idle();
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    if (this.pending.size === 0) return;
    this.watchdog = setTimeout(() => this.failAll(new NetlinkLostError(`no answer within ${this.idleTimeoutMs} ms`)), this.idleTimeoutMs);
  }

  private idle(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.socket.unref();
  }

  private failAll(error: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.idle();
    for (const p of pending) p.answer(p.index, error, []);
  }
}
