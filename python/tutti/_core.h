/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tutti._core: the C library from Python, thin over include/tutti.h.
 *
 *   Comm      a tutti_comm_t: creation (unique id, environment, split),
 *             every collective and point-to-point call, blocking and
 *             nonblocking, on any object with the buffer protocol
 *   Request   a tutti_request_t plus the buffers it owns until it completes
 *   Error     the one exception: .result ("TUTTI_ERR_TIMEOUT"), .code, .detail
 *
 * The GIL is released around every call that may wait (blocking
 * collectives, wait, init, split, destroy, abort).  A nonblocking call's
 * buffers are held (PyObject_GetBuffer) by its Request until the operation
 * completes, so they can be neither freed nor resized meanwhile.
 */
#ifndef TUTTI_PY_CORE_H
#define TUTTI_PY_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <tutti.h>

/* The buffers an operation owns until it completes. */
#define TPY_MAXBUF 2
typedef struct {
    Py_buffer view[TPY_MAXBUF];
    int n;
} tpy_bufs_t;

struct tpy_request;

typedef struct {
    PyObject_HEAD
    tutti_comm_t comm; /* NULL once destroyed or aborted */
    int rank, size;
    struct tpy_request *pending; /* requests not yet seen complete, for destroy */
    /* an open point-to-point group: the buffers its sends and receives use */
    int group_open;
    Py_buffer *group_bufs;
    Py_ssize_t group_n, group_cap;
} tpy_comm_t;

typedef struct tpy_request {
    PyObject_HEAD
    tpy_comm_t *comm; /* a reference: the communicator outlives its requests */
    tutti_request_t req;
    struct tpy_request *prev, *next; /* comm->pending */
    int done;
    int waiting; /* a thread is inside tutti_wait on it (GIL released) */
    tutti_result_t result;
    char detail[512];   /* the communicator's last error when it failed */
    tpy_bufs_t bufs;
    Py_buffer *group_bufs; /* igroup_end: the group's buffers */
    Py_ssize_t group_n;
} tpy_request_t;

extern PyObject *tpy_error;
extern PyTypeObject tpy_comm_type;
extern PyTypeObject tpy_request_type;

/* Raises tutti.Error for r with the detail of comm (NULL: the thread's);
 * returns NULL. */
PyObject *tpy_raise(tutti_result_t r, tutti_comm_t comm);
PyObject *tpy_raise_detail(tutti_result_t r, const char *detail);

/* The communicator of self, or NULL with an exception set. */
tutti_comm_t tpy_comm_get(tpy_comm_t *self);

/* Buffers: a C-contiguous view (writable for outputs) with its format. */
int tpy_buf_get(PyObject *obj, int writable, Py_buffer *view, const char *what);
void tpy_bufs_release(tpy_bufs_t *b);

/* The datatype of a call: the dtype argument (an int, or None) or else
 * inferred from the buffer's format; count = nbytes / element size.
 * for_reduce: bool buffers ('?') refuse SUM, PROD and AVG. */
int tpy_dtype(PyObject *dtype_arg, const Py_buffer *v, const char *what, tutti_datatype_t *dt);
int tpy_count(const Py_buffer *v, tutti_datatype_t dt, const char *what, size_t *count);

/* A Request that owns bufs (moved into it) for req; NULL on error. */
PyObject *tpy_request_new(tpy_comm_t *comm, tutti_request_t req, tpy_bufs_t *bufs);
/* The same for a group's buffers (moved from the communicator). */
PyObject *tpy_request_new_group(tpy_comm_t *comm, tutti_request_t req, Py_buffer *bufs, Py_ssize_t n);

/* Completes every request of comm not yet seen complete (destroy: their
 * results stay theirs).  0, or -1 with an exception set. */
int tpy_request_complete_all(tpy_comm_t *comm);

/* The collective and point-to-point methods (_coll.c, _p2p.c). */
extern PyMethodDef tpy_coll_methods[];
extern PyMethodDef tpy_p2p_methods[];
void tpy_group_release(tpy_comm_t *self);

#endif
