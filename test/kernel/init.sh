#!/bin/busybox sh
# PID 1 of the kernel VM. Mounts the host's root read-only over 9p, gives it
# writable tmpfs where programs expect to write, mounts the job exchange
# directory at the same path it has on the host, and hands over to the agent.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

while read -r module; do
  insmod "/modules/$module" || echo "init: insmod $module failed"
done < /modules/load-order

for arg in $(cat /proc/cmdline); do
  case "$arg" in
    lvsd.exchange=*) exchange="${arg#lvsd.exchange=}" ;;
    lvsd.agent=*) agent="${arg#lvsd.agent=}" ;;
    lvsd.checkout=*) checkout="${arg#lvsd.checkout=}" ;;
  esac
done

root=/newroot
mkdir -p "$root"
# The host root does not change while the VM runs, so the guest may cache it.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot "$root" || {
  echo "init: cannot mount the host root over 9p"; poweroff -f; }
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t devtmpfs devtmpfs "$root/dev"
mount -t devpts devpts "$root/dev/pts" 2>/dev/null
for dir in /tmp /run /var/tmp /var/log /var/lib /root; do
  mount -t tmpfs -o mode=1777 tmpfs "$root$dir"
done
# The checkout may live below one of those tmpfs (a clone in /tmp): mount it at its own path.
mkdir -p "$root$checkout"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 checkout "$root$checkout" || {
  echo "init: cannot mount the checkout"; poweroff -f; }
mkdir -p "$root$exchange"
# The exchange directory is written by both sides while the VM runs: no cache.
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 exchange "$root$exchange" || {
  echo "init: cannot mount the exchange directory"; poweroff -f; }

chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  /usr/bin/node "$agent" "$exchange" > "$root$exchange/agent.log" 2>&1
echo "init: agent exited with $?"
poweroff -f
