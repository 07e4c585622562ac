import type { RealServer, SourceLocation } from './model.ts';

/**
 * Where a real server names a script for keepalived's checker process to run: its real_server line
 * when it has notify_up or notify_down, and each MISC_CHECK. The parser's script_security warning
 * and the daemon's script security pass both go by it.
 */
export function realServerScriptsAt(rs: RealServer): SourceLocation[] {
  const at = rs.notifyUp !== undefined || rs.notifyDown !== undefined ? [rs.at] : [];
  for (const checker of rs.checkers) if (checker.kind === 'MISC_CHECK') at.push(checker.at);
  return at;
}
