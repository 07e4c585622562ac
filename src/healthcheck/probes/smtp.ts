import type { ProbeResult } from '../state.ts';
import { ProbeClock, describeError, startDeadline } from './result.ts';
import { connectFrom, type TcpProbeOptions } from './tcp.ts';

export interface SmtpProbeOptions extends TcpProbeOptions {
  readonly heloName: string;
}

/** Each step: what we send (nothing for the greeting) and the reply code we need. */
const DIALOGUE = [
  { send: null, expect: 220 },
  { send: 'HELO', expect: 250 },
  { send: 'QUIT', expect: 221 },
] as const;

/** SMTP_CHECK: greeting 220, HELO answered 250, then QUIT. */
export function smtpProbe(options: SmtpProbeOptions): Promise<ProbeResult> {
  const clock = new ProbeClock();
  return new Promise((resolve) => {
    const socket = connectFrom(options);
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      deadline.cancel();
      socket.destroy();
      resolve(result);
    };
    const deadline = startDeadline(options.timeoutMs, () => finish(clock.fail(`SMTP timeout after ${options.timeoutMs} ms`)));
    let step = 0;
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('error', (error) => finish(clock.fail(describeError(error))));
    socket.on('close', () => finish(clock.fail('SMTP server closed the connection')));
    socket.on('data', (data: string) => {
      deadline.restart();
      pending += data;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).replace(/\r$/, '');
        pending = pending.slice(newline + 1);
        // "250-..." continues a multi-line reply; "250 ..." ends it.
        if (line.length >= 4 && line[3] === '-') continue;
        const current = DIALOGUE[step];
        if (current === undefined) return;
        const code = Number.parseInt(line.slice(0, 3), 10);
        if (code !== current.expect) {
          return finish(clock.fail(`SMTP ${current.send ?? 'greeting'}: expected ${current.expect}, got "${line}"`));
        }
        step++;
        const next = DIALOGUE[step];
        if (next === undefined) return finish(clock.ok());
        socket.write(next.send === 'HELO' ? `HELO ${options.heloName}\r\n` : `${next.send}\r\n`);
      }
    });
  });
}
