// The real servers of the reload-under-load test: one keep-alive HTTP server process per real
// server. busybox httpd forks for every connection and closes it after one response, which an
// emulated CPU shared with other kernel tests could not do 10,000 times in the test's time.
import { createServer } from 'node:http';

const [port] = process.argv.slice(2);
createServer((request, response) => response.end('hello\n')).listen(Number(port));
