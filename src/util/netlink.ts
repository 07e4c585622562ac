import { createRequire } from 'node:module';
import type * as Constants from 'netlink/dist/constants.js';
import type * as Raw from 'netlink/dist/raw.js';
import type * as Rt from 'netlink/dist/rt/rt.js';
import type * as Structs from 'netlink/dist/structs.js';

// The `netlink` package's index loads every family it knows (nl80211, WireGuard, rtnetlink) and,
// imported from an ES module, makes node scan each of its files for exports. Under the test VM's
// emulation that was about a second of every lvsd start. lvsd loads only the modules it calls.
const require = createRequire(import.meta.url);

export const { parseMessages, getString, parseAttributes } = require('netlink/dist/structs.js') as typeof Structs;
const raw = require('netlink/dist/raw.js') as typeof Raw;
export const RawNetlinkSocket = raw.RawNetlinkSocket;
export type RawNetlinkSocket = Raw.RawNetlinkSocket;
export const { Protocol, FlagsNew } = require('netlink/dist/constants.js') as typeof Constants;
export type { ErrnoException } from 'netlink/dist/raw.js';

/** rtnetlink (VRRP's addresses and routes), loaded when VRRP first asks for it. */
export function loadRtNetlink(): typeof Rt {
  return require('netlink/dist/rt/rt.js') as typeof Rt;
}
export type { RtNetlinkSocket } from 'netlink/dist/rt/rt.js';
