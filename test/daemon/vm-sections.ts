/** Output of a VM job script that prints `=== NAME` before each phase: each phase's lines, by name. */
export function sections(output: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const part of output.split(/^=== /m).slice(1)) {
    const [name, ...lines] = part.split('\n');
    result[name!] = lines.join('\n');
  }
  return result;
}
