#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mkgpu.py: writes gpu8-nic4.xml from two-socket.xml (lstopo --input
"pack:2 numa:1 l3:1 core:8 pu:2" --of xml): under each package a host
bridge, behind it one PCIe switch with 4 GPUs (3D controllers, NVIDIA) and
2 InfiniBand NICs (Mellanox, with their OpenFabrics names mlx5_N): the
shape of an 8-GPU training node with a NIC pair per switch.

mkgpu.py SRC OUT PKGS: one NIC (no GPU) under each package listed in PKGS
(comma-separated logical indexes) of SRC, written to OUT.  Made so:
    four-socket-nic2.xml   mkgpu.py four-socket.xml four-socket-nic2.xml 1,2
a 4-socket box whose two NICs hang off sockets 1 and 2: a ring that walks
the sockets in order would enter and leave each node on sockets without a
NIC (patterns/order.c turns it so it does not)."""
import re
import sys

src = open(sys.argv[1] if len(sys.argv) > 1 else "two-socket.xml").read()
dst = sys.argv[2] if len(sys.argv) > 2 else "gpu8-nic4.xml"
nic_only = [int(x) for x in sys.argv[3].split(",")] if len(sys.argv) > 3 else None
gp = [10000]


def nxt():
    gp[0] += 1
    return gp[0]


def nic_tree(pkg):
    bus0 = 0x10 + 0x40 * pkg
    return ['<object type="Bridge" gp_index="%d" bridge_type="0-1" depth="0" bridge_pci="0000:[%02x-%02x]">'
            % (nxt(), bus0, bus0 + 0x3f),
            '  <object type="PCIDev" gp_index="%d" pci_busid="0000:%02x:00.0" '
            'pci_type="0207 [15b3:101b] [15b3:0007] 00" pci_link_speed="15.754000">' % (nxt(), bus0 + 1),
            '    <object type="OSDev" gp_index="%d" name="mlx5_%d" osdev_type="3"/>' % (nxt(), pkg),
            '  </object>',
            '</object>']


def io_tree(pkg):
    if nic_only is not None:
        return nic_tree(pkg) if pkg in nic_only else []
    bus0 = 0x10 + 0x40 * pkg
    lines = ['<object type="Bridge" gp_index="%d" bridge_type="0-1" depth="0" bridge_pci="0000:[%02x-%02x]">'
             % (nxt(), bus0, bus0 + 0x3f)]
    lines.append('  <object type="Bridge" gp_index="%d" bridge_type="1-1" depth="1" pci_busid="0000:%02x:00.0" '
                 'pci_type="0604 [10b5:8747] [0000:0000] ca" pci_link_speed="15.754000" bridge_pci="0000:[%02x-%02x]">'
                 % (nxt(), bus0, bus0 + 1, bus0 + 0x3f))
    for k in range(6):
        bus = bus0 + 1 + k
        if k < 4:
            lines.append('    <object type="PCIDev" gp_index="%d" pci_busid="0000:%02x:00.0" '
                         'pci_type="0302 [10de:20b0] [10de:1450] a1" pci_link_speed="15.754000"/>' % (nxt(), bus))
        else:
            nic = pkg * 2 + (k - 4)
            lines.append('    <object type="PCIDev" gp_index="%d" pci_busid="0000:%02x:00.0" '
                         'pci_type="0207 [15b3:101b] [15b3:0007] 00" pci_link_speed="15.754000">' % (nxt(), bus))
            lines.append('      <object type="OSDev" gp_index="%d" name="mlx5_%d" osdev_type="3"/>' % (nxt(), nic))
            lines.append('    </object>')
    lines.append('  </object>')
    lines.append('</object>')
    return lines


out = []
depth = 0
pkg = -1
pkg_depth = None
for line in src.splitlines():
    stripped = line.strip()
    if stripped.startswith('<object type="Package"'):
        pkg += 1
        pkg_depth = depth
    opens = stripped.startswith("<object") and not stripped.endswith("/>")
    closes = stripped.startswith("</object>")
    if closes:
        depth -= 1
        if pkg_depth is not None and depth == pkg_depth:
            indent = line[:len(line) - len(line.lstrip())] + "  "
            out += [indent + l for l in io_tree(pkg)]
            pkg_depth = None
    out.append(line)
    if opens:
        depth += 1
text = "\n".join(out) + "\n"
text = re.sub(r'<info name="ProcessName" value="[^"]*"/>\n', "", text)
open(dst, "w").write(text)
