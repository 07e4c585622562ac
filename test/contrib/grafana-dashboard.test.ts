import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLan, deleteLan, lanNamespace, LVSCTL, promtoolCheck, run, scrape as scrapeInNs, startLvsd, WITH_VIRTUAL_SERVER } from '../daemon/netns-lvsd.js';

const DASHBOARD = fileURLToPath(new URL('../../contrib/grafana/lvsd.json', import.meta.url));
// Its own namespace and port, so that it runs beside test/daemon/vrrp-only.test.ts.
const ns = lanNamespace(`lvsd-grafana-${process.pid}`);
const METRICS_PORT = 9652;
// A VRRP instance and a virtual server, so that lvsd has every kind of family to register.
const CONFIG = WITH_VIRTUAL_SERVER;

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

const scrape = async (): Promise<string> => scrapeInNs(ns, METRICS_PORT);

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
    beforeAll(async () => createLan(ns));
    afterAll(async () => deleteLan(ns));

    it('uses only metric families that lvsd exports, reload duration included, in a scrape promtool finds nothing to fault in', async () => {
      const { socket, output } = startLvsd(ns, CONFIG, ['--metrics', `127.0.0.1:${METRICS_PORT}`]);

      await scrapeWhenListening(20_000);
      const reload = await run(LVSCTL, ['reload', '--socket', socket], { timeout: 20_000 });
      expect(reload.stdout, output()).toMatch(/^reloaded: /);
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
