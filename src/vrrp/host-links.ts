import type { LinkInfo, Rtnetlink } from './netlink.ts';

/** The host's interfaces by name, as last read over rtnetlink. */
export class HostLinks {
  private byName = new Map<string, LinkInfo>();

  constructor(private readonly netlink: Rtnetlink) {}

  get(name: string): LinkInfo | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** All of them, as a map that later reads replace rather than change. */
  get all(): Map<string, LinkInfo> {
    return this.byName;
  }

  async refresh(): Promise<void> {
    this.byName = new Map((await this.netlink.links()).map((link) => [link.name, link]));
  }
}
