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
