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
}

export function formatDiagnostic(d: ConfigDiagnostic): string {
  return `${d.at.file}:${d.at.line}:${d.at.column}: ${d.severity}: ${d.message}`;
}
