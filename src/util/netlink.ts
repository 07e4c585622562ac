// The `netlink` package's index loads every family it knows (nl80211, WireGuard, rtnetlink):
// lvsd imports only the modules it calls. The build bundles them, with the native binding loaded
// by its path rather than through node-gyp-build's search (scripts/build.mjs): in the kernel VM
// that search and the separate files were a few hundred milliseconds of every start.
export { parseMessages, getString, parseAttributes } from 'netlink/dist/structs.js';
export { RawNetlinkSocket, type ErrnoException } from 'netlink/dist/raw.js';
export { Protocol, FlagsNew } from 'netlink/dist/constants.js';
