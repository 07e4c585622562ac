// A bounded HTTP load: COUNT requests to URL, CONCURRENCY at a time, a fresh TCP connection
// each (so IPVS schedules every one), stopping after MAX_SECONDS whatever the count.
// Prints one JSON line: { ok, failed, errors, durationMs }.
import { request } from 'node:http';

const [url, count, concurrency, maxSeconds] = process.argv.slice(2);
const total = Number(count);
const deadline = Date.now() + Number(maxSeconds) * 1000;
const started = Date.now();
let issued = 0;
let ok = 0;
let failed = 0;
const errors = new Map();

function once() {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 5000 }, (response) => {
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
  while (issued < total && Date.now() < deadline) {
    issued++;
    await once();
  }
}

await Promise.all(Array.from({ length: Number(concurrency) }, worker));
process.stdout.write(`${JSON.stringify({ ok, failed, errors: Object.fromEntries(errors), durationMs: Date.now() - started })}\n`);
