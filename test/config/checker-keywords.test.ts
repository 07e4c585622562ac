import { describe, expect, it } from 'vitest';
import type { Checker } from '../../src/config/index.ts';
import { messages, parse } from './helpers.ts';

// Keywords keepalived 2.2.7 knows in some blocks of a virtual_server and not in others: where it
// does not know one, it logs "Unknown keyword" and goes on without it, and so does lvsd.

const CONFIG = '/etc/keepalived/keepalived.conf';

function service(body: string): string {
  return `global_defs {
  enable_script_security
  script_user root
}
virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
${body}
}
`;
}

function checkers(text: string): Checker[] {
  const result = parse(text);
  expect(result.ok, messages(result, 'errors').join('\n')).toBe(true);
  return result.ok ? result.config.virtualServers[0]!.realServers.flatMap((rs) => rs.checkers) : [];
}

describe('nb_get_retry', () => {
  const text = service(`  nb_get_retry 4
  real_server 10.0.1.1 80 {
    nb_get_retry 5
    TCP_CHECK {
      nb_get_retry 3
    }
    SMTP_CHECK {
      host {
        connect_timeout 1
        nb_get_retry 6
      }
    }
    MISC_CHECK {
      misc_path /bin/true
      nb_get_retry 7
    }
    HTTP_GET {
      nb_get_retry 2
      url {
        path /
      }
    }
    SSL_GET {
      nb_get_retry 0
      url {
        path /
      }
    }
  }`);

  it('is an unknown keyword outside HTTP_GET and SSL_GET, as in keepalived 2.2.7, and leaves the retry at its default there', () => {
    expect(messages(parse(text), 'warnings')).toEqual([
      `${CONFIG}:9:3: warning: unknown keyword 'nb_get_retry' in virtual_server, ignored`,
      `${CONFIG}:11:5: warning: unknown keyword 'nb_get_retry' in real_server, ignored`,
      `${CONFIG}:13:7: warning: unknown keyword 'nb_get_retry' in TCP_CHECK, ignored`,
      `${CONFIG}:18:9: warning: unknown keyword 'nb_get_retry' in SMTP_CHECK host, ignored`,
      `${CONFIG}:23:7: warning: unknown keyword 'nb_get_retry' in MISC_CHECK, ignored`,
      `${CONFIG}:26:7: warning: 'nb_get_retry' is deprecated, use 'retry'`,
      `${CONFIG}:32:7: warning: 'nb_get_retry' is deprecated, use 'retry'`,
    ]);
    expect(checkers(text).map((checker) => [checker.kind, checker.timing.retry])).toEqual([
      ['TCP_CHECK', 1],
      ['SMTP_CHECK', 1],
      ['MISC_CHECK', 0],
      ['HTTP_GET', 2],
      ['SSL_GET', 0],
    ]);
  });
});

describe('virtualhost', () => {
  const text = service(`  virtualhost vs.example
  real_server 10.0.1.1 80 {
    virtualhost rs.example
    TCP_CHECK {
      virtualhost tcp.example
    }
    MISC_CHECK {
      misc_path /bin/true
      virtualhost misc.example
    }
    SMTP_CHECK {
      virtualhost smtp.example
      host {
        connect_timeout 1
        virtualhost host.example
      }
    }
    DNS_CHECK {
      virtualhost dns.example
    }
    UDP_CHECK {
      virtualhost udp.example
    }
    PING_CHECK {
      virtualhost ping.example
    }
    HTTP_GET {
      url {
        path /
      }
    }
    SSL_GET {
      virtualhost ssl.example
      url {
        path /
      }
    }
  }`);

  it('is an unknown keyword in a checker other than HTTP_GET and SSL_GET, as in keepalived 2.2.7', () => {
    expect(messages(parse(text), 'warnings')).toEqual([
      `${CONFIG}:13:7: warning: unknown keyword 'virtualhost' in TCP_CHECK, ignored`,
      `${CONFIG}:17:7: warning: unknown keyword 'virtualhost' in MISC_CHECK, ignored`,
      `${CONFIG}:20:7: warning: unknown keyword 'virtualhost' in SMTP_CHECK, ignored`,
      `${CONFIG}:23:9: warning: unknown keyword 'virtualhost' in SMTP_CHECK host, ignored`,
      `${CONFIG}:27:7: warning: unknown keyword 'virtualhost' in DNS_CHECK, ignored`,
      `${CONFIG}:30:7: warning: unknown keyword 'virtualhost' in UDP_CHECK, ignored`,
      `${CONFIG}:33:7: warning: unknown keyword 'virtualhost' in PING_CHECK, ignored`,
    ]);
  });

  it("still reaches HTTP_GET from the real server, and SSL_GET's own wins over it", () => {
    const http = checkers(text).flatMap((checker) => (checker.kind === 'HTTP_GET' || checker.kind === 'SSL_GET' ? [[checker.kind, checker.virtualhost]] : []));
    expect(http).toEqual([['HTTP_GET', 'rs.example'], ['SSL_GET', 'ssl.example']]);
  });
});

describe('keywords of another block', () => {
  it('connect_timeout in MISC_CHECK is unknown to keepalived 2.2.7 (it has no connection; misc_timeout bounds the script)', () => {
    const text = service(`  real_server 10.0.1.1 80 {
    MISC_CHECK {
      misc_path /bin/true
      connect_timeout 3
    }
  }`);
    expect(messages(parse(text), 'warnings')).toEqual([`${CONFIG}:12:7: warning: unknown keyword 'connect_timeout' in MISC_CHECK, ignored`]);
    expect(checkers(text)).toMatchObject([{ kind: 'MISC_CHECK', timeoutMs: 60_000 }]);
  });

  it("file in FILE_CHECK is unknown to keepalived 2.2.7, whose FILE_CHECK names its file with track_file; without one the checker is refused", () => {
    const result = parse(`track_file tf {
  file /run/weight
}
${service(`  real_server 10.0.1.1 80 {
    FILE_CHECK {
      file tf
    }
  }`)}`);
    expect(messages(result, 'warnings')).toEqual([`${CONFIG}:14:7: warning: unknown keyword 'file' in FILE_CHECK, ignored`]);
    expect(messages(result, 'errors')).toEqual([`${CONFIG}:13:5: error: FILE_CHECK has no 'track_file'`]);
  });
});
