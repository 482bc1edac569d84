/* The integer product behind the int8 bounds on every cosine (paperwire.index.prescan).

   prescan.py holds the definitions and runs the same product through ONNX Runtime where
   this module is not built (no compiler at install) or the CPU lacks AVX-512 VNNI; the
   tests check that both give the same integers. Why C: the product reads every row's
   codes once a query and is bound by memory, yet ONNX Runtime's took 1.4-1.6 ms for the
   28.7 MB of 74.7k rows on two cores where this loop takes 0.6-1.0 ms on one, about the
   time a plain read of the bytes takes (docs/benchmarks.md, "The int8 bounds' product in
   C"). Only the VNNI loop is here: the same loop in plain C, and compiled for AVX2 by
   the compiler, took 8.3-9.1 and 5.3-6.0 ms there, slower than ONNX Runtime's.

   The codes are kept in blocks of 64 rows: for each group of 4 dimensions, the 64 rows'
   4 bytes side by side (``[block][dim / 4][64][4]``), so a block is read front to back
   and one 64-byte load feeds 16 rows. Codes are unsigned (the code + 128); a query row
   is signed (-127..127). Each output is the exact integer sum of (code - 128) x query
   over the dimensions, as ONNX Runtime's MatMulInteger with zero points of 128 gives
   it. Nothing saturates or wraps: a sum stays within 255 x 127 x dim of zero, inside 32
   bits up to 66,000 dimensions. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#define ROWS 64      /* rows a block */
#define GROUP 4      /* dimensions a group */

/* What the codes' shift adds to a query row's products, taken off up front: the
   products start from -128 x the sum of the row's components. */
static inline int32_t unshift(const int8_t *q, Py_ssize_t dim) {
    int32_t sum = 0;
    for (Py_ssize_t k = 0; k < dim; k++)
        sum += q[k];
    return -128 * sum;
}

#if HAVE_X86
/* AVX-512 VNNI: VPDPBUSD adds the 4 products of unsigned code bytes and signed query
   bytes into each 32-bit lane (without saturating), 16 rows an instruction. Two query
   rows at a time share the loads; a block (24 KB at 384 dimensions) stays in the
   first-level cache while the other query rows of a ``bounds_many`` pass over it. */
__attribute__((target("avx512f,avx512vnni"))) static void blocks_vnni(
    const uint8_t *codes, const int8_t *queries, Py_ssize_t m, Py_ssize_t dim,
    Py_ssize_t blocks, Py_ssize_t stride, int32_t *out) {
    Py_ssize_t groups = dim / GROUP;
    for (Py_ssize_t b = 0; b < blocks; b++) {
        const uint8_t *blk = codes + b * groups * ROWS * GROUP;
        Py_ssize_t i = 0;
        for (; i + 1 < m; i += 2) {
            const int8_t *q1 = queries + i * dim, *q2 = q1 + dim;
            __m512i a0 = _mm512_set1_epi32(unshift(q1, dim)), a1 = a0, a2 = a0, a3 = a0;
            __m512i c0 = _mm512_set1_epi32(unshift(q2, dim)), c1 = c0, c2 = c0, c3 = c0;
            for (Py_ssize_t g = 0; g < groups; g++) {
                const uint8_t *p = blk + g * ROWS * GROUP;
                __m512i x0 = _mm512_loadu_si512(p), x1 = _mm512_loadu_si512(p + 64);
                __m512i x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);
                int32_t w1, w2;
                memcpy(&w1, q1 + g * GROUP, 4);
                memcpy(&w2, q2 + g * GROUP, 4);
                __m512i v = _mm512_set1_epi32(w1), u = _mm512_set1_epi32(w2);
                a0 = _mm512_dpbusd_epi32(a0, x0, v);
                a1 = _mm512_dpbusd_epi32(a1, x1, v);
                a2 = _mm512_dpbusd_epi32(a2, x2, v);
                a3 = _mm512_dpbusd_epi32(a3, x3, v);
                c0 = _mm512_dpbusd_epi32(c0, x0, u);
                c1 = _mm512_dpbusd_epi32(c1, x1, u);
                c2 = _mm512_dpbusd_epi32(c2, x2, u);
                c3 = _mm512_dpbusd_epi32(c3, x3, u);
            }
            int32_t *o = out + i * stride + b * ROWS, *r = o + stride;
            _mm512_storeu_si512(o, a0);
            _mm512_storeu_si512(o + 16, a1);
            _mm512_storeu_si512(o + 32, a2);
            _mm512_storeu_si512(o + 48, a3);
            _mm512_storeu_si512(r, c0);
            _mm512_storeu_si512(r + 16, c1);
            _mm512_storeu_si512(r + 32, c2);
            _mm512_storeu_si512(r + 48, c3);
        }
        if (i < m) {  /* an odd query row out */
            const int8_t *q1 = queries + i * dim;
            __m512i a0 = _mm512_set1_epi32(unshift(q1, dim)), a1 = a0, a2 = a0, a3 = a0;
            for (Py_ssize_t g = 0; g < groups; g++) {
                const uint8_t *p = blk + g * ROWS * GROUP;
                int32_t w1;
                memcpy(&w1, q1 + g * GROUP, 4);
                __m512i v = _mm512_set1_epi32(w1);
                a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(p), v);
                a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(p + 64), v);
                a2 = _mm512_dpbusd_epi32(a2, _mm512_loadu_si512(p + 128), v);
                a3 = _mm512_dpbusd_epi32(a3, _mm512_loadu_si512(p + 192), v);
            }
            int32_t *o = out + i * stride + b * ROWS;
            _mm512_storeu_si512(o, a0);
            _mm512_storeu_si512(o + 16, a1);
            _mm512_storeu_si512(o + 32, a2);
            _mm512_storeu_si512(o + 48, a3);
        }
    }
}
#endif

static int vnni(void) {
#if HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

/* supported() -> whether this CPU runs ``dots`` (AVX-512 VNNI). */
static PyObject *supported(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    return PyBool_FromLong(vnni());
}

/* dots(codes, queries, out) -> None

   ``codes``: the blocks (uint8, C-contiguous, ``blocks x dim x 64`` bytes); ``queries``:
   ``m`` rows of ``dim`` int8 (C-contiguous, ``dim`` a multiple of 4); ``out``: int32,
   ``m`` rows of ``blocks x 64`` (C-contiguous, written). Runs without the GIL. */
static PyObject *dots(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "dots takes 3 arguments");
        return NULL;
    }
    if (!vnni()) {
        PyErr_SetString(PyExc_RuntimeError, "dots needs AVX-512 VNNI, which this CPU lacks");
        return NULL;
    }
    Py_buffer codes, queries, out;
    if (PyObject_GetBuffer(args[0], &codes, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &queries, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&codes);
        return NULL;
    }
    if (PyObject_GetBuffer(args[2], &out, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) <
        0) {
        PyBuffer_Release(&codes);
        PyBuffer_Release(&queries);
        return NULL;
    }
    const char *error = NULL;
    Py_ssize_t m = 0, dim = 0, blocks = 0;
    if (codes.itemsize != 1 || strcmp(codes.format, "B") != 0)
        error = "codes must be uint8";
    else if (queries.itemsize != 1 || strcmp(queries.format, "b") != 0 || queries.ndim != 2)
        error = "queries must be a 2-d int8 array";
    else if (out.itemsize != 4 || (strcmp(out.format, "i") != 0 && strcmp(out.format, "l") != 0))
        error = "out must be int32";
    else {
        m = queries.shape[0];
        dim = queries.shape[1];
        if (dim <= 0 || dim % GROUP != 0)
            error = "the query rows' length must be a positive multiple of 4";
        else if (codes.len % (dim * ROWS) != 0)
            error = "codes must hold whole blocks of 64 rows of the queries' length";
        else {
            blocks = codes.len / (dim * ROWS);
            if (out.len != (Py_ssize_t)sizeof(int32_t) * m * blocks * ROWS)
                error = "out must hold one int32 per query row and row of codes";
        }
    }
    if (error == NULL && m > 0 && blocks > 0) {
        const uint8_t *c = codes.buf;
        const int8_t *q = queries.buf;
        int32_t *o = out.buf;
        Py_ssize_t stride = blocks * ROWS;
#if HAVE_X86
        Py_BEGIN_ALLOW_THREADS
        blocks_vnni(c, q, m, dim, blocks, stride, o);
        Py_END_ALLOW_THREADS
#else
        (void)c, (void)q, (void)o, (void)stride;
#endif
    }
    PyBuffer_Release(&codes);
    PyBuffer_Release(&queries);
    PyBuffer_Release(&out);
    if (error != NULL) {
        PyErr_SetString(PyExc_ValueError, error);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"dots", (PyCFunction)(void (*)(void))dots, METH_FASTCALL,
     "dots(codes, queries, out): the int8 products (see the module's source)"},
    {"supported", supported, METH_NOARGS, "supported(): whether this CPU runs dots"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "paperwire.index._int8",
    "The int8 bounds' product in C (see paperwire.index.prescan).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__int8(void) { return PyModule_Create(&module); }
