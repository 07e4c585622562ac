// A demo client: COUNT requests to URL, one line per answer.
const [url, count] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    process.stdout.write(`  ${(await response.text()).trim()}\n`);
  } catch (error) {
    process.stdout.write(`  request failed: ${error.cause?.code ?? error.message}\n`);
  }
}
