import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./load-server.mjs', import.meta.url));

/**
 * Bash for a VM job: its own namespace is the director, a client (10.77.0.2) reaches the VIP
 * 10.77.0.100 through it, and three web servers 10.77.1.1-3:8080 sit in namespaces of their own
 * behind a bridge, so every request crosses IPVS NAT. Defines `id` and `ns NAME CMD...`; returns
 * once every server listens, so no check ever finds one missing. The job removes the namespaces
 * (`client-$id`, `rs1-$id` ...) at its end.
 */
export const NAT_LAB = `
id=$$
ns() { local n=$1; shift; ip netns exec "$n-$id" "$@"; }
sysctl -qw net.ipv4.ip_forward=1
ip link add br-rs type bridge; ip addr add 10.77.1.254/24 dev br-rs; ip link set br-rs up
ip netns add client-$id
ip link add to-client type veth peer name eth0 netns client-$id
ip addr add 10.77.0.1/24 dev to-client; ip addr add 10.77.0.100/32 dev to-client; ip link set to-client up
ns client ip link set lo up; ns client ip addr add 10.77.0.2/24 dev eth0; ns client ip link set eth0 up
ns client ip route add default via 10.77.0.1
for n in 1 2 3; do
  ip netns add rs$n-$id
  ip link add rs$n type veth peer name eth0 netns rs$n-$id
  ip link set rs$n master br-rs up
  ns rs$n ip link set lo up; ns rs$n ip addr add 10.77.1.$n/24 dev eth0; ns rs$n ip link set eth0 up
  ns rs$n ip route add default via 10.77.1.254
  ns rs$n node ${SERVER} 8080 &
done
for n in 1 2 3; do for _ in $(seq 300); do ns rs$n ss -Hltn | grep -q ':8080 ' && break; sleep 0.1; done; done
`;
