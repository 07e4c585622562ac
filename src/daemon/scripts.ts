import type { KeepalivedConfig, ScriptCommand } from '../config/model.ts';
import { runCommand, splitCommandLine } from '../util/command.ts';
import type { ScriptRunner } from './director.ts';
import { systemScriptHost } from './script-host.ts';
import { applyScriptSecurity, type ScriptNotice } from './script-security.ts';

function scriptNoticeLine(notice: ScriptNotice): string {
  return `${notice.at.file}:${notice.at.line}: ${notice.message}`;
}

/**
 * keepalived's script rules on the host lvsd runs on, at start and at each reload: each script
 * gets the uid:gid it runs as, and one keepalived would not run (not found, not executable by
 * that user, an unknown user, or changeable by non-root while it runs as root under
 * enable_script_security) is taken out. A real server whose only checker was a MISC_CHECK so
 * taken out is then simply up, as in keepalived.
 */
export function withScriptSecurity(config: KeepalivedConfig, warn: (message: string) => void): KeepalivedConfig {
  const policy = applyScriptSecurity(config, systemScriptHost());
  for (const notice of policy.notices) warn(scriptNoticeLine(notice));
  return policy.config;
}

/** A notify or quorum script that hangs must not pile up behind the next state change. */
const NOTIFY_TIMEOUT_MS = 10_000;

/** Runs real server notify_up/notify_down and quorum_up/quorum_down scripts as their runAs user. */
export function notifyScriptRunner(onFailure: (script: ScriptCommand, reason: string, why: string) => void): ScriptRunner {
  return (script, reason) => {
    void runCommand(splitCommandLine(script.command), { timeoutMs: NOTIFY_TIMEOUT_MS, user: script.runAs }).then((outcome) => {
      if (!outcome.succeeded) onFailure(script, reason, outcome.why);
    });
  };
}
