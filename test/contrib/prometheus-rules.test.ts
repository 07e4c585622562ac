import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** Unpacked from Debian's prometheus package by scripts/setup. */
const PROMTOOL = fileURLToPath(new URL('../../.cache/prometheus/usr/bin/promtool', import.meta.url));
const RULES_DIR = fileURLToPath(new URL('../../contrib/prometheus/', import.meta.url));
const run = promisify(execFile);

describe('contrib/prometheus/lvsd.rules.yml', () => {
  it('passes promtool check rules', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', 'lvsd.rules.yml'], { cwd: RULES_DIR, timeout: 30_000 });
    expect(stdout).toContain('SUCCESS: 9 rules found');
  });

  it('fires each of its alerts in promtool test rules, with the labels and summary an operator gets', async () => {
    const { stdout } = await run(PROMTOOL, ['test', 'rules', 'lvsd.rules.test.yml'], { cwd: RULES_DIR, timeout: 30_000 });
    expect(stdout).toContain('SUCCESS');
    const alerts = [...readFileSync(`${RULES_DIR}lvsd.rules.yml`, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const tested = readFileSync(`${RULES_DIR}lvsd.rules.test.yml`, 'utf8');
    for (const alert of alerts) expect(tested).toMatch(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
  });
});
