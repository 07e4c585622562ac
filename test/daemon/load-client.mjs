// A bounded HTTP load: COUNT requests to URL, CONCURRENCY at a time, stopping after MAX_SECONDS
// whatever the count. Each worker opens a new TCP connection every REQUESTS_PER_CONNECTION
// requests, so IPVS keeps scheduling new connections while the load stays cheap enough for an
// emulated CPU. Prints one JSON line: { ok, failed, errors, durationMs }.
import { Agent, request } from 'node:http';

const REQUESTS_PER_CONNECTION = 10;

const [url, count, concurrency, maxSeconds] = process.argv.slice(2);
const total = Number(count);
const deadline = Date.now() + Number(maxSeconds) * 1000;
const started = Date.now();
let issued = 0;
let ok = 0;
let failed = 0;
const errors = new Map();

function once(agent) {
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => {
        if (response.statusCode === 200) ok++;
        else {
          failed++;
          errors.set(`status ${response.statusCode}`, (errors.get(`status ${response.statusCode}`) ?? 0) + 1);
        }
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => {
      failed++;
      errors.set(error.code ?? error.message, (errors.get(error.code ?? error.message) ?? 0) + 1);
      resolve();
    });
    req.end();
  });
}

async function worker() {
  let agent;
  for (let sent = 0; issued < total && Date.now() < deadline; sent++) {
    if (sent % REQUESTS_PER_CONNECTION === 0) {
      agent?.destroy();
      agent = new Agent({ keepAlive: true, maxSockets: 1 });
    }
    issued++;
    await once(agent);
  }
  agent?.destroy();
}

await Promise.all(Array.from({ length: Number(concurrency) }, worker));
process.stdout.write(`${JSON.stringify({ ok, failed, errors: Object.fromEntries(errors), durationMs: Date.now() - started })}\n`);
