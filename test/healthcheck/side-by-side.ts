// The native probe engine's runner and the JavaScript probes' runner side by side, for tests that
// hold the engine's verdict to the JavaScript probe's on the same real server.
import { expect } from 'vitest';
import { NetworkProbeRunner, type ProbeSpec } from '../../src/healthcheck/probe-runner.ts';
import type { HttpProbeOptions, HttpUrlExpectation } from '../../src/healthcheck/probes/http.ts';
import type { ProbeResult } from '../../src/healthcheck/state.ts';

/** One probe through `runner`, as a promise. */
function probeOnce(runner: NetworkProbeRunner, spec: ProbeSpec): Promise<ProbeResult> {
  return new Promise((done) => runner.run(spec, done));
}

export function sideBySide() {
  const native = new NetworkProbeRunner();
  const javascript = new NetworkProbeRunner({ javascriptOnly: true });
  return {
    native: { run: (spec: ProbeSpec) => probeOnce(native, spec) },
    /** The engine's verdict, after checking that the JavaScript probe's is the same. */
    async both(spec: ProbeSpec): Promise<ProbeResult> {
      const [fromEngine, fromJavascript] = await Promise.all([probeOnce(native, spec), probeOnce(javascript, spec)]);
      expect(fromEngine.ok).toBe(fromJavascript.ok);
      return fromEngine;
    },
    async close(): Promise<void> {
      await native.close();
      await javascript.close();
    },
  };
}

/** An HTTP_GET or SSL_GET of one url on 127.0.0.1, 300 ms a step, status 200-299. */
export function httpSpec(kind: 'HTTP_GET' | 'SSL_GET', port: number, url: Partial<HttpUrlExpectation> = {}, over: Partial<HttpProbeOptions> = {}): ProbeSpec {
  return {
    kind,
    options: {
      tls: kind === 'SSL_GET',
      host: '127.0.0.1',
      port,
      timeoutMs: 300,
      verifyCertificate: false,
      httpProtocol: '1.0',
      urls: [{ path: '/', statusCodes: [], regexNoMatch: false, ...url }],
      ...over,
    },
  };
}
