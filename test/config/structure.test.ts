import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';

const parse = (text: string) => parseConfigText(text, 'k.conf', () => '', () => [], { hostname: 'test' });

// A reload must not apply a structure nobody wrote: keepalived reads on past these mistakes
// (a real server ends up outside its virtual server); lvsd refuses the file.
describe('broken block structure', () => {
  it('refuses a stray closing brace, naming its line', () => {
    const result = parse('virtual_server 10.0.0.1 80 {\n  real_server 10.1.0.1 80 { }\n  }\n  real_server 10.1.0.2 80 { }\n}\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => `${e.at.line}: ${e.message}`)).toEqual([
      "4: unknown keyword 'real_server' in the top level",
      "5: extra '}': the braces before it do not match",
    ]);
  });

  it('refuses a block that is never closed', () => {
    const result = parse('virtual_server 10.0.0.1 80 {\n  real_server 10.1.0.1 80 { }\n');
    expect(result.ok).toBe(false);
  });
});
