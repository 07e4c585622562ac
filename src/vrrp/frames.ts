import { addressToBytes } from './ip.ts';
import { internetChecksum } from './packet.ts';

/** Link-layer frames announcing that a VIP moved to this node's MAC. */

const BROADCAST_MAC = Buffer.alloc(6, 0xff);
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV6 = 0x86dd;
const ALL_NODES = addressToBytes('ff02::1');
const ALL_NODES_MAC = Buffer.from([0x33, 0x33, 0, 0, 0, 1]);
const ICMPV6 = 58;
const NEIGHBOR_ADVERTISEMENT = 136;
const OVERRIDE_FLAG = 0x20000000;
const TARGET_LINK_LAYER_ADDRESS_OPTION = 2;

function ethernetHeader(destination: Buffer, source: Buffer, etherType: number): Buffer {
  const header = Buffer.alloc(14);
  destination.copy(header, 0);
  source.copy(header, 6);
  header.writeUInt16BE(etherType, 12);
  return header;
}

/** A gratuitous ARP request (sender and target protocol address both the VIP), as keepalived sends. */
export function gratuitousArpFrame(mac: Buffer, ipv4: string): Buffer {
  const ip = addressToBytes(ipv4);
  const arp = Buffer.alloc(28);
  arp.writeUInt16BE(1, 0); // Ethernet
  arp.writeUInt16BE(0x0800, 2);
  arp[4] = 6;
  arp[5] = 4;
  arp.writeUInt16BE(1, 6); // request
  mac.copy(arp, 8);
  ip.copy(arp, 14);
  BROADCAST_MAC.copy(arp, 18);
  ip.copy(arp, 24);
  return Buffer.concat([ethernetHeader(BROADCAST_MAC, mac, ETHERTYPE_ARP), arp]);
}

/** An unsolicited neighbour advertisement (RFC 4861 §7.2.6) to all nodes, with the override flag. */
export function unsolicitedNeighborAdvertisementFrame(mac: Buffer, ipv6: string): Buffer {
  const target = addressToBytes(ipv6);
  const icmp = Buffer.alloc(32);
  icmp[0] = NEIGHBOR_ADVERTISEMENT;
  icmp.writeUInt32BE(OVERRIDE_FLAG, 4);
  target.copy(icmp, 8);
  icmp[24] = TARGET_LINK_LAYER_ADDRESS_OPTION;
  icmp[25] = 1;
  mac.copy(icmp, 26);
  const pseudoHeader = Buffer.alloc(40);
  target.copy(pseudoHeader, 0);
  ALL_NODES.copy(pseudoHeader, 16);
  pseudoHeader.writeUInt32BE(icmp.length, 32);
  pseudoHeader[39] = ICMPV6;
  icmp.writeUInt16BE(internetChecksum(pseudoHeader, icmp), 2);
  const ipv6Header = Buffer.alloc(40);
  ipv6Header.writeUInt32BE(0x60000000, 0);
  ipv6Header.writeUInt16BE(icmp.length, 4);
  ipv6Header[6] = ICMPV6;
  ipv6Header[7] = 255;
  target.copy(ipv6Header, 8);
  ALL_NODES.copy(ipv6Header, 24);
  return Buffer.concat([ethernetHeader(ALL_NODES_MAC, mac, ETHERTYPE_IPV6), ipv6Header, icmp]);
}
