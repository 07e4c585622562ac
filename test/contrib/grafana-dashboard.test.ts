import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

const DASHBOARD = fileURLToPath(new URL('../../contrib/grafana/lvsd.json', import.meta.url));
const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));
/** Unpacked from Debian's prometheus package by scripts/setup. */
const PROMTOOL = fileURLToPath(new URL('../../.cache/prometheus/usr/bin/promtool', import.meta.url));
// Its own namespace and port, so that it runs beside test/daemon/vrrp-only.test.ts.
const NS = `lvsd-grafana-${process.pid}`;
const METRICS_PORT = 9652;
const run = promisify(execFile);
const inNs = (...argv: string[]) => run('ip', ['netns', 'exec', NS, ...argv], { timeout: 10_000 });

// A VRRP instance and a virtual server, so that lvsd has every kind of family to register.
const CONFIG = `
vrrp_instance VI_1 {
  state MASTER
  interface lan0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
virtual_server 192.0.2.100 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.10 80 { }
}
`;

interface Dashboard {
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const variableQuery = (name: string): string => {
  const { query } = dashboard.templating.list.find((variable) => variable.name === name)!;
  return typeof query === 'string' ? query : query.query;
};

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/** The metric names of a PromQL expression: what is left once strings, label matchers, ranges, groupings and function calls are taken out. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/(?<![\w$.])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)].map((match) => match[1]!);
  return names.filter((name) => !PROMQL_WORDS.has(name));
}

/** The metric of label_values(metric{...}, label): its label argument is no metric. */
const labelValuesMetric = (query: string): string => /^label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(query)![1]!;

/** Family name to type, from the `# TYPE` lines prom-client prints for every registered family, sampled or not. */
function familyTypes(scrape: string): Map<string, string> {
  return new Map([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
}

function isExported(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  const histogram = /^(.*)_(?:bucket|sum|count)$/.exec(name);
  return histogram !== null && families.get(histogram[1]!) === 'histogram';
}

async function promtoolCheck(metrics: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const promtool = spawn(PROMTOOL, ['check', 'metrics'], { timeout: 30_000 });
    let text = '';
    promtool.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    promtool.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    promtool.on('exit', (code) => resolve({ code, output: text }));
    promtool.on('error', (error) => resolve({ code: null, output: `${PROMTOOL}: ${error.message} (scripts/setup unpacks it)` }));
    promtool.stdin.end(metrics);
  });
}

async function scrape(): Promise<string> {
  const fetch = `fetch("http://127.0.0.1:${METRICS_PORT}/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))`;
  return (await inNs(process.execPath, '-e', fetch)).stdout;
}

async function scrapeWhenListening(ms: number): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await scrape();
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe('contrib/grafana/lvsd.json', () => {
  it('reads its data source from the datasource variable, never from a hard-coded UID', () => {
    expect(dashboard.templating.list.find((variable) => variable.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const uids = [...readFileSync(DASHBOARD, 'utf8').matchAll(/"datasource":\s*\{[^}]*"uid":\s*"([^"]*)"/g)].map((match) => match[1]);
    expect(uids.length).toBeGreaterThan(dashboard.panels.length);
    expect(new Set(uids)).toEqual(new Set(['${datasource}']));
    expect(variableQuery('job')).toBe('label_values(lvsd_process_start_time_seconds, job)');
    expect(variableQuery('instance')).toMatch(/^label_values\(lvsd_process_start_time_seconds\{job="\$job"\}, instance\)$/);
  });

  it('finds the metric names of PromQL expressions and nothing else', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{job="$job", x=~"y"}[$__rate_interval])))')).toEqual(['a_bucket']);
    expect(metricNames('sum by (vs) (1 - up_a{job="a"}) or on (vs) b')).toEqual(['up_a', 'b']);
  });

  describe('against a running lvsd', () => {
    beforeAll(async () => {
      await run('ip', ['netns', 'add', NS]);
      await inNs('ip', 'link', 'set', 'lo', 'up');
      await inNs('ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1');
      await inNs('ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'lan0');
      await inNs('ip', 'link', 'set', 'lan0', 'up');
      await inNs('ip', 'link', 'set', 'lan1', 'up');
    });
    afterAll(async () => {
      await run('ip', ['netns', 'del', NS], { timeout: 10_000 }).catch(() => undefined);
    });

    it('uses only metric families that lvsd exports, reload duration included, in a scrape promtool finds nothing to fault in', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lvsd-grafana-'));
      writeFileSync(join(dir, 'keepalived.conf'), CONFIG);
      const socket = join(dir, 's.sock');
      const daemon = spawn('ip', ['netns', 'exec', NS, LVSD, '-f', join(dir, 'keepalived.conf'), '--socket', socket, '--metrics', `127.0.0.1:${METRICS_PORT}`]);
      onTestFinished(() => void daemon.kill('SIGKILL'));
      let output = '';
      daemon.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      daemon.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));

      await scrapeWhenListening(20_000);
      const reload = await run(LVSCTL, ['reload', '--socket', socket], { timeout: 20_000 });
      expect(reload.stdout, output).toMatch(/^reloaded: /);
      const metrics = await scrape();
      expect(metrics).toMatch(/^lvsd_reload_duration_seconds_count\{result="success"\} 1$/m);

      const families = familyTypes(metrics);
      const used = [
        ...dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => metricNames(target.expr))),
        ...['job', 'instance'].map((name) => labelValuesMetric(variableQuery(name))),
      ];
      expect(used.length).toBeGreaterThan(dashboard.panels.length);
      expect(used.filter((name) => !isExported(name, families))).toEqual([]);
      expect(await promtoolCheck(metrics)).toEqual({ code: 0, output: '' });
    });
  });
});
