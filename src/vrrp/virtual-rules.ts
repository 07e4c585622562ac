import { familyOf, type IpFamily } from './ip.ts';
import type { VirtualRule } from './types.ts';

/** keepalived 2.2.7 words of a virtual_rules line (vrrp_iprule.c), read into a rule or a reason to ignore it. */

/** keepalived numbers rules without a preference downwards from here, each family on its own. */
export const FIRST_DEFAULT_RULE_PRIORITY = 16384;

const TABLE_NAMES: Record<string, number> = { default: 253, main: 254, local: 255 };
const DROP_ACTIONS = ['blackhole', 'unreachable', 'prohibit', 'nop'] as const;
/** Words keepalived takes that lvsd does not program; a line using one is left out, with a warning. */
const UNSUPPORTED = new Set([
  'realms', 'suppress_prefixlength', 'sup_pl', 'suppress_ifgroup', 'sup_group', 'tunnel-id', 'uidrange', 'l3mdev',
  'protocol', 'ipproto', 'sport', 'dport', 'track_group',
]);
const UINT32_MAX = 0xffffffff;
const ANY_ADDRESS = new Set(['default', 'any', 'all']);

export type ParsedRule = { ok: true; rule: VirtualRule } | { ok: false; why: string };

/** strtoul with base 0, the whole word: decimal, 0x hexadecimal or 0 octal. */
function unsigned(word: string | undefined): number | undefined {
  if (word === undefined || !/^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(word)) return undefined;
  const value = word.startsWith('0x') || word.startsWith('0X') ? Number.parseInt(word, 16) : word.startsWith('0') ? Number.parseInt(word, 8) : Number(word);
  return value <= UINT32_MAX ? value : undefined;
}

/** read_unsigned_strvec (lib/parser.c), which keepalived reads a goto target with: strtoul in base 10, the whole word. */
function decimal(word: string | undefined): number | undefined {
  if (word === undefined || !/^\+?[0-9]+$/.test(word)) return undefined;
  const value = Number(word);
  return value <= UINT32_MAX ? value : undefined;
}

function prefix(word: string | undefined): { address: string; prefixLength: number; family: IpFamily } | undefined {
  if (word === undefined) return undefined;
  const [address = '', length] = word.split('/');
  try {
    const family = familyOf(address);
    const prefixLength = length === undefined ? (family === 4 ? 32 : 128) : Number(length);
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > (family === 4 ? 32 : 128)) return undefined;
    return { address, prefixLength, family };
  } catch {
    return undefined;
  }
}

/** `defaultPriority` numbers a rule written without a preference (keepalived warns, and counts down per family). */
export function parseVirtualRule(words: readonly string[], defaultPriority: (family: IpFamily) => number): ParsedRule {
  const fail = (why: string): ParsedRule => ({ ok: false, why });
  let family: IpFamily | undefined;
  const rule: Omit<VirtualRule, 'family' | 'priority' | 'action'> & { action?: VirtualRule['action']; priority?: number } = {
    from: undefined, to: undefined, invert: false, tos: undefined, fwmark: undefined, iif: undefined, oif: undefined, track: true,
  };
  const setFamily = (next: IpFamily): boolean => {
    if (family !== undefined && family !== next) return false;
    family = next;
    return true;
  };
  const setAction = (action: VirtualRule['action']): boolean => {
    if (rule.action !== undefined) return false;
    rule.action = action;
    return true;
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = () => words[++i];
    if (UNSUPPORTED.has(word)) return fail(`${word} is not supported`);
    switch (word) {
      case 'inet':
      case 'inet6':
        if (!setFamily(word === 'inet' ? 4 : 6)) return fail(`${word} specified for an IPv${family} rule`);
        break;
      case 'from':
      case 'to': {
        const value = next();
        // Any address: nothing to match, as in iproute2.
        if (value !== undefined && ANY_ADDRESS.has(value)) break;
        const parsed = prefix(value);
        if (!parsed) return fail(`invalid rule ${word} address ${value ?? ''}`);
        if (!setFamily(parsed.family)) return fail('rule specification has mixed IPv4 and IPv6');
        rule[word] = { address: parsed.address, prefixLength: parsed.prefixLength };
        break;
      }
      case 'table':
      case 'lookup': {
        const name = next() ?? '';
        const table = TABLE_NAMES[name] ?? unsigned(name);
        if (table === undefined) return fail(`routing table ${name} not found (lvsd knows numbers, default, main and local)`);
        if (table === 0) return fail('table 0 is not valid');
        if (!setAction({ type: 'table', table })) return fail('more than one action');
        break;
      }
      case 'not':
        rule.invert = true;
        break;
      case 'preference':
      case 'order':
      case 'priority': {
        const value = unsigned(next());
        if (value === undefined) return fail(`invalid rule preference ${words[i] ?? ''}`);
        rule.priority = value;
        break;
      }
      case 'tos':
      case 'dsfield': {
        const value = unsigned(next());
        if (value === undefined || value > 255) return fail(`TOS value ${words[i] ?? ''} is invalid`);
        rule.tos = value;
        break;
      }
      case 'fwmark': {
        const [mark, mask, extra] = (next() ?? '').split('/');
        const value = unsigned(mark);
        const maskValue = mask === undefined ? undefined : unsigned(mask);
        if (value === undefined || (mask !== undefined && maskValue === undefined) || extra !== undefined) return fail(`invalid rule fwmark ${words[i] ?? ''}`);
        rule.fwmark = { mark: value, mask: maskValue };
        break;
      }
      case 'dev':
      case 'iif':
        rule.iif = next();
        break;
      case 'oif':
        rule.oif = next();
        break;
      case 'no_track':
        rule.track = false;
        break;
      default: {
        const actionWord = word === 'type' ? next() : word;
        if (actionWord === 'goto') {
          const target = decimal(next());
          if (target === undefined) return fail(`invalid goto target ${words[i] ?? ''} (keepalived 2.2.7 reads it in decimal only)`);
          if (!setAction({ type: 'goto', target })) return fail('more than one action');
        } else if (DROP_ACTIONS.some((action) => action === actionWord)) {
          if (!setAction({ type: actionWord as (typeof DROP_ACTIONS)[number] })) return fail('more than one action');
        } else return fail(`unknown rule option ${actionWord ?? word}`);
      }
    }
  }
  if (rule.action === undefined) return fail('no action specified for rule');
  if (rule.action.type === 'goto') {
    if (rule.priority === undefined) return fail(`goto target ${rule.action.target} specified without preference`);
    if (rule.priority >= rule.action.target) return fail(`preference ${rule.priority} >= goto target ${rule.action.target}`);
  }
  const ruleFamily = family ?? 4;
  return { ok: true, rule: { ...rule, action: rule.action, family: ruleFamily, priority: rule.priority ?? defaultPriority(ruleFamily) } };
}
