/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tutti._core: the module, its exception, datatype inference from buffer
 * formats, and the communicator's lifecycle (creation, split, destroy,
 * abort, settings, introspection).  Collectives are in _coll.c,
 * point-to-point in _p2p.c, requests in _request.c.
 */
#include "_core.h"

#include <string.h>

PyObject *tpy_error;

/* ---- errors --------------------------------------------------------------- */

PyObject *tpy_raise_detail(tutti_result_t r, const char *detail)
{
    PyObject *args = Py_BuildValue("(ssi)", tutti_result_name(r), detail ? detail : "", (int)r);
    if (args) {
        PyErr_SetObject(tpy_error, args);
        Py_DECREF(args);
    }
    return NULL;
}

PyObject *tpy_raise(tutti_result_t r, tutti_comm_t comm)
{
    return tpy_raise_detail(r, tutti_comm_last_error(comm));
}

/* ---- buffers and datatypes ---------------------------------------------------- */

int tpy_buf_get(PyObject *obj, int writable, Py_buffer *view, const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) != 0) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s buffer (numpy array, bytearray, memoryview): %S",
                     what, writable ? ", writable" : "", value ? value : Py_None);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return -1;
    }
    return 0;
}

void tpy_bufs_release(tpy_bufs_t *b)
{
    for (int k = 0; k < b->n; k++) PyBuffer_Release(&b->view[k]);
    b->n = 0;
}

/* struct-module format letters (native sizes) to tutti's types */
static int tpy_format_dtype(const char *fmt, Py_ssize_t itemsize, tutti_datatype_t *dt)
{
    if (!fmt) fmt = "B";
    if (*fmt == '@' || *fmt == '=' || *fmt == '<' || *fmt == '|') fmt++;
    if (fmt[0] == '\0' || fmt[1] != '\0') return -1;
    int sgn;
    switch (fmt[0]) {
    case 'b': case 'h': case 'i': case 'l': case 'q': case 'n': sgn = 1; break;
    case 'B': case 'H': case 'I': case 'L': case 'Q': case 'N': case 'c': case '?': sgn = 0; break;
    case 'e': *dt = TUTTI_FLOAT16; return itemsize == 2 ? 0 : -1;
    case 'f': *dt = TUTTI_FLOAT32; return itemsize == 4 ? 0 : -1;
    case 'd': *dt = TUTTI_FLOAT64; return itemsize == 8 ? 0 : -1;
    default: return -1;
    }
    switch (itemsize) {
    case 1: *dt = sgn ? TUTTI_INT8 : TUTTI_UINT8; return 0;
    case 2: *dt = sgn ? TUTTI_INT16 : TUTTI_UINT16; return 0;
    case 4: *dt = sgn ? TUTTI_INT32 : TUTTI_UINT32; return 0;
    case 8: *dt = sgn ? TUTTI_INT64 : TUTTI_UINT64; return 0;
    default: return -1;
    }
}

int tpy_dtype(PyObject *dtype_arg, const Py_buffer *v, const char *what, tutti_datatype_t *dt)
{
    if (dtype_arg && dtype_arg != Py_None) {
        long d = PyLong_AsLong(dtype_arg);
        if (d == -1 && PyErr_Occurred()) return -1;
        if (d < 0 || d >= TUTTI_NUM_DATATYPES) {
            PyErr_Format(PyExc_ValueError, "dtype %ld is not a tutti.DataType", d);
            return -1;
        }
        *dt = (tutti_datatype_t)d;
        return 0;
    }
    if (tpy_format_dtype(v->format, v->itemsize, dt) != 0) {
        PyErr_Format(PyExc_TypeError,
                     "cannot infer the datatype of %s from its format '%s' (item size %zd): pass dtype=tutti.DataType...",
                     what, v->format ? v->format : "B", v->itemsize);
        return -1;
    }
    return 0;
}

int tpy_count(const Py_buffer *v, tutti_datatype_t dt, const char *what, size_t *count)
{
    size_t es = tutti_datatype_size(dt);
    if (es == 0 || (size_t)v->len % es != 0) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, not a whole number of %s elements", what, v->len,
                     tutti_datatype_name(dt));
        return -1;
    }
    *count = (size_t)v->len / es;
    return 0;
}

/* ---- the communicator ------------------------------------------------------- */

tutti_comm_t tpy_comm_get(tpy_comm_t *self)
{
    if (!self->comm) {
        tpy_raise_detail(TUTTI_ERR_INVALID_USAGE, "the communicator was destroyed or aborted");
        return NULL;
    }
    return self->comm;
}

/* A Comm (or an instance of the Python subclass `type`) owning c. */
static PyObject *tpy_comm_wrap(PyTypeObject *type, tutti_comm_t c)
{
    tpy_comm_t *self = (tpy_comm_t *)type->tp_alloc(type, 0);
    if (!self) {
        Py_BEGIN_ALLOW_THREADS
        tutti_comm_destroy(c);
        Py_END_ALLOW_THREADS
        return NULL;
    }
    self->comm = c;
    self->pending = NULL;
    self->group_open = 0;
    self->group_bufs = NULL;
    self->group_n = self->group_cap = 0;
    tutti_comm_rank(c, &self->rank);
    tutti_comm_size(c, &self->size);
    return (PyObject *)self;
}

static int tpy_config(double init_timeout, double timeout, tutti_config_t *cfg)
{
    tutti_config_t c = TUTTI_CONFIG_INIT;
    if (init_timeout < 0 || timeout < 0) {
        PyErr_SetString(PyExc_ValueError, "init_timeout and timeout are seconds >= 0 (0: the default)");
        return -1;
    }
    c.init_timeout = init_timeout;
    c.timeout = timeout;
    *cfg = c;
    return 0;
}

static PyObject *tpy_unique_id(PyObject *mod, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"init_timeout", NULL};
    double init_timeout = 0;
    tutti_config_t cfg;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|d:unique_id", kwlist, &init_timeout)) return NULL;
    if (tpy_config(init_timeout, 0, &cfg) != 0) return NULL;
    tutti_unique_id_t id;
    tutti_result_t r;
    Py_BEGIN_ALLOW_THREADS
    r = tutti_get_unique_id_config(&id, &cfg);
    Py_END_ALLOW_THREADS
    if (r != TUTTI_SUCCESS) return tpy_raise(r, NULL);
    return PyBytes_FromStringAndSize(id.internal, sizeof(id.internal));
}

static PyObject *tpy_comm_init_rank(PyObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"nranks", "unique_id", "rank", "init_timeout", "timeout", NULL};
    int nranks, rank;
    Py_buffer idv;
    double init_timeout = 0, timeout = 0;
    tutti_config_t cfg;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "iy*i|dd:Comm.init_rank", kwlist, &nranks, &idv, &rank, &init_timeout,
                                     &timeout))
        return NULL;
    tutti_unique_id_t id;
    if (idv.len != (Py_ssize_t)sizeof(id.internal)) {
        PyBuffer_Release(&idv);
        return PyErr_Format(PyExc_ValueError, "unique_id must be the %zu bytes tutti.unique_id() made, not %zd",
                            sizeof(id.internal), idv.len);
    }
    memcpy(id.internal, idv.buf, sizeof(id.internal));
    PyBuffer_Release(&idv);
    if (tpy_config(init_timeout, timeout, &cfg) != 0) return NULL;
    tutti_comm_t c = NULL;
    tutti_result_t r;
    Py_BEGIN_ALLOW_THREADS
    r = tutti_comm_init_rank_config(&c, nranks, id, rank, &cfg);
    Py_END_ALLOW_THREADS
    if (r != TUTTI_SUCCESS) return tpy_raise(r, NULL);
    return tpy_comm_wrap((PyTypeObject *)cls, c);
}

static PyObject *tpy_comm_from_env(PyObject *cls, PyObject *noargs)
{
    tutti_comm_t c = NULL;
    tutti_result_t r;
    Py_BEGIN_ALLOW_THREADS
    r = tutti_comm_init_env(&c);
    Py_END_ALLOW_THREADS
    if (r != TUTTI_SUCCESS) return tpy_raise(r, NULL);
    return tpy_comm_wrap((PyTypeObject *)cls, c);
}

static PyObject *tpy_comm_split(tpy_comm_t *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"color", "key", NULL};
    int color, key = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "i|i:split", kwlist, &color, &key)) return NULL;
    tutti_comm_t c = tpy_comm_get(self), sub = NULL;
    if (!c) return NULL;
    if (key == -1) key = self->rank;
    tutti_result_t r;
    Py_BEGIN_ALLOW_THREADS
    r = tutti_comm_split(c, color < 0 ? TUTTI_SPLIT_NOCOLOR : color, key, &sub);
    Py_END_ALLOW_THREADS
    if (r != TUTTI_SUCCESS) return tpy_raise(r, c);
    if (!sub) Py_RETURN_NONE;
    return tpy_comm_wrap(Py_TYPE(self), sub);
}

static PyObject *tpy_comm_destroy(tpy_comm_t *self, PyObject *noargs)
{
    tutti_comm_t c = self->comm;
    if (!c) Py_RETURN_NONE;
    /* outstanding requests complete with their own results first */
    tpy_request_complete_all(self);
    c = self->comm;
    if (!c) Py_RETURN_NONE; /* (another thread closed it meanwhile) */
    self->comm = NULL; /* other threads see a closed communicator from now on */
    tpy_group_release(self);
    tutti_result_t r;
    Py_BEGIN_ALLOW_THREADS
    r = tutti_comm_destroy(c);
    Py_END_ALLOW_THREADS
    if (r != TUTTI_SUCCESS) return tpy_raise_detail(r, "an operation outstanding at destroy failed");
    Py_RETURN_NONE;
}

static PyObject *tpy_comm_abort(tpy_comm_t *self, PyObject *noargs)
{
    tutti_comm_t c = self->comm;
    if (!c) Py_RETURN_NONE;
    self->comm = NULL;
    tpy_group_release(self);
    Py_BEGIN_ALLOW_THREADS
    tutti_comm_abort(c);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *tpy_comm_set_timeout(tpy_comm_t *self, PyObject *arg)
{
    double s = PyFloat_AsDouble(arg);
    if (s == -1 && PyErr_Occurred()) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    tutti_result_t r = tutti_comm_set_timeout(c, s);
    if (r != TUTTI_SUCCESS) return tpy_raise(r, c);
    Py_RETURN_NONE;
}

static PyObject *tpy_comm_set_algorithms(tpy_comm_t *self, PyObject *args)
{
    const char *spec = NULL;
    if (!PyArg_ParseTuple(args, "z:set_algorithms", &spec)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    tutti_result_t r = tutti_comm_set_algorithms(c, spec);
    if (r != TUTTI_SUCCESS) return tpy_raise(r, c);
    Py_RETURN_NONE;
}

static PyObject *tpy_comm_describe(tpy_comm_t *self, PyObject *noargs)
{
    char buf[512];
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    tutti_result_t r = tutti_comm_describe(c, buf, sizeof(buf));
    if (r != TUTTI_SUCCESS) return tpy_raise(r, c);
    return PyUnicode_FromString(buf);
}

static PyObject *tpy_comm_flight_record(tpy_comm_t *self, PyObject *noargs)
{
    static char buf[16384];
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    tutti_result_t r = tutti_comm_flight_record(c, buf, sizeof(buf));
    if (r != TUTTI_SUCCESS) return tpy_raise(r, c);
    return PyUnicode_FromString(buf);
}

static PyObject *tpy_comm_async_error(tpy_comm_t *self, PyObject *noargs)
{
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    tutti_result_t e = TUTTI_SUCCESS, r = tutti_comm_get_async_error(c, &e);
    if (r != TUTTI_SUCCESS) return tpy_raise(r, c);
    if (e == TUTTI_SUCCESS) Py_RETURN_NONE;
    return Py_BuildValue("(ss)", tutti_result_name(e), tutti_comm_last_error(c));
}

static PyObject *tpy_comm_last_error(tpy_comm_t *self, PyObject *noargs)
{
    return PyUnicode_FromString(self->comm ? tutti_comm_last_error(self->comm) : "");
}

static PyObject *tpy_comm_algorithm(tpy_comm_t *self, PyObject *args)
{
    const char *coll;
    Py_ssize_t bytes;
    if (!PyArg_ParseTuple(args, "sn:algorithm", &coll, &bytes)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    const char *a = tutti_comm_algorithm(c, coll, bytes < 0 ? 0 : (size_t)bytes);
    if (!a) return PyErr_Format(PyExc_ValueError, "unknown collective '%s'", coll);
    return PyUnicode_FromString(a);
}

static PyObject *tpy_comm_transport_bytes(tpy_comm_t *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s:transport_bytes", &name)) return NULL;
    tutti_comm_t c = tpy_comm_get(self);
    if (!c) return NULL;
    return PyLong_FromUnsignedLongLong(tutti_comm_transport_bytes(c, name));
}

static PyObject *tpy_comm_get_rank(tpy_comm_t *self, void *closure) { return PyLong_FromLong(self->rank); }
static PyObject *tpy_comm_get_size(tpy_comm_t *self, void *closure) { return PyLong_FromLong(self->size); }
static PyObject *tpy_comm_get_closed(tpy_comm_t *self, void *closure) { return PyBool_FromLong(self->comm == NULL); }

static PyObject *tpy_comm_enter(tpy_comm_t *self, PyObject *noargs)
{
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *tpy_comm_exit(tpy_comm_t *self, PyObject *args)
{
    PyObject *et = PyTuple_GET_ITEM(args, 0);
    /* leaving on an exception: abort (peers may be gone; destroy would
     * wait for outstanding operations), else destroy */
    PyObject *r = et != Py_None ? tpy_comm_abort(self, NULL) : tpy_comm_destroy(self, NULL);
    if (!r) return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static void tpy_comm_dealloc(tpy_comm_t *self)
{
    if (self->comm) {
        tutti_comm_t c = self->comm;
        self->comm = NULL;
        tpy_group_release(self);
        Py_BEGIN_ALLOW_THREADS
        tutti_comm_destroy(c);
        Py_END_ALLOW_THREADS
    }
    PyMem_Free(self->group_bufs);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *tpy_comm_repr(tpy_comm_t *self)
{
    if (!self->comm) return PyUnicode_FromFormat("<tutti.Comm rank %d of %d, closed>", self->rank, self->size);
    return PyUnicode_FromFormat("<tutti.Comm rank %d of %d>", self->rank, self->size);
}

static PyMethodDef tpy_comm_life_methods[] = {
    {"init_rank", (PyCFunction)(void (*)(void))tpy_comm_init_rank, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "Comm.init_rank(nranks, unique_id, rank, init_timeout=0, timeout=0): rank `rank` of a new communicator "
     "(collective over nranks processes sharing unique_id)."},
    {"from_env", (PyCFunction)tpy_comm_from_env, METH_NOARGS | METH_CLASS,
     "Comm.from_env(): rank and size from mpirun, Slurm or torchrun (tutti_comm_init_env)."},
    {"split", (PyCFunction)(void (*)(void))tpy_comm_split, METH_VARARGS | METH_KEYWORDS,
     "split(color, key=rank): a new communicator of the ranks with the same color, or None for color < 0."},
    {"destroy", (PyCFunction)tpy_comm_destroy, METH_NOARGS,
     "destroy(): waits for outstanding operations, then frees the communicator."},
    {"abort", (PyCFunction)tpy_comm_abort, METH_NOARGS,
     "abort(): ends every pending operation (any thread) with TUTTI_ERR_ABORTED and frees the communicator."},
    {"set_timeout", (PyCFunction)tpy_comm_set_timeout, METH_O, "set_timeout(seconds): the deadline of every wait."},
    {"set_algorithms", (PyCFunction)tpy_comm_set_algorithms, METH_VARARGS,
     "set_algorithms(spec): TUTTI_ALGO's grammar; None returns to the environment's."},
    {"describe", (PyCFunction)tpy_comm_describe, METH_NOARGS, "One line: ranks, nodes, transports."},
    {"flight_record", (PyCFunction)tpy_comm_flight_record, METH_NOARGS, "The last 64 operations and their state."},
    {"async_error", (PyCFunction)tpy_comm_async_error, METH_NOARGS,
     "None while healthy, else (result name, detail) of the error that broke the communicator."},
    {"last_error", (PyCFunction)tpy_comm_last_error, METH_NOARGS, "The detail of the last error."},
    {"algorithm", (PyCFunction)tpy_comm_algorithm, METH_VARARGS,
     "algorithm(collective, nbytes): the algorithm the tuner picks."},
    {"transport_bytes", (PyCFunction)tpy_comm_transport_bytes, METH_VARARGS,
     "transport_bytes(name): bytes sent through that transport so far."},
    {"__enter__", (PyCFunction)tpy_comm_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)tpy_comm_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef tpy_comm_getset[] = {
    {"rank", (getter)tpy_comm_get_rank, NULL, "this process's rank", NULL},
    {"size", (getter)tpy_comm_get_size, NULL, "the number of ranks", NULL},
    {"closed", (getter)tpy_comm_get_closed, NULL, "destroyed or aborted", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject tpy_comm_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tutti.Comm",
    .tp_basicsize = sizeof(tpy_comm_t),
    .tp_dealloc = (destructor)tpy_comm_dealloc,
    .tp_repr = (reprfunc)tpy_comm_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A tutti communicator: Comm.init_rank(...), Comm.from_env(), or comm.split(...).",
    .tp_getset = tpy_comm_getset,
};

/* ---- the module --------------------------------------------------------------- */

static PyObject *tpy_version(PyObject *mod, PyObject *noargs) { return PyUnicode_FromString(tutti_version_string()); }

static PyMethodDef tpy_module_methods[] = {
    {"unique_id", (PyCFunction)(void (*)(void))tpy_unique_id, METH_VARARGS | METH_KEYWORDS,
     "unique_id(init_timeout=0) -> bytes: a new communicator's id; starts its rendezvous in this process."},
    {"version", (PyCFunction)tpy_version, METH_NOARGS, "The C library's version."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef tpy_module = {PyModuleDef_HEAD_INIT, "tutti._core", "tutti's C library.", -1,
                                        tpy_module_methods, NULL, NULL, NULL, NULL};

/* Comm's methods: lifecycle here, collectives and point-to-point there. */
static PyMethodDef *tpy_join_methods(void)
{
    PyMethodDef *parts[] = {tpy_comm_life_methods, tpy_coll_methods, tpy_p2p_methods};
    size_t n = 0;
    for (size_t k = 0; k < 3; k++)
        for (PyMethodDef *m = parts[k]; m->ml_name; m++) n++;
    PyMethodDef *all = PyMem_Calloc(n + 1, sizeof(*all));
    if (!all) return NULL;
    n = 0;
    for (size_t k = 0; k < 3; k++)
        for (PyMethodDef *m = parts[k]; m->ml_name; m++) all[n++] = *m;
    return all;
}

PyMODINIT_FUNC PyInit__core(void)
{
    tpy_comm_type.tp_methods = tpy_join_methods();
    if (!tpy_comm_type.tp_methods) return PyErr_NoMemory();
    if (PyType_Ready(&tpy_comm_type) < 0 || PyType_Ready(&tpy_request_type) < 0) return NULL;
    PyObject *m = PyModule_Create(&tpy_module);
    if (!m) return NULL;
    /* Error(result, detail, code): a RuntimeError, as PyTorch's errors are */
    tpy_error = PyErr_NewExceptionWithDoc("tutti.Error",
                                          "A tutti call failed: args are (result name, detail, code).",
                                          PyExc_RuntimeError, NULL);
    if (!tpy_error) goto fail;
    Py_INCREF(&tpy_comm_type);
    Py_INCREF(&tpy_request_type);
    if (PyModule_AddObject(m, "Error", tpy_error) < 0 ||
        PyModule_AddObject(m, "Comm", (PyObject *)&tpy_comm_type) < 0 ||
        PyModule_AddObject(m, "Request", (PyObject *)&tpy_request_type) < 0)
        goto fail;
#define TPY_CONST(name) PyModule_AddIntConstant(m, #name, TUTTI_##name)
    TPY_CONST(INT8), TPY_CONST(UINT8), TPY_CONST(INT16), TPY_CONST(UINT16), TPY_CONST(INT32), TPY_CONST(UINT32),
        TPY_CONST(INT64), TPY_CONST(UINT64), TPY_CONST(FLOAT16), TPY_CONST(BFLOAT16), TPY_CONST(FLOAT32),
        TPY_CONST(FLOAT64);
    TPY_CONST(SUM), TPY_CONST(PROD), TPY_CONST(MIN), TPY_CONST(MAX), TPY_CONST(AVG), TPY_CONST(BAND), TPY_CONST(BOR),
        TPY_CONST(BXOR);
#define TPY_RES(name, value, desc) PyModule_AddIntConstant(m, "RESULT_" #name, value);
    TUTTI_RESULT_MAP(TPY_RES)
#undef TPY_RES
#undef TPY_CONST
    PyModule_AddIntConstant(m, "UNIQUE_ID_BYTES", (long)sizeof(((tutti_unique_id_t *)0)->internal));
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
