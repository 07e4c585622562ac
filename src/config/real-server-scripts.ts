import type { Checker, RealServer, SourceLocation } from './model.ts';

/** The answer for most real servers of a large configuration, which is asked of each of them twice. */
const NO_SCRIPTS: readonly SourceLocation[] = [];

const isMiscCheck = (checker: Checker): boolean => checker.kind === 'MISC_CHECK';

/**
 * Where a real server names a script for keepalived's checker process to run: its real_server line
 * when it has notify_up or notify_down, and each MISC_CHECK. The parser's script_security warning
 * and the daemon's script security pass both go by it.
 */
export function realServerScriptsAt(rs: RealServer): readonly SourceLocation[] {
  const notifies = rs.notifyUp !== undefined || rs.notifyDown !== undefined;
  if (!notifies && !rs.checkers.some(isMiscCheck)) return NO_SCRIPTS;
  const at = notifies ? [rs.at] : [];
  for (const checker of rs.checkers) if (isMiscCheck(checker)) at.push(checker.at);
  return at;
}
