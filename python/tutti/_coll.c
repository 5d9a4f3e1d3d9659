/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Collectives on buffer-protocol objects.  Every call has a blocking form,
 * which releases the GIL while it runs and returns its output object, and
 * a nonblocking one (i<name>), which returns a tutti.Request owning the
 * buffers.  The datatype comes from the buffers' format unless dtype= is
 * given; counts come from the buffers' sizes, checked against each other
 * before anything moves (tutti itself never sees a buffer's length).
 */
#include "_core.h"

#include <stdint.h>
#include <string.h>

typedef struct {
    tpy_bufs_t bufs;
    tutti_datatype_t dt;
    const void *s;
    void *r;
    size_t scount, rcount; /* elements of the send and receive buffers */
    PyObject *out;         /* returned by the blocking form (borrowed) */
} tpy_args_t;

static int tpy_fail(tpy_args_t *a)
{
    tpy_bufs_release(&a->bufs);
    return -1;
}

enum { TPY_RECV_NEEDED, TPY_RECV_OR_INPLACE, TPY_SEND_ONLY };

/* send (read) and recv (written); with TPY_RECV_OR_INPLACE a recv of None
 * means in place (send written); TPY_SEND_ONLY reads send alone (reduce
 * off the root). */
static int tpy_args(PyObject *send, PyObject *recv, PyObject *dtype, int mode, tpy_args_t *a)
{
    memset(a, 0, sizeof(*a));
    int inplace = mode != TPY_SEND_ONLY && (recv == NULL || recv == Py_None);
    if (inplace && mode == TPY_RECV_NEEDED) {
        PyErr_SetString(PyExc_TypeError, "this call needs a receive buffer");
        return -1;
    }
    if (tpy_buf_get(send, inplace, &a->bufs.view[0], inplace ? "the buffer (in place)" : "sendbuf") != 0) return -1;
    a->bufs.n = 1;
    if (tpy_dtype(dtype, &a->bufs.view[0], "sendbuf", &a->dt) != 0) return tpy_fail(a);
    if (tpy_count(&a->bufs.view[0], a->dt, "sendbuf", &a->scount) != 0) return tpy_fail(a);
    a->s = a->bufs.view[0].buf;
    a->out = send;
    if (mode == TPY_SEND_ONLY) {
        a->out = Py_None;
        return 0;
    }
    if (inplace) {
        a->r = a->bufs.view[0].buf;
        a->rcount = a->scount;
        return 0;
    }
    if (tpy_buf_get(recv, 1, &a->bufs.view[1], "recvbuf") != 0) return tpy_fail(a);
    a->bufs.n = 2;
    tutti_datatype_t rdt;
    if (dtype == NULL || dtype == Py_None) {
        if (tpy_dtype(NULL, &a->bufs.view[1], "recvbuf", &rdt) != 0) return tpy_fail(a);
        if (rdt != a->dt) {
            PyErr_Format(PyExc_TypeError, "sendbuf holds %s but recvbuf %s", tutti_datatype_name(a->dt),
                         tutti_datatype_name(rdt));
            return tpy_fail(a);
        }
    }
    if (tpy_count(&a->bufs.view[1], a->dt, "recvbuf", &a->rcount) != 0) return tpy_fail(a);
    a->r = a->bufs.view[1].buf;
    a->out = recv;
    return 0;
}

static int tpy_op(int op, tutti_datatype_t dt, const Py_buffer *v)
{
    if (op < 0 || op >= TUTTI_NUM_OPS) {
        PyErr_Format(PyExc_ValueError, "op %d is not a tutti.Op", op);
        return -1;
    }
    int boolean = v->format && (strcmp(v->format, "?") == 0 || strcmp(v->format, "=?") == 0);
    if (boolean && (op == TUTTI_SUM || op == TUTTI_AVG)) {
        PyErr_SetString(PyExc_TypeError, "a bool buffer cannot be summed or averaged (the result would not be 0/1): "
                                         "use Op.MAX (any) or Op.MIN (all)");
        return -1;
    }
    return 0;
}

/* The end of every collective: the blocking form returns its output, the
 * nonblocking one a Request that takes the buffers. */
static PyObject *tpy_done(tpy_comm_t *self, tutti_comm_t c, tutti_result_t r, tutti_request_t req, int nb,
                          tpy_args_t *a)
{
    if (r != TUTTI_SUCCESS) {
        tpy_bufs_release(&a->bufs);
        return tpy_raise(r, c);
    }
    if (nb) return tpy_request_new(self, req, &a->bufs);
    PyObject *out = a->out ? a->out : Py_None;
    Py_INCREF(out);
    tpy_bufs_release(&a->bufs);
    return out;
}

#define TPY_RUN(nb, req, blocking_call, nonblocking_call)                      \
    do {                                                                       \
        if (nb) {                                                              \
            r = nonblocking_call;                                              \
        } else {                                                               \
            Py_BEGIN_ALLOW_THREADS r = blocking_call;                          \
            Py_END_ALLOW_THREADS                                               \
        }                                                                      \
    } while (0)

static PyObject *tpy_allreduce_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int nb)
{
    static char *kwlist[] = {"sendbuf", "recvbuf", "op", "dtype", NULL};
    PyObject *send, *recv = NULL, *dtype = NULL;
    int op = TUTTI_SUM;
    tpy_args_t a;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OiO:allreduce", kwlist, &send, &recv, &op, &dtype)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c || tpy_args(send, recv, dtype, TPY_RECV_OR_INPLACE, &a) != 0) return NULL;
    if (tpy_op(op, a.dt, &a.bufs.view[0]) != 0) return tpy_fail(&a), NULL;
    if (a.rcount != a.scount) {
        tpy_fail(&a);
        return PyErr_Format(PyExc_ValueError, "allreduce: sendbuf has %zu elements, recvbuf %zu", a.scount, a.rcount);
    }
    tutti_request_t req = NULL;
    tutti_result_t r;
    TPY_RUN(nb, req, tutti_allreduce(a.s, a.r, a.scount, a.dt, (tutti_op_t)op, c),
            tutti_iallreduce(a.s, a.r, a.scount, a.dt, (tutti_op_t)op, c, &req));
    return tpy_done(self, c, r, req, nb, &a);
}

static PyObject *tpy_broadcast_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int nb)
{
    static char *kwlist[] = {"buf", "root", "dtype", NULL};
    PyObject *buf, *dtype = NULL;
    int root = 0;
    tpy_args_t a;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|iO:broadcast", kwlist, &buf, &root, &dtype)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c || tpy_args(buf, NULL, dtype, TPY_RECV_OR_INPLACE, &a) != 0) return NULL;
    tutti_request_t req = NULL;
    tutti_result_t r;
    TPY_RUN(nb, req, tutti_broadcast(a.r, a.r, a.scount, a.dt, root, c),
            tutti_ibroadcast(a.r, a.r, a.scount, a.dt, root, c, &req));
    return tpy_done(self, c, r, req, nb, &a);
}

static PyObject *tpy_reduce_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int nb)
{
    static char *kwlist[] = {"sendbuf", "recvbuf", "op", "root", "dtype", NULL};
    PyObject *send, *recv = NULL, *dtype = NULL;
    int op = TUTTI_SUM, root = 0;
    tpy_args_t a;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OiiO:reduce", kwlist, &send, &recv, &op, &root, &dtype)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    /* recvbuf matters at the root only; elsewhere it may be None */
    int at_root = root == self->rank;
    if (tpy_args(send, recv, dtype, at_root ? TPY_RECV_OR_INPLACE : TPY_SEND_ONLY, &a) != 0) return NULL;
    if (tpy_op(op, a.dt, &a.bufs.view[0]) != 0) return tpy_fail(&a), NULL;
    if (at_root && a.rcount != a.scount) {
        tpy_fail(&a);
        return PyErr_Format(PyExc_ValueError, "reduce: sendbuf has %zu elements, recvbuf %zu", a.scount, a.rcount);
    }
    tutti_request_t req = NULL;
    tutti_result_t r;
    TPY_RUN(nb, req, tutti_reduce(a.s, a.r, a.scount, a.dt, (tutti_op_t)op, root, c),
            tutti_ireduce(a.s, a.r, a.scount, a.dt, (tutti_op_t)op, root, c, &req));
    return tpy_done(self, c, r, req, nb, &a);
}

static PyObject *tpy_allgather_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int nb)
{
    static char *kwlist[] = {"sendbuf", "recvbuf", "dtype", NULL};
    PyObject *send, *recv, *dtype = NULL;
    tpy_args_t a;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:allgather", kwlist, &send, &recv, &dtype)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c || tpy_args(send, recv, dtype, TPY_RECV_NEEDED, &a) != 0) return NULL;
    if (a.rcount != a.scount * (size_t)self->size) {
        tpy_fail(&a);
        return PyErr_Format(PyExc_ValueError, "allgather: recvbuf must hold %d x %zu elements, not %zu", self->size,
                            a.scount, a.rcount);
    }
    tutti_request_t req = NULL;
    tutti_result_t r;
    TPY_RUN(nb, req, tutti_allgather(a.s, a.r, a.scount, a.dt, c), tutti_iallgather(a.s, a.r, a.scount, a.dt, c, &req));
    return tpy_done(self, c, r, req, nb, &a);
}

static PyObject *tpy_reduce_scatter_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int nb)
{
    static char *kwlist[] = {"sendbuf", "recvbuf", "op", "dtype", NULL};
    PyObject *send, *recv, *dtype = NULL;
    int op = TUTTI_SUM;
    tpy_args_t a;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|iO:reduce_scatter", kwlist, &send, &recv, &op, &dtype)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c || tpy_args(send, recv, dtype, TPY_RECV_NEEDED, &a) != 0) return NULL;
    if (tpy_op(op, a.dt, &a.bufs.view[0]) != 0) return tpy_fail(&a), NULL;
    if (a.scount != a.rcount * (size_t)self->size) {
        tpy_fail(&a);
        return PyErr_Format(PyExc_ValueError, "reduce_scatter: sendbuf must hold %d x %zu elements, not %zu",
                            self->size, a.rcount, a.scount);
    }
    tutti_request_t req = NULL;
    tutti_result_t r;
    TPY_RUN(nb, req, tutti_reduce_scatter(a.s, a.r, a.rcount, a.dt, (tutti_op_t)op, c),
            tutti_ireduce_scatter(a.s, a.r, a.rcount, a.dt, (tutti_op_t)op, c, &req));
    return tpy_done(self, c, r, req, nb, &a);
}

static PyObject *tpy_alltoall_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int nb)
{
    static char *kwlist[] = {"sendbuf", "recvbuf", "dtype", NULL};
    PyObject *send, *recv = NULL, *dtype = NULL;
    tpy_args_t a;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OO:alltoall", kwlist, &send, &recv, &dtype)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c || tpy_args(send, recv, dtype, TPY_RECV_OR_INPLACE, &a) != 0) return NULL;
    if (a.rcount != a.scount || a.scount % (size_t)self->size != 0) {
        tpy_fail(&a);
        return PyErr_Format(PyExc_ValueError,
                            "alltoall: both buffers must hold %d equal blocks (sendbuf %zu elements, recvbuf %zu)",
                            self->size, a.scount, a.rcount);
    }
    size_t n = a.scount / (size_t)self->size;
    tutti_request_t req = NULL;
    tutti_result_t r;
    TPY_RUN(nb, req, tutti_alltoall(a.s, a.r, n, a.dt, c), tutti_ialltoall(a.s, a.r, n, a.dt, c, &req));
    return tpy_done(self, c, r, req, nb, &a);
}

/* `size` non-negative integers from a sequence (counts or displacements,
 * `kind`, of the `what` side) into out. */
static int tpy_sizes(PyObject *obj, int size, const char *what, const char *kind, size_t *out)
{
    PyObject *seq = PySequence_Fast(obj, "counts and displacements must be sequences of integers");
    if (!seq) return -1;
    int rc = 0;
    if (PySequence_Fast_GET_SIZE(seq) != size) {
        PyErr_Format(PyExc_ValueError, "alltoallv: %s %s has %zd entries, not one per rank (%d)", what, kind,
                     PySequence_Fast_GET_SIZE(seq), size);
        rc = -1;
    }
    for (int q = 0; q < size && rc == 0; q++) {
        long long v = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, q));
        if (v < 0) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "alltoallv: %s %s entry %d is negative (%lld)", what, kind, q, v);
            rc = -1;
        } else {
            out[q] = (size_t)v;
        }
    }
    Py_DECREF(seq);
    return rc;
}

/* A count per rank and its displacement (None: the prefix sums of the
 * counts, packed); every block must lie inside a buffer of `total`
 * elements. */
static int tpy_layout(PyObject *counts, PyObject *displs, int size, size_t total, const char *what, size_t *c,
                      size_t *d)
{
    if (tpy_sizes(counts, size, what, "counts", c) != 0) return -1;
    if (displs == NULL || displs == Py_None) {
        size_t at = 0;
        for (int q = 0; q < size; q++) {
            d[q] = at;
            at += c[q];
        }
    } else if (tpy_sizes(displs, size, what, "displacements", d) != 0) {
        return -1;
    }
    for (int q = 0; q < size; q++)
        if (d[q] > total || c[q] > total - d[q]) {
            PyErr_Format(PyExc_ValueError, "alltoallv: %s block %d (%zu elements at %zu) lies outside the buffer of %zu",
                         what, q, c[q], d[q], total);
            return -1;
        }
    return 0;
}

static PyObject *tpy_alltoallv_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int nb)
{
    static char *kwlist[] = {"sendbuf", "sendcounts", "recvbuf", "recvcounts", "sdispls", "rdispls", "dtype", NULL};
    PyObject *send, *scounts, *recv, *rcounts, *sdispls = NULL, *rdispls = NULL, *dtype = NULL;
    tpy_args_t a;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO|OOO:alltoallv", kwlist, &send, &scounts, &recv, &rcounts,
                                     &sdispls, &rdispls, &dtype))
        return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    int inplace = recv == send;
    if (tpy_args(send, inplace ? NULL : recv, dtype, TPY_RECV_OR_INPLACE, &a) != 0) return NULL;
    int p = self->size;
    size_t *lay = PyMem_Calloc(4 * (size_t)p, sizeof(size_t));
    if (!lay) return tpy_fail(&a), PyErr_NoMemory();
    size_t *sc = lay, *sd = lay + p, *rc = lay + 2 * p, *rd = lay + 3 * p;
    if (tpy_layout(scounts, sdispls, p, a.scount, "send", sc, sd) != 0 ||
        tpy_layout(rcounts, rdispls, p, a.rcount, "receive", rc, rd) != 0) {
        PyMem_Free(lay);
        return tpy_fail(&a), NULL;
    }
    tutti_request_t req = NULL;
    tutti_result_t r;
    TPY_RUN(nb, req, tutti_alltoallv(a.s, sc, sd, a.r, rc, rd, a.dt, c),
            tutti_ialltoallv(a.s, sc, sd, a.r, rc, rd, a.dt, c, &req));
    PyMem_Free(lay); /* (read during the call only) */
    return tpy_done(self, c, r, req, nb, &a);
}

static PyObject *tpy_barrier_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int nb)
{
    static char *kwlist[] = {NULL};
    tpy_args_t a;
    if (!PyArg_ParseTupleAndKeywords(args, kw, ":barrier", kwlist)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    memset(&a, 0, sizeof(a));
    tutti_request_t req = NULL;
    tutti_result_t r;
    TPY_RUN(nb, req, tutti_barrier(c), tutti_ibarrier(c, &req));
    return tpy_done(self, c, r, req, nb, &a);
}

#define TPY_PAIR(name)                                                         \
    static PyObject *tpy_##name(tpy_comm_t *self, PyObject *args, PyObject *kw) \
    {                                                                          \
        return tpy_##name##_x(self, args, kw, 0);                              \
    }                                                                          \
    static PyObject *tpy_i##name(tpy_comm_t *self, PyObject *args, PyObject *kw) \
    {                                                                          \
        return tpy_##name##_x(self, args, kw, 1);                              \
    }
TPY_PAIR(allreduce)
TPY_PAIR(broadcast)
TPY_PAIR(reduce)
TPY_PAIR(allgather)
TPY_PAIR(reduce_scatter)
TPY_PAIR(alltoall)
TPY_PAIR(alltoallv)
TPY_PAIR(barrier)

#define TPY_M(name, doc)                                                       \
    {#name, (PyCFunction)(void (*)(void))tpy_##name, METH_VARARGS | METH_KEYWORDS, doc},                  \
        {"i" #name, (PyCFunction)(void (*)(void))tpy_i##name, METH_VARARGS | METH_KEYWORDS,               \
         "Nonblocking " #name ": the same arguments; returns a tutti.Request."}

PyMethodDef tpy_coll_methods[] = {
    TPY_M(allreduce, "allreduce(sendbuf, recvbuf=None, op=Op.SUM, dtype=None): recvbuf = op over ranks of sendbuf "
                     "(None: in place); returns the output."),
    TPY_M(broadcast, "broadcast(buf, root=0, dtype=None): buf = root's buf, in place on every rank."),
    TPY_M(reduce, "reduce(sendbuf, recvbuf=None, op=Op.SUM, root=0, dtype=None): recvbuf at root = op over ranks "
                  "(None at root: in place; ignored elsewhere)."),
    TPY_M(allgather, "allgather(sendbuf, recvbuf, dtype=None): recvbuf (size x len(sendbuf)) = every rank's sendbuf "
                     "in rank order."),
    TPY_M(reduce_scatter, "reduce_scatter(sendbuf, recvbuf, op=Op.SUM, dtype=None): rank r's recvbuf = op over "
                          "ranks of block r of sendbuf (size blocks)."),
    TPY_M(alltoall, "alltoall(sendbuf, recvbuf=None, dtype=None): block q of sendbuf to rank q, block r of recvbuf "
                    "from rank r (None: in place)."),
    TPY_M(alltoallv, "alltoallv(sendbuf, sendcounts, recvbuf, recvcounts, sdispls=None, rdispls=None, dtype=None): "
                     "a count (and displacement, elements; None: packed) per rank."),
    TPY_M(barrier, "barrier(): returns when every rank has entered it."),
    {NULL, NULL, 0, NULL}};
