/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Point-to-point: send / recv (blocking, GIL released), isend / irecv
 * (Requests), and groups.  Inside a group (group_start .. group_end) send
 * and recv only record, and the library reads and writes their buffers at
 * group_end: the communicator holds the buffers until then (igroup_end
 * hands them to its Request).
 */
#include "_core.h"

void tpy_group_release(tpy_comm_t *self)
{
    for (Py_ssize_t k = 0; k < self->group_n; k++) PyBuffer_Release(&self->group_bufs[k]);
    self->group_n = 0;
    self->group_open = 0;
}

static int tpy_group_keep(tpy_comm_t *self, Py_buffer *v)
{
    if (self->group_n == self->group_cap) {
        Py_ssize_t cap = self->group_cap ? 2 * self->group_cap : 8;
        Py_buffer *nb = PyMem_Realloc(self->group_bufs, (size_t)cap * sizeof(*nb));
        if (!nb) {
            PyErr_NoMemory();
            return -1;
        }
        self->group_bufs = nb;
        self->group_cap = cap;
    }
    self->group_bufs[self->group_n++] = *v;
    return 0;
}

static PyObject *tpy_p2p_x(tpy_comm_t *self, PyObject *args, PyObject *kw, int recv, int nb)
{
    static char *kwlist[] = {"buf", "peer", "dtype", NULL};
    PyObject *obj, *dtype = NULL;
    int peer;
    if (!PyArg_ParseTupleAndKeywords(args, kw, recv ? "Oi|O:recv" : "Oi|O:send", kwlist, &obj, &peer, &dtype))
        return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    tpy_bufs_t b = {.n = 0};
    tutti_datatype_t dt;
    size_t count;
    if (tpy_buf_get(obj, recv, &b.view[0], recv ? "the receive buffer" : "the send buffer") != 0) return NULL;
    b.n = 1;
    if (tpy_dtype(dtype, &b.view[0], "buf", &dt) != 0 || tpy_count(&b.view[0], dt, "buf", &count) != 0) {
        tpy_bufs_release(&b);
        return NULL;
    }
    if (nb && self->group_open) {
        tpy_bufs_release(&b);
        return tpy_raise_detail(TUTTI_ERR_INVALID_USAGE, "isend / irecv inside a group: use send / recv there");
    }
    tutti_result_t r;
    tutti_request_t req = NULL;
    void *p = b.view[0].buf;
    if (nb) {
        r = recv ? tutti_irecv(p, count, dt, peer, c, &req) : tutti_isend(p, count, dt, peer, c, &req);
    } else if (self->group_open) {
        /* recorded only: the buffer stays held until group_end */
        r = recv ? tutti_recv(p, count, dt, peer, c) : tutti_send(p, count, dt, peer, c);
        if (tpy_group_keep(self, &b.view[0]) != 0) {
            tpy_bufs_release(&b);
            return NULL;
        }
        b.n = 0;
    } else {
        Py_BEGIN_ALLOW_THREADS
        r = recv ? tutti_recv(p, count, dt, peer, c) : tutti_send(p, count, dt, peer, c);
        Py_END_ALLOW_THREADS
    }
    if (r != TUTTI_SUCCESS) {
        tpy_bufs_release(&b);
        return tpy_raise(r, c);
    }
    if (nb) return tpy_request_new(self, req, &b);
    tpy_bufs_release(&b);
    Py_INCREF(obj);
    return obj;
}

static PyObject *tpy_send(tpy_comm_t *self, PyObject *args, PyObject *kw) { return tpy_p2p_x(self, args, kw, 0, 0); }
static PyObject *tpy_recv(tpy_comm_t *self, PyObject *args, PyObject *kw) { return tpy_p2p_x(self, args, kw, 1, 0); }
static PyObject *tpy_isend(tpy_comm_t *self, PyObject *args, PyObject *kw) { return tpy_p2p_x(self, args, kw, 0, 1); }
static PyObject *tpy_irecv(tpy_comm_t *self, PyObject *args, PyObject *kw) { return tpy_p2p_x(self, args, kw, 1, 1); }

static PyObject *tpy_group_start(tpy_comm_t *self, PyObject *noargs)
{
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    tutti_result_t r = tutti_group_start(c);
    if (r != TUTTI_SUCCESS) return tpy_raise(r, c);
    self->group_open = 1;
    Py_RETURN_NONE;
}

static PyObject *tpy_group_end_x(tpy_comm_t *self, int nb)
{
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    if (!self->group_open) return tpy_raise_detail(TUTTI_ERR_INVALID_USAGE, "group_end without group_start");
    tutti_result_t r;
    tutti_request_t req = NULL;
    if (nb) {
        r = tutti_igroup_end(c, &req);
    } else {
        Py_BEGIN_ALLOW_THREADS
        r = tutti_group_end(c);
        Py_END_ALLOW_THREADS
    }
    if (nb && r == TUTTI_SUCCESS) {
        /* the buffers go with the request */
        Py_buffer *gb = self->group_bufs;
        Py_ssize_t n = self->group_n;
        self->group_bufs = NULL;
        self->group_n = self->group_cap = 0;
        self->group_open = 0;
        return tpy_request_new_group(self, req, gb, n);
    }
    tpy_group_release(self);
    if (r != TUTTI_SUCCESS) return tpy_raise(r, c);
    Py_RETURN_NONE;
}

static PyObject *tpy_group_end(tpy_comm_t *self, PyObject *noargs) { return tpy_group_end_x(self, 0); }
static PyObject *tpy_igroup_end(tpy_comm_t *self, PyObject *noargs) { return tpy_group_end_x(self, 1); }

PyMethodDef tpy_p2p_methods[] = {
    {"send", (PyCFunction)(void (*)(void))tpy_send, METH_VARARGS | METH_KEYWORDS,
     "send(buf, peer, dtype=None): sends buf to rank peer (inside a group: recorded, run at group_end)."},
    {"recv", (PyCFunction)(void (*)(void))tpy_recv, METH_VARARGS | METH_KEYWORDS,
     "recv(buf, peer, dtype=None): receives into buf from rank peer (the sizes must match)."},
    {"isend", (PyCFunction)(void (*)(void))tpy_isend, METH_VARARGS | METH_KEYWORDS,
     "isend(buf, peer, dtype=None) -> Request."},
    {"irecv", (PyCFunction)(void (*)(void))tpy_irecv, METH_VARARGS | METH_KEYWORDS,
     "irecv(buf, peer, dtype=None) -> Request."},
    {"group_start", (PyCFunction)tpy_group_start, METH_NOARGS,
     "group_start(): later send / recv are recorded until group_end (or use `with comm.group():`)."},
    {"group_end", (PyCFunction)tpy_group_end, METH_NOARGS, "group_end(): runs the group's sends and receives."},
    {"igroup_end", (PyCFunction)tpy_igroup_end, METH_NOARGS, "igroup_end() -> Request: the same without waiting."},
    {NULL, NULL, 0, NULL}};
