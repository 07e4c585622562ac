import { describe, expect, it } from 'vitest';
import { messages, parse, parseOk } from './helpers.ts';

const WEB = (announce: string) => `virtual_server 198.51.100.10 80 {
  lb_algo mh
  lb_kind DR
  protocol TCP
  ${announce}
  real_server 10.0.0.1 80 { }
}
`;

describe('bgp_announce and announce', () => {
  it('reads the block with its defaults, and announces a virtual server at its own address', () => {
    const config = parseOk(`bgp_announce { table 202 }\n${WEB('announce')}`);
    expect(config.bgpAnnounce).toMatchObject({ table: 202, proto: 250, birdSocket: '/run/bird/bird.ctl' });
    expect(config.virtualServers[0]!.announce?.addresses).toEqual(['198.51.100.10']);
  });

  it('announces the listed addresses of a fwmark virtual server, and needs them', () => {
    const fwmark = (announce: string) => `bgp_announce {
  proto 251
  bird_socket /run/b.ctl
}
virtual_server fwmark 7 {
  lb_kind DR
  ${announce}
  real_server 10.0.0.1 0 { }
}
`;
    const config = parseOk(fwmark('announce 198.51.100.10 198.51.100.11'));
    expect(config.bgpAnnounce).toMatchObject({ table: 201, proto: 251, birdSocket: '/run/b.ctl' });
    expect(config.virtualServers[0]!.announce?.addresses).toEqual(['198.51.100.10', '198.51.100.11']);
    expect(messages(parse(fwmark('announce')), 'errors')).toEqual([
      "/etc/keepalived/keepalived.conf:7:3: error: virtual_server fwmark 7: 'announce' needs the addresses to announce: a fwmark virtual server has no address of its own",
    ]);
  });

  it('rejects, at their line, a table or proto the host or another daemon owns, a relative socket and a bad address', () => {
    const result = parse(`bgp_announce {\n  table 254\n  proto 12\n  bird_socket bird.ctl\n  table 201 proto 250\n}\n${WEB('announce 2001:db8::1 nonsense')}`);
    expect(result.ok).toBe(false);
    expect(messages(result, 'errors')).toEqual([
      "/etc/keepalived/keepalived.conf:2:9: error: 'table 254' is the main table, which the host routes by: use a table of its own (e.g. 201)",
      "/etc/keepalived/keepalived.conf:3:9: error: 'proto 12' is bird's: lvsd deletes the routes of its proto at start, so it needs one of its own (e.g. 250)",
      "/etc/keepalived/keepalived.conf:4:15: error: 'bird_socket' needs an absolute path, got 'bird.ctl'",
      "/etc/keepalived/keepalived.conf:5:13: error: 'table' takes one value; put each bgp_announce setting on a line of its own",
      "/etc/keepalived/keepalived.conf:11:12: error: virtual_server 198.51.100.10 80: 'announce 2001:db8::1' is not in the virtual server's address family (inet)",
      "/etc/keepalived/keepalived.conf:11:24: error: 'announce' expects an IP address, got 'nonsense'",
    ]);
  });

  it('warns of announce without a bgp_announce block, which announces nothing', () => {
    const result = parse(WEB('announce'));
    expect(result.ok).toBe(true);
    expect(messages(result, 'warnings')).toContain("/etc/keepalived/keepalived.conf:5:3: warning: 'announce' without a bgp_announce block: nothing is announced");
  });
});
