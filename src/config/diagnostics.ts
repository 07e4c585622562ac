import type { ConfigDiagnostic, SourceLocation } from './model.ts';

/** Collects what one parse run has to say; the run is rejected when any error was reported. */
export class Diagnostics {
  readonly errors: ConfigDiagnostic[] = [];
  readonly warnings: ConfigDiagnostic[] = [];

  error(at: SourceLocation, message: string): void {
    this.errors.push({ at, severity: 'error', message });
  }

  warn(at: SourceLocation, message: string): void {
    this.warnings.push({ at, severity: 'warning', message });
  }

  /** Reports, after its own, what `other` collected. */
  append(other: Diagnostics): void {
    this.errors.push(...other.errors);
    this.warnings.push(...other.warnings);
  }
}

export function formatDiagnostic(d: ConfigDiagnostic): string {
  // Line 0 stands for the file as a whole (it could not be read).
  const where = d.at.line === 0 ? d.at.file : `${d.at.file}:${d.at.line}:${d.at.column}`;
  return `${where}: ${d.severity}: ${d.message}`;
}

/** Orders diagnostics as the files were read (include order), then by line and column. */
export function sourceOrder(files: readonly string[]): (a: { readonly at: SourceLocation }, b: { readonly at: SourceLocation }) => number {
  const rank = (file: string) => {
    const index = files.indexOf(file);
    return index < 0 ? files.length : index;
  };
  return (a, b) => rank(a.at.file) - rank(b.at.file) || a.at.line - b.at.line || a.at.column - b.at.column;
}
