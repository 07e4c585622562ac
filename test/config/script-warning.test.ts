import { describe, expect, it } from 'vitest';
import { messages, parse } from './helpers.ts';

// keepalived 2.2.7 warns once that scripts run without script_security; lvsd puts the warning at
// the first script of the configuration.

const WARNING = 'warning: SECURITY VIOLATION - scripts are being executed but script_security not enabled';

function service(...realServers: string[]): string {
  return `virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
${realServers.join('\n')}
}
`;
}

const violations = (text: string) => messages(parse(text), 'warnings').filter((warning) => warning.includes('SECURITY VIOLATION'));

describe('the script_security warning of a virtual server', () => {
  it('is at the real_server line of a notify_up or notify_down', () => {
    const text = service('  real_server 10.1.0.1 80 {\n  }', '  real_server 10.1.0.2 80 {\n    notify_down /bin/true\n  }');
    expect(violations(text)).toEqual([`/etc/keepalived/keepalived.conf:7:3: ${WARNING}`]);
  });

  it('is at a MISC_CHECK that comes before any notify script', () => {
    const text = service('  real_server 10.1.0.1 80 {\n    TCP_CHECK {\n    }\n    MISC_CHECK {\n      misc_path /bin/true\n    }\n  }', '  real_server 10.1.0.2 80 {\n    notify_up /bin/true\n  }');
    expect(violations(text)).toEqual([`/etc/keepalived/keepalived.conf:8:5: ${WARNING}`]);
  });

  it('is not given without a script', () => {
    expect(violations(service('  real_server 10.1.0.1 80 {\n    TCP_CHECK {\n    }\n  }'))).toEqual([]);
  });
});
