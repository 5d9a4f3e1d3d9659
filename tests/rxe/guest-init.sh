#!/bin/busybox sh
# SPDX-License-Identifier: BSD-3-Clause
#
# /init of tutti's soft-RoCE test VM (tests/rxe/vm.sh builds the initramfs).
# Runs as PID 1 under busybox:
#   1. loads the modules (virtio 9p, rdma_rxe, ib_uverbs, dummy)
#   2. mounts the host's / read-only at /host, the read-write shares listed
#      in /ctl/shares at their host paths inside it, and fresh tmpfs for
#      /tmp, /run, /var/tmp and /dev/shm (Open MPI's shared memory)
#   3. brings up lo and dummy0 (10.99.0.1/24) and creates rxe0 on dummy0
#   4. runs /ctl/cmd with bash, chrooted into /host, memlock unlimited
#   5. writes its exit status to /ctl/status and powers off
# Anything unexpected is reported on the console as "guest-init: ..."; when
# the command cannot run, no status is written and vm.sh reports a VM failure.
/bin/busybox --install -s /bin
export PATH=/sbin:/bin
say() { echo "guest-init: $*"; }
halt() {
    stty -F /dev/console -onlcr 2>/dev/null   # drains the console (TCSADRAIN)
    echo 0 >/proc/sys/kernel/printk            # no "reboot: Power down"
    sync
    poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev      # device nodes, /dev/infiniband/* included

for m in virtio_pci 9pnet_virtio 9p crc32_generic rdma_rxe ib_uverbs rdma_ucm ib_umad; do
    modprobe "$m" || say "modprobe $m failed"
done
# Debian's dummy module makes dummy0 itself (numdummies, default 1)
modprobe dummy numdummies=1 || say "modprobe dummy failed"

p9=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$p9,cache=none" ctl /ctl || { say "no control share"; halt; }
root=/host
mount -t 9p -o "$p9,ro,cache=loose" hostroot "$root" || { say "cannot mount the host's /"; halt; }
for d in proc sys dev; do mount --bind "/$d" "$root/$d"; done
for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$root/$d"; done
mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/run/tutti-rxe"
mount -t devpts devpts "$root/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
mount --bind /ctl "$root/run/tutti-rxe"
# the read-write shares, each at its host path ("TAG PATH" lines, parents
# before the directories inside them)
while read -r tag path; do
    mkdir -p "$root$path" 2>/dev/null   # under /tmp, say (now a tmpfs)
    mount -t 9p -o "$p9,cache=mmap" "$tag" "$root$path" || say "cannot mount $path read-write"
done </ctl/shares

# a host name that resolves (the host's /etc is read-only: bind a copy)
hostname tutti-rxe
printf '127.0.0.1\tlocalhost\n10.99.0.1\ttutti-rxe\n::1\tlocalhost ip6-localhost\n' >/run/hosts
mount --bind /run/hosts "$root/etc/hosts" || say "cannot set /etc/hosts"

# networking: lo for mpirun's out-of-band TCP, dummy0 under rxe0.  The IPv4
# address gives rxe0 an IPv4-mapped RoCE v2 GID (index 1); index 0 is the
# IPv6 link-local one.
ip link set lo up
ip link set dummy0 up
ip addr add 10.99.0.1/24 dev dummy0
# `rdma` is the host's (iproute2), run inside the chroot
chroot "$root" rdma link add rxe0 type rxe netdev dummy0 || say "cannot create rxe0"
[ -e /dev/infiniband/uverbs0 ] || say "no /dev/infiniband/uverbs0"

stty -F /dev/console -onlcr 2>/dev/null   # no CR added to the output
cut -d' ' -f1 /proc/uptime >/ctl/ready     # vm.sh times the boot by its mtime
ulimit -l unlimited                         # memlock for ibv_reg_mr
ulimit -n 65536
chroot "$root" /usr/bin/env -i HOME=/tmp TERM=dumb LANG=C.UTF-8 HOSTNAME=tutti-rxe \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash /run/tutti-rxe/cmd </dev/null 2>&1
echo $? >/ctl/status
halt
