import { createRequire } from 'node:module';

/**
 * AF_PACKET sending through the native addon in native/vrrp (raw-socket cannot open packet
 * sockets). Loaded on first use so a missing build only disables gratuitous ARP, loudly.
 */
interface LinkLayerAddon {
  sendFrame(linkIndex: number, frame: Buffer): number;
}

// Same relative path from src/vrrp and from dist/vrrp.
const ADDON_PATH = '../../native/vrrp/build/Release/vrrp_packet.node';
let addon: LinkLayerAddon | undefined;

export function sendLinkLayerFrame(linkIndex: number, frame: Buffer): void {
  addon ??= createRequire(import.meta.url)(ADDON_PATH) as LinkLayerAddon;
  addon.sendFrame(linkIndex, frame);
}
