/* SPDX-License-Identifier: BSD-3-Clause */
/* Writes valid seed inputs for fuzz_wire into DIR (run once; the corpus is
 * committed under tests/fuzz/corpus). */
#include "core/bootstrap.h"
#include "util/siphash.h"

#include <stdio.h>
#include <string.h>

static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void put(const char *dir, const char *name, uint8_t sel, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputc(sel, f);
    fwrite(p, 1, n, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    tutti_hello_t h;
    memset(&h, 0, sizeof(h));
    h.magic = TUTTI_HELLO_MAGIC;
    h.version = TUTTI_WIRE_VERSION;
    h.kind = TUTTI_HELLO_PEER;
    h.comm_id = 42;
    h.from = 3;
    h.to = 0;
    h.nranks = 8;
    h.addr.family = 2;
    h.addr.port = 0x1234;
    tutti_hello_sign(&h, secret);
    put(dir, "hello_peer", 1, &h, sizeof(h));
    h.kind = TUTTI_HELLO_ROOT;
    h.to = -1;
    put(dir, "hello_root", 1, &h, sizeof(h));
    tutti_frame_t f = {TUTTI_FRAME_MAGIC, TUTTI_WIRE_VERSION, TUTTI_FRAME_DATA, 7, 16};
    put(dir, "frame", 2, &f, sizeof(f));
    struct {
        uint8_t nranks_sel;
        tutti_root_table_t t;
        tutti_root_entry_t e[3];
    } tab;
    memset(&tab, 0, sizeof(tab));
    tab.nranks_sel = 7; /* nranks = 8 */
    tab.t.nranks = 8;
    tab.t.count = 3;
    for (int i = 0; i < 3; i++) {
        tab.e[i].rank = 7 - (1 << i);
        tab.e[i].addr.family = 2;
        tab.e[i].addr.port = 0x4321;
    }
    put(dir, "table", 4, &tab, sizeof(tab));
    tutti_id_info_t info;
    memset(&info, 0, sizeof(info));
    info.comm_id = 99;
    info.root.family = 2;
    info.root.port = 0x1111;
    tutti_unique_id_t id;
    tutti_id_encode(&info, &id);
    put(dir, "id", 5, &id, sizeof(id));
    const char *specs[] = {"ring", "allreduce:tree;broadcast:ring", "^tree", "allreduce:ring,rd;reduce:tree", "64K", "500ms"};
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof(name), "text%d", i);
        put(dir, name, 6, specs[i], strlen(specs[i]));
    }
    return 0;
}
