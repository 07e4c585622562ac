import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { CHECKER_KEYWORDS, generatedCheckerCase, generatedCheckerCases, PASSES_AGAINST, timingDependence } from './generated-checkers.ts';

// The generator behind the generated checker conformance cases (run against keepalived in the
// kernel VM): it must reach every keyword it claims, write only configurations lvsd reads without
// an error, and give every check a listener it passes against.

const SWEEP = Array.from({ length: 300 }, (_, i) => generatedCheckerCase(i + 1));

interface BlockInstance {
  readonly block: string;
  readonly keywords: Set<string>;
}

/**
 * Each block the sweep writes, with its keywords: checkers at four spaces with their settings at
 * six, their url and host blocks' at eight, and top-level track_file blocks with theirs at two.
 */
function blocksOfSweep(): BlockInstance[] {
  const instances: BlockInstance[] = [];
  for (const { config } of SWEEP) {
    let checker: BlockInstance | undefined;
    let inner: BlockInstance | undefined;
    for (const line of config.split('\n')) {
      const opening = /^( *)([A-Za-z_]+)(?: \S+)* \{$/.exec(line);
      const keyword = /^( *)([a-z_0-9]+)/.exec(line);
      const depth = keyword?.[1]!.length;
      if (opening?.[1] === '') checker = opening[2] === 'track_file' ? { block: 'track_file', keywords: new Set() } : undefined;
      else if (opening?.[1] === '    ') checker = { block: opening[2]!, keywords: new Set() };
      else if (checker?.block !== 'track_file' && /^ {2,4}\S/.test(line)) checker = undefined;
      if (checker && !instances.includes(checker)) instances.push(checker);
      if (checker?.block === 'track_file' && depth === 2) checker.keywords.add(keyword![2]!);
      else if (checker && depth === 6) checker.keywords.add(keyword![2]!);
      else if (inner && depth === 8) inner.keywords.add(keyword![2]!);
      if (opening?.[1] === '      ') instances.push((inner = { block: `${checker!.block} ${opening[2]}`, keywords: new Set() }));
      if (/^ {6}\}$/.test(line)) inner = undefined;
    }
  }
  return instances;
}

const INSTANCES = blocksOfSweep();

/** Keywords a block always has (keepalived needs them, or lvsd's cases do: README, "Where lvsd differs"). */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  HTTP_GET: ['url'], SSL_GET: ['url'], 'HTTP_GET url': ['path'], 'SSL_GET url': ['path'], MISC_CHECK: ['misc_path'],
  FILE_CHECK: ['track_file'], track_file: ['file'], 'SMTP_CHECK host': ['connect_timeout'],
};

const REGEX_COMPANIONS = ['regex', 'regex_options'];
/** Keywords that come with another: the regex settings with their regex, a bind_port over TCP with a long delay_loop and its warmup. */
const COMPANIONS: Readonly<Record<string, readonly string[]>> = {
  regex_no_match: REGEX_COMPANIONS, regex_options: REGEX_COMPANIONS, regex_min_offset: REGEX_COMPANIONS,
  regex_max_offset: REGEX_COMPANIONS, regex_stack: REGEX_COMPANIONS, regex: ['regex_options'],
  bind_port: ['warmup', 'delay_loop'], delay_loop: ['warmup'],
};

const parse = (config: string) => parseConfigText(config, '/etc/keepalived/keepalived.conf', () => '', () => [], { hostname: 'director' });

describe('generated checker conformance cases', () => {
  it('set every keyword of keepalived 2.2.7 they claim, in every checker block, in a 300-seed sweep, and no other', () => {
    for (const [block, { generated, notGenerated }] of Object.entries(CHECKER_KEYWORDS)) {
      const written = new Set(INSTANCES.filter((instance) => instance.block === block).flatMap((instance) => [...instance.keywords]));
      expect(generated.filter((keyword) => !written.has(keyword)), `${block}: claimed, never written`).toEqual([]);
      expect([...written].filter((keyword) => !generated.includes(keyword)), `${block}: written, not claimed`).toEqual([]);
      expect(Object.keys(notGenerated).filter((keyword) => generated.includes(keyword))).toEqual([]);
    }
    expect(INSTANCES.filter((instance) => !(instance.block in CHECKER_KEYWORDS)).map((instance) => instance.block)).toEqual([]);
  });

  it('leave each keyword at its default, set it alone, and set it with others', () => {
    for (const [block, { generated }] of Object.entries(CHECKER_KEYWORDS)) {
      const required = REQUIRED[block] ?? [];
      const optional = INSTANCES.filter((instance) => instance.block === block).map(({ keywords }) => [...keywords].filter((k) => !required.includes(k)));
      for (const keyword of generated.filter((k) => !required.includes(k))) {
        // connect_port comes with any setting of a check whose listener is not on the real server's port, host blocks with any of an SMTP_CHECK.
        const companions = [...(COMPANIONS[keyword] ?? []), ...['connect_port', 'host'].filter((k) => k !== keyword)];
        const withIt = optional.filter((keywords) => keywords.includes(keyword));
        const others = (keywords: string[]) => keywords.filter((k) => k !== keyword && !companions.includes(k));
        expect(optional.some((keywords) => !keywords.includes(keyword)), `${block} ${keyword} left at its default`).toBe(true);
        expect(withIt.some((keywords) => others(keywords).length === 0), `${block} ${keyword} alone`).toBe(true);
        if (others(generated.filter((k) => !required.includes(k))).length > 0) {
          expect(withIt.some((keywords) => others(keywords).length > 0), `${block} ${keyword} with others`).toBe(true);
        }
      }
    }
  });

  it('are the same case for the same seed, and parse without an error or an unknown keyword (keepalived knows each)', () => {
    expect(generatedCheckerCase(7)).toEqual(generatedCheckerCase(7));
    for (const testCase of SWEEP) {
      const result = parse(testCase.config);
      expect(result.ok ? [] : result.errors.map((e) => e.message), testCase.config).toEqual([]);
      expect(result.warnings.map((w) => w.message).filter((m) => m.startsWith('unknown keyword')), testCase.config).toEqual([]);
    }
  });

  it('give every check a listener of its kind at the address and port it checks', () => {
    for (const testCase of SWEEP) {
      const result = parse(testCase.config);
      if (!result.ok) continue;
      for (const rs of result.config.virtualServers.flatMap((vs) => vs.realServers)) {
        for (const checker of rs.checkers) {
          if (!('connection' in checker)) continue;
          const { connectIp, connectPort } = checker.connection;
          const there = testCase.servers.filter((server) => server.address === connectIp);
          const passing = checker.kind === 'PING_CHECK' ? there : there.filter((server) => server.port === connectPort && PASSES_AGAINST[checker.kind]!.includes(server.kind!));
          expect(passing.length, `${testCase.name}: ${checker.kind} of ${rs.address} to ${connectIp}:${connectPort}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('take their seeds from LVSD_GENERATED_CHECKER_SEEDS when it is set, and else the first that neither race nor differ unexplained in the VM', () => {
    expect(generatedCheckerCases(2, '5-6,9').map((c) => c.name)).toEqual([5, 6, 9].map((seed) => `generated checker settings (seed ${seed})`));
    expect(generatedCheckerCases(1, '12').map((c) => c.name)).toEqual(['generated checker settings (seed 12)']);
    expect(generatedCheckerCases(4, '').map((c) => Number(/seed (\d+)/.exec(c.name)![1]))).toEqual([2, 10, 13, 14]);
  });

  it('leave out the seeds whose tables depend on timing: an alpha real server that a silent UDP server passes only at connect_timeout, a failing script with retries, a stop seen only after two retries 3 s apart', () => {
    expect(timingDependence(1)).toBe('a first verdict that changes the table may come after the start snapshot: fd00:1::1:53');
    expect(timingDependence(4)).toBe('a first verdict that changes the table may come after the start snapshot: 10.1.0.2:80');
    expect(timingDependence(9)).toBe('a real server checked at rs1 may or may not leave before the snapshot: 10.1.0.1:443');
    expect(timingDependence(2)).toBeUndefined();
  });
});
