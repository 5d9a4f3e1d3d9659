/* SPDX-License-Identifier: BSD-3-Clause */
#include "patterns/patterns.h"

int tutti_pattern_binomial(int r, int p, int root, int *parent, int *children)
{
    int vr = tutti_pattern_mod(r - root, p);
    int n = 0;
    int low; /* lowest set bit of vr; for the root, the first power of two >= p */
    if (vr == 0) {
        *parent = -1;
        low = 1;
        while (low < p) low <<= 1;
    } else {
        low = vr & -vr;
        *parent = (vr - low + root) % p;
    }
    for (int b = low >> 1; b >= 1; b >>= 1) {
        if (vr + b < p) children[n++] = (vr + b + root) % p;
    }
    return n;
}

int tutti_pattern_btree(int pos, int p, int *parent, int children[2])
{
    int n = 0;
    if (p <= 1) {
        *parent = -1;
        return 0;
    }
    if (pos == 0) {
        int h = 1;
        while (h * 2 < p) h *= 2; /* largest power of two < p */
        *parent = -1;
        children[n++] = h;
        return n;
    }
    int b = pos & -pos;
    int up = (pos ^ b) | (b << 1);
    *parent = up < p ? up : (pos ^ b);
    if (b > 1) {
        children[n++] = pos - b / 2;
        for (int h = b / 2; h >= 1; h >>= 1) {
            if (pos + h < p) {
                children[n++] = pos + h;
                break;
            }
        }
    }
    return n;
}

int tutti_pattern_dbtree(int t, int r, int p, int *parent, int children[2])
{
    int pos = r;
    if (t == 1) pos = (p % 2 == 0) ? p - 1 - r : tutti_pattern_mod(r - 1, p);
    int n = tutti_pattern_btree(pos, p, parent, children);
    if (t == 1) {
        /* back from positions to ranks */
        int inv_mirror = (p % 2 == 0);
        if (*parent >= 0) *parent = inv_mirror ? p - 1 - *parent : (*parent + 1) % p;
        for (int k = 0; k < n; k++) children[k] = inv_mirror ? p - 1 - children[k] : (children[k] + 1) % p;
    }
    return n;
}
