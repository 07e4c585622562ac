import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run('ip', args, { timeout: 10_000 });
  return stdout;
}

/**
 * A network namespace joined to the host by a veth pair on 10.<subnet>.0.0/24:
 * the host side is .1, the namespace side .2; .3 is on the link but nobody
 * holds it, so traffic to it goes unanswered.
 */
export interface TestNetns {
  readonly name: string;
  readonly hostAddress: string;
  readonly nsAddress: string;
  readonly silentAddress: string;
  exec(argv: string[]): Promise<string>;
  destroy(): Promise<void>;
}

export async function createNetns(tag: string, subnet: number): Promise<TestNetns> {
  const name = `hc-${tag}-${process.pid}`;
  const hostIf = `hc${subnet}h${process.pid % 10000}`;
  const nsIf = `hc${subnet}n${process.pid % 10000}`;
  const prefix = `10.${subnet}.0`;
  await ip('netns', 'add', name);
  try {
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    await ip('link', 'set', nsIf, 'netns', name);
    await ip('addr', 'add', `${prefix}.1/24`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    await ip('-n', name, 'addr', 'add', `${prefix}.2/24`, 'dev', nsIf);
    await ip('-n', name, 'link', 'set', nsIf, 'up');
    await ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (error) {
    await ip('netns', 'del', name).catch(() => undefined);
    await ip('link', 'del', hostIf).catch(() => undefined);
    throw error;
  }
  return {
    name,
    hostAddress: `${prefix}.1`,
    nsAddress: `${prefix}.2`,
    silentAddress: `${prefix}.3`,
    exec: async (argv) => {
      const [program, ...args] = argv;
      if (program === undefined) throw new Error('empty argv');
      const { stdout } = await run('ip', ['netns', 'exec', name, program, ...args], { timeout: 10_000 });
      return stdout;
    },
    destroy: async () => {
      await ip('link', 'del', hostIf).catch(() => undefined);
      await ip('netns', 'del', name).catch(() => undefined);
    },
  };
}
