/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tutti.Request: a nonblocking operation and the buffers it owns.  wait()
 * blocks (GIL released) until it completes, test() polls once; both
 * release the buffers once it is done and raise tutti.Error if it failed
 * (again on every later call: the result stays).  A Request dropped while
 * its operation runs waits for it first, so buffers are never released
 * while the library may still touch them.
 */
#include "_core.h"

#include <string.h>
#include <unistd.h>

PyObject *tpy_request_new(tpy_comm_t *comm, tutti_request_t req, tpy_bufs_t *bufs)
{
    tpy_request_t *self = PyObject_New(tpy_request_t, &tpy_request_type);
    if (!self) {
        /* the operation runs: finish it before the buffers go */
        Py_BEGIN_ALLOW_THREADS
        tutti_wait(req);
        Py_END_ALLOW_THREADS
        tpy_bufs_release(bufs);
        return NULL;
    }
    Py_INCREF(comm);
    self->comm = comm;
    self->req = req;
    self->done = 0;
    self->waiting = 0;
    self->prev = NULL;
    self->next = comm->pending;
    if (comm->pending) comm->pending->prev = self;
    comm->pending = self;
    self->result = TUTTI_SUCCESS;
    self->detail[0] = '\0';
    self->bufs = *bufs;
    bufs->n = 0;
    self->group_bufs = NULL;
    self->group_n = 0;
    return (PyObject *)self;
}

PyObject *tpy_request_new_group(tpy_comm_t *comm, tutti_request_t req, Py_buffer *gb, Py_ssize_t n)
{
    tpy_bufs_t none = {.n = 0};
    tpy_request_t *self = (tpy_request_t *)tpy_request_new(comm, req, &none);
    if (!self) {
        for (Py_ssize_t k = 0; k < n; k++) PyBuffer_Release(&gb[k]);
        PyMem_Free(gb);
        return NULL;
    }
    self->group_bufs = gb;
    self->group_n = n;
    return (PyObject *)self;
}

static void tpy_request_finish(tpy_request_t *self, tutti_result_t r)
{
    self->done = 1;
    self->result = r;
    if (self->prev) self->prev->next = self->next;
    else self->comm->pending = self->next;
    if (self->next) self->next->prev = self->prev;
    self->prev = self->next = NULL;
    if (r != TUTTI_SUCCESS) {
        /* the communicator's detail, while it is still there */
        const char *d = self->comm->comm ? tutti_comm_last_error(self->comm->comm) : tutti_comm_last_error(NULL);
        if (!d[0]) d = tutti_comm_last_error(NULL);
        snprintf(self->detail, sizeof(self->detail), "%s", d);
    }
    tpy_bufs_release(&self->bufs);
    for (Py_ssize_t k = 0; k < self->group_n; k++) PyBuffer_Release(&self->group_bufs[k]);
    PyMem_Free(self->group_bufs);
    self->group_bufs = NULL;
    self->group_n = 0;
}

static PyObject *tpy_request_outcome(tpy_request_t *self)
{
    if (self->result != TUTTI_SUCCESS) return tpy_raise_detail(self->result, self->detail);
    Py_RETURN_NONE;
}

/* Waits for the operation (GIL released); another thread already waiting
 * on the same Request: wait for it to see the end. */
static void tpy_request_block(tpy_request_t *self)
{
    while (!self->done && self->waiting) {
        Py_BEGIN_ALLOW_THREADS
        usleep(200);
        Py_END_ALLOW_THREADS
    }
    if (self->done) return;
    tutti_result_t r;
    tutti_request_t req = self->req;
    self->waiting = 1;
    Py_BEGIN_ALLOW_THREADS
    r = tutti_wait(req);
    Py_END_ALLOW_THREADS
    self->waiting = 0;
    tpy_request_finish(self, r);
}

int tpy_request_complete_all(tpy_comm_t *comm)
{
    while (comm->pending) {
        tpy_request_t *q = comm->pending;
        if (q->waiting) {
            /* another thread (or a Request being deallocated: never take
             * a reference to it) waits on it: let that thread finish it */
            Py_BEGIN_ALLOW_THREADS
            usleep(200);
            Py_END_ALLOW_THREADS
            continue;
        }
        Py_INCREF(q);
        tpy_request_block(q);
        Py_DECREF(q);
    }
    return 0;
}

static PyObject *tpy_request_wait(tpy_request_t *self, PyObject *noargs)
{
    tpy_request_block(self);
    return tpy_request_outcome(self);
}

static PyObject *tpy_request_test(tpy_request_t *self, PyObject *noargs)
{
    if (!self->done && self->waiting) Py_RETURN_FALSE; /* another thread waits on it */
    if (!self->done) {
        int done = 0;
        tutti_result_t r = tutti_test(self->req, &done);
        if (!done && r == TUTTI_SUCCESS) Py_RETURN_FALSE;
        /* done, or the handle itself was refused (its communicator was
         * destroyed or aborted): the operation is over either way */
        tpy_request_finish(self, r);
    }
    PyObject *o = tpy_request_outcome(self);
    if (!o) return NULL;
    Py_DECREF(o);
    Py_RETURN_TRUE;
}

static PyObject *tpy_request_get_done(tpy_request_t *self, void *closure) { return PyBool_FromLong(self->done); }

static void tpy_request_dealloc(tpy_request_t *self)
{
    tpy_request_block(self);
    Py_XDECREF(self->comm);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef tpy_request_methods[] = {
    {"wait", (PyCFunction)tpy_request_wait, METH_NOARGS,
     "wait(): blocks until the operation completes (its deadline: the communicator's timeout); raises tutti.Error "
     "if it failed."},
    {"test", (PyCFunction)tpy_request_test, METH_NOARGS,
     "test() -> bool: drives the communicator once; True once complete (raises tutti.Error if it failed)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef tpy_request_getset[] = {
    {"done", (getter)tpy_request_get_done, NULL, "whether wait() or test() saw it complete", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject tpy_request_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tutti.Request",
    .tp_basicsize = sizeof(tpy_request_t),
    .tp_dealloc = (destructor)tpy_request_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A nonblocking tutti operation: wait() or test().",
    .tp_methods = tpy_request_methods,
    .tp_getset = tpy_request_getset,
};
