import type { IpvsDest, IpvsOp, ServiceId, ServiceSettings } from '../ipvs/model.ts';

const FORWARDING_FLAG: Record<IpvsDest['fwd'], string> = { masq: '-m', droute: '-g', tunnel: '-i', local: '-g', bypass: '-g' };

/** An operation in ipvsadm's words (`-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1`), for logs and `lvsctl diff`. */
export function describeOp(op: IpvsOp): string {
  switch (op.op) {
    case 'flush':
      return '-C';
    case 'add-service':
      return `-A ${service(op.service.id)}${settings(op.service)}`;
    case 'edit-service':
      return `-E ${service(op.service.id)}${settings(op.service)}`;
    case 'del-service':
      return `-D ${service(op.service)}`;
    case 'add-dest':
      return `-a ${service(op.service)} -r ${endpoint(op.dest.addr, op.dest.port)} ${FORWARDING_FLAG[op.dest.fwd]} -w ${op.dest.weight}`;
    case 'edit-dest':
      return `-e ${service(op.service)} -r ${endpoint(op.dest.addr, op.dest.port)} ${FORWARDING_FLAG[op.dest.fwd]} -w ${op.dest.weight}`;
    case 'del-dest':
      return `-d ${service(op.service)} -r ${endpoint(op.dest.addr, op.dest.port)}`;
    case 'start-daemon':
      return `--start-daemon ${op.daemon.state} --mcast-interface ${op.daemon.interface} --syncid ${op.daemon.syncId}`;
    case 'stop-daemon':
      return `--stop-daemon ${op.state}`;
  }
}

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function service(id: ServiceId): string {
  if (id.kind === 'fwmark') return `-f ${id.fwmark}${id.af === 'inet6' ? ' -6' : ''}`;
  const flag = { tcp: '-t', udp: '-u', sctp: '--sctp-service' }[id.protocol];
  return `${flag} ${endpoint(id.addr, id.port)}`;
}

function settings(s: ServiceSettings): string {
  const parts = [` -s ${s.scheduler}`];
  if (s.schedulerFlags.length > 0) parts.push(` -b flag-${s.schedulerFlags.join(',flag-')}`);
  if (s.persistence) parts.push(` -p ${s.persistence.timeout}`);
  if (s.onePacket) parts.push(' -o');
  if (s.pe) parts.push(` --pe ${s.pe}`);
  return parts.join('');
}
