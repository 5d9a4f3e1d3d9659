#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# tests/rxe/vm.sh DIR CMD...
#
# Runs CMD inside a throw-away QEMU virtual machine that has a soft-RoCE
# RDMA device (rdma_rxe, "rxe0"), so that tutti's verbs code can be tested
# on machines without RDMA hardware.  See tests/rxe/README.md.
#
#   * guest kernel: a Debian linux-image package, downloaded with
#     `apt-get download` and unpacked (never installed on the host); its
#     uncompressed vmlinux is booted directly through the PVH entry point
#   * initramfs: busybox plus the few modules needed, /init = guest-init.sh
#   * guest userland: the host's own / shared read-only over 9p; the guest
#     chroots into it, so host-built binaries, mpirun and the libibverbs
#     providers run unchanged
#   * DIR (and every directory in TUTTI_RXE_SHARES, colon-separated) is
#     shared read-write at the same path; CMD runs in DIR as root
#   * network: no NIC; a dummy netdev (10.99.0.1/24) carries rxe0; lo is up
#
# CMD: one argument is a shell command line (run by bash); several arguments
# are one command, quoted as given.  Its stdout and stderr (merged) come out
# on our stdout.
#
# Exit status: CMD's status, or
#   124  the VM ran past the deadline (TUTTI_RXE_TIMEOUT)
#   125  the VM could not start or died before CMD finished
#    77  a VM cannot run on this machine (missing tools that cannot be
#        installed, no kernel package, not x86-64, ...): one line
#        "vm.sh: cannot run a VM here: REASON" on stderr, and REASON alone in
#        the file $TUTTI_RXE_REASON_FILE when that is set (so that a caller
#        can tell it from a CMD that itself exits 77)
#     2  usage error
#
# Environment (all optional):
#   TUTTI_RXE_TIMEOUT=600       deadline in seconds for everything (installs,
#                               kernel download, boot, CMD)
#   TUTTI_RXE_MEM=2048          guest memory, MiB
#   TUTTI_RXE_CPUS=2            guest vCPUs
#   TUTTI_RXE_ACCEL=auto        auto|tcg|kvm (auto: kvm only with real VT-x/AMD-V)
#   TUTTI_RXE_KERNEL=linux-image-amd64   Debian kernel package (or meta-package)
#   TUTTI_RXE_CACHE=/var/tmp/tutti-rxe   kernel + initramfs cache
#   TUTTI_RXE_QEMU=qemu-system-x86_64    QEMU binary; a given path is used as
#                               is (nothing installed), e.g. /nonexistent to
#                               test the skip path
#   TUTTI_RXE_NO_INSTALL=1      never run apt-get install (skip instead)
#   TUTTI_RXE_SHARES=DIR2:DIR3  more read-write shares (same path in the guest)
#   TUTTI_RXE_APPEND="..."      more kernel command line, e.g. "loglevel=7"
#   TUTTI_RXE_QEMU_OPTS="..."   more QEMU options (split on spaces)
set -u

me=vm.sh
say() { echo "$me: $*" >&2; }
cannot() {
    say "cannot run a VM here: $*"
    if [ -n "${TUTTI_RXE_REASON_FILE:-}" ]; then echo "$*" >"$TUTTI_RXE_REASON_FILE"; fi
    exit 77
}
vmfail() { say "$*"; exit 125; }

[ $# -ge 2 ] || { echo "usage: $0 DIR CMD..." >&2; exit 2; }
[ -d "$1" ] || { say "no such directory: $1"; exit 2; }
workdir=$(cd "$1" && pwd -P) || exit 2
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
timeout_s=${TUTTI_RXE_TIMEOUT:-600}
t_start=$(date +%s)
# seconds left before the deadline (at least 1, so that `timeout` accepts it)
left() {
    local l=$((t_start + timeout_s - $(date +%s)))
    [ "$l" -gt 0 ] || l=1
    echo "$l"
}
past_deadline() { [ $(($(date +%s) - t_start)) -ge "$timeout_s" ]; }

[ "$(uname -m)" = x86_64 ] || cannot "host is $(uname -m), the VM recipe is for x86-64"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    cannot "no apt-get/dpkg-deb (the guest kernel comes from a Debian package)"
for tool in timeout flock; do
    command -v $tool >/dev/null || cannot "no $tool on this machine"
done

# ---- 1. host packages ---------------------------------------------------------
# Only what is missing is installed.  The guest runs the host's own ibverbs
# library and providers (librxe), `rdma` from iproute2, and ibv_devinfo for
# diagnostics; busybox, cpio, kmod and xz-utils build the initramfs.
if [ "$(id -u)" = 0 ]; then as_root=; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; else as_root=none; fi
packages="busybox-static cpio kmod xz-utils iproute2 libibverbs1 ibverbs-providers ibverbs-utils"
qemu=${TUTTI_RXE_QEMU:-}
if [ -n "$qemu" ]; then
    # an explicit binary: used as is, nothing installed for it
    command -v "$qemu" >/dev/null 2>&1 || cannot "TUTTI_RXE_QEMU=$qemu is not an executable"
else
    qemu=qemu-system-x86_64
    packages="$packages qemu-system-x86"
fi
missing=
for p in $packages; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ "${TUTTI_RXE_NO_INSTALL:-0}" = 1 ] && cannot "missing packages:$missing (TUTTI_RXE_NO_INSTALL=1)"
    [ "$as_root" = none ] && cannot "missing packages:$missing, and not root (no sudo) to install them"
    say "installing$missing"
    apt_install() {
        # shellcheck disable=SC2086
        timeout -k 10 "$(left)" $as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
            -o DPkg::Lock::Timeout="$(left)" install --no-install-recommends $missing >&2
    }
    # shellcheck disable=SC2086
    apt_install || { timeout -k 10 "$(left)" $as_root apt-get -q -o DPkg::Lock::Timeout="$(left)" update >&2 && apt_install; } ||
        cannot "could not install$missing with apt-get"
fi
command -v "$qemu" >/dev/null 2>&1 || cannot "no $qemu"
[ -x /bin/busybox ] || cannot "no /bin/busybox (busybox-static)"

# ---- 2. guest kernel ------------------------------------------------------------
cache=${TUTTI_RXE_CACHE:-/var/tmp/tutti-rxe}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cannot "cache directory $cache is not writable"
exec 8>"$cache/.lock"
flock -w "$(left)" 8 || vmfail "timed out waiting for the cache lock $cache/.lock"
kname=${TUTTI_RXE_KERNEL:-linux-image-amd64}
# A meta-package (linux-image-amd64) is resolved once to a versioned package
# and pinned in $cache/$kname.pinned (delete that file to move on).
pin=$cache/$kname.pinned
if [ -s "$pin" ]; then
    kpkg=$(cat "$pin")
else
    resolve() {
        apt-cache depends "$kname" 2>/dev/null |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
    }
    kpkg=$(resolve)
    if [ -z "$kpkg" ] && ! apt-cache show "$kname" >/dev/null 2>&1; then
        # shellcheck disable=SC2086
        [ "$as_root" != none ] && timeout -k 10 "$(left)" $as_root apt-get -q update >&2
        kpkg=$(resolve)
    fi
    kpkg=${kpkg:-$kname}
fi
kdir=$cache/$kpkg
if [ ! -s "$kdir/vmlinux" ]; then
    say "downloading and unpacking $kpkg (once; cached in $kdir)"
    tmp=$cache/.unpack.$$
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$tmp" && timeout -k 10 "$(left)" apt-get -q -o APT::Sandbox::User=root download "$kpkg" >&2) ||
        { rm -rf "$tmp"; cannot "cannot download the kernel package $kpkg (apt-get download)"; }
    dpkg-deb -x "$tmp"/*.deb "$tmp/root" && rm -f "$tmp"/*.deb ||
        { rm -rf "$tmp"; vmfail "cannot unpack $kpkg"; }
    vmlinuz=$(ls "$tmp"/root/boot/vmlinuz-* 2>/dev/null | head -1)
    [ -f "$vmlinuz" ] || { rm -rf "$tmp"; cannot "no vmlinuz in $kpkg"; }
    # Cut the ELF vmlinux out of the bzImage (an xz stream inside): QEMU boots
    # it through its PVH note, which saves seconds of in-guest decompression
    # under TCG.  Falls back to the bzImage.
    off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$vmlinuz" | head -1 | cut -d: -f1)
    if [ -n "$off" ]; then tail -c +$((off + 1)) "$vmlinuz" | xz -dc >"$tmp/vmlinux" 2>/dev/null; fi
    [ "$(head -c 4 "$tmp/vmlinux" 2>/dev/null)" = $'\x7fELF' ] || cp "$vmlinuz" "$tmp/vmlinux"
    rm -rf "$kdir" && mv "$tmp" "$kdir" || vmfail "cannot fill $kdir"
fi
echo "$kpkg" >"$pin"
kver=$(ls "$kdir/root/lib/modules" | head -1)
[ -n "$kver" ] || vmfail "no modules in $kdir"
kmods=$kdir/root/lib/modules/$kver

# ---- 3. initramfs ------------------------------------------------------------------
# Rebuilt when guest-init.sh or this script is newer than it.
initrd=$kdir/tutti-initrd.cpio
if [ ! -s "$initrd" ] || [ "$here/guest-init.sh" -nt "$initrd" ] || [ "${BASH_SOURCE[0]}" -nt "$initrd" ]; then
    say "building the initramfs for $kver"
    ir=$(mktemp -d "$cache/.initrd.XXXXXX") || vmfail "mktemp failed"
    mkdir -p "$ir"/bin "$ir"/sbin "$ir"/proc "$ir"/sys "$ir"/dev "$ir"/host "$ir"/ctl "$ir"/run "$ir/lib/modules/$kver"
    cp /bin/busybox "$ir/bin/busybox" && ln -s /bin/busybox "$ir/sbin/modprobe"
    install -m 755 "$here/guest-init.sh" "$ir/init"
    depmod -b "$kdir/root" "$kver" || vmfail "depmod failed on $kdir"
    # the modules guest-init.sh loads, with everything they depend on
    wanted="virtio_pci 9pnet_virtio 9p crc32_generic rdma_rxe ib_uverbs rdma_ucm ib_umad dummy"
    for m in $wanted; do
        modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" { print $2 }'
    done | sort -u | while read -r ko; do
        rel=${ko#"$kmods"/}
        mkdir -p "$ir/lib/modules/$kver/$(dirname "$rel")"
        # busybox modprobe cannot read .ko.xz: store them uncompressed
        case $ko in
        *.xz) xz -dc "$ko" >"$ir/lib/modules/$kver/${rel%.xz}" ;;
        *) cp "$ko" "$ir/lib/modules/$kver/$rel" ;;
        esac
    done
    cp "$kmods"/modules.builtin* "$kmods"/modules.order "$ir/lib/modules/$kver/"
    depmod -b "$ir" "$kver" || vmfail "depmod failed on the initramfs"
    (cd "$ir" && find . | cpio -o -H newc --quiet) >"$initrd.new" && mv "$initrd.new" "$initrd" ||
        { rm -rf "$ir"; vmfail "cpio failed"; }
    rm -rf "$ir"
fi
exec 8>&-

# ---- 4. accelerator -------------------------------------------------------------------
# /dev/kvm may be PVM (kvm_pvm), which runs only PVM-aware guest kernels fast:
# a stock Debian kernel crawls there, so auto takes KVM only on real VT-x/AMD-V.
accel=${TUTTI_RXE_ACCEL:-auto}
if [ "$accel" = auto ]; then
    accel=tcg
    if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
        accel=kvm
    fi
fi
case $accel in
kvm) accel_opts="-accel kvm -cpu host" ;;
tcg) accel_opts="-accel tcg,thread=multi -cpu max" ;;
*) say "TUTTI_RXE_ACCEL must be auto, tcg or kvm"; exit 2 ;;
esac

# ---- 5. boot and run ----------------------------------------------------------------------
# The control share carries the command in, and the ready marker and exit
# status out (QEMU itself exits 0 whatever the guest did).
ctl=$(mktemp -d "${TMPDIR:-/tmp}/tutti-rxe.XXXXXX") || vmfail "mktemp failed"
qpid=
cleanup() {
    if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null; fi
    rm -rf "$ctl"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

# 9p option values: a ',' is written ',,'
qesc() { printf '%s' "${1//,/,,}"; }
share_opts=()
n=0
: >"$ctl/shares"
IFS=: read -r -a extra_shares <<<"${TUTTI_RXE_SHARES:-}"
for d in "$workdir" "${extra_shares[@]}"; do
    [ -n "$d" ] || continue
    [ -d "$d" ] || { say "no such directory to share: $d"; exit 2; }
    d=$(cd "$d" && pwd -P)
    case $d in *$'\n'*) say "cannot share a path with a newline: $d"; exit 2 ;; esac
    cut -d' ' -f2- "$ctl/shares" | grep -qxF "$d" && continue   # already shared
    printf 'rw%d %s\n' "$n" "$d" >>"$ctl/shares"
    share_opts+=(-virtfs "local,path=$(qesc "$d"),mount_tag=rw$n,security_model=none,multidevs=remap")
    n=$((n + 1))
done
# parents first: a share inside another is mounted after it
awk '{ print length($0), $0 }' "$ctl/shares" | sort -n | cut -d' ' -f2- >"$ctl/shares.sorted" &&
    mv "$ctl/shares.sorted" "$ctl/shares"
{
    printf 'cd %q || exit 125\n' "$workdir"
    if [ $# -eq 1 ]; then printf '%s\n' "$1"; else printf '%q ' "$@"; echo; fi
} >"$ctl/cmd"

past_deadline && { say "deadline ($timeout_s s) passed before the VM could start"; exit 124; }
t_boot=$(date +%s.%N)
# shellcheck disable=SC2086
timeout --foreground -k 10 "$(left)" "$qemu" $accel_opts \
    -smp "${TUTTI_RXE_CPUS:-2}" -m "${TUTTI_RXE_MEM:-2048}" \
    -nodefaults -no-user-config -display none -serial stdio -no-reboot \
    -kernel "$kdir/vmlinux" -initrd "$initrd" \
    -append "console=ttyS0 quiet panic=-1 ${TUTTI_RXE_APPEND:-}" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$(qesc "$ctl"),mount_tag=ctl,security_model=none" \
    "${share_opts[@]}" ${TUTTI_RXE_QEMU_OPTS:-} </dev/null &
qpid=$!
wait "$qpid"
qrc=$?
qpid=
t_end=$(date +%s.%N)

if [ -s "$ctl/status" ]; then
    rc=$(cat "$ctl/status")
    # the guest writes ready/status: their host mtimes time the boot and CMD
    t_ready=$(stat -c %.3Y "$ctl/ready" 2>/dev/null || echo "$t_boot")
    t_done=$(stat -c %.3Y "$ctl/status")
    say "$(awk -v b="$t_boot" -v r="$t_ready" -v d="$t_done" -v e="$t_end" -v a="$accel" -v rc="$rc" \
        'BEGIN { printf "%s: boot+rxe0 %.1f s, command %.1f s, total %.1f s, exit %s", a, r - b, d - r, e - b, rc }')"
    exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    say "timed out (TUTTI_RXE_TIMEOUT=$timeout_s s)"
    exit 124
fi
vmfail "the VM failed before the command finished (qemu exit $qrc)"
