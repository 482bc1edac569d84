/* The hot loops of result snippets over ASCII text, in C (paperwire.text.snippets).

   snippets.py holds the definitions, and runs them itself where this module is not
   built (no compiler at install) and for text that is not ASCII; the tests check that
   both give the same answers on real abstracts and on random text. Why C: a page of 30
   results runs them over ~43,000 characters of titles and abstracts, and in Python
   (a regex pass with a Python step per candidate word, then a Python step per hit and
   per candidate window) its snippets took 3.4 ms, more than the keyword search itself;
   with these loops 1.3 ms (the 100 keyword bench pages at 74.7k papers,
   docs/benchmarks.md "Snippets' loops in C").

   Only ASCII text comes here (str objects whose data is one byte a character); the
   functions refuse anything else, so an offset here is an offset in the str. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

static inline int is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline unsigned char lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static const unsigned char *ascii_data(PyObject *text, Py_ssize_t *size) {
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text)) {
        PyErr_SetString(PyExc_ValueError, "text must be an ASCII str");
        return NULL;
    }
    *size = PyUnicode_GET_LENGTH(text);
    return (const unsigned char *)PyUnicode_DATA(text);
}

/* word_hits(text, prefixes, memo, look_up, hit) -> list of hit(start, end, term)

   Every maximal run of ASCII letters and digits in ``text`` whose lowercase form starts
   with one of ``prefixes`` (non-empty runs of [a-z0-9], as match keys are) is a
   candidate: its term is ``memo[word]`` or else ``look_up(word)`` (an int; negative: no
   term). Each candidate with a term gives ``hit(start, end, term)``, in text order. The
   same words as ``_prefix_words(prefixes).finditer(text.lower())`` (snippets.py). */
static PyObject *word_hits(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "word_hits takes 5 arguments");
        return NULL;
    }
    PyObject *text = args[0], *prefixes = args[1], *memo = args[2], *look_up = args[3];
    PyObject *hit = args[4];
    Py_ssize_t n;
    const unsigned char *s = ascii_data(text, &n);
    if (s == NULL)
        return NULL;
    if (!PyTuple_Check(prefixes) || !PyDict_Check(memo) || !PyType_Check(hit) ||
        !PyType_IsSubtype((PyTypeObject *)hit, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError,
                        "word_hits(str, tuple of str, dict, callable, tuple type)");
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(prefixes);
    const unsigned char **data = PyMem_Malloc(sizeof(*data) * (size_t)(count ? count : 1));
    Py_ssize_t *sizes = PyMem_Malloc(sizeof(*sizes) * (size_t)(count ? count : 1));
    PyObject *hits = PyList_New(0);
    if (data == NULL || sizes == NULL || hits == NULL) {
        PyMem_Free(data);
        PyMem_Free(sizes);
        Py_XDECREF(hits);
        return PyErr_NoMemory();
    }
    int starts_with[256] = {0}; /* first bytes some prefix starts with */
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *p = PyTuple_GET_ITEM(prefixes, k);
        int key = PyUnicode_Check(p) && PyUnicode_IS_ASCII(p) && PyUnicode_GET_LENGTH(p) > 0;
        if (key) {
            data[k] = (const unsigned char *)PyUnicode_DATA(p);
            sizes[k] = PyUnicode_GET_LENGTH(p);
            for (Py_ssize_t j = 0; key && j < sizes[k]; j++)
                key = is_alnum(data[k][j]) && lower(data[k][j]) == data[k][j];
        }
        if (!key) {
            PyErr_SetString(PyExc_ValueError, "prefixes must be non-empty [a-z0-9] str");
            goto fail;
        }
        starts_with[data[k][0]] = 1;
    }
    Py_ssize_t i = 0;
    while (i < n) {
        if (!is_alnum(s[i])) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && is_alnum(s[i]))
            i++;
        Py_ssize_t size = i - start;
        if (!starts_with[lower(s[start])])
            continue;
        int candidate = 0;
        for (Py_ssize_t k = 0; k < count && !candidate; k++) {
            if (sizes[k] > size || data[k][0] != lower(s[start]))
                continue;
            Py_ssize_t j = 1;
            while (j < sizes[k] && lower(s[start + j]) == data[k][j])
                j++;
            candidate = j == sizes[k];
        }
        if (!candidate)
            continue;
        PyObject *word = PyUnicode_New(size, 127);
        if (word == NULL)
            goto fail;
        unsigned char *w = PyUnicode_1BYTE_DATA(word);
        for (Py_ssize_t j = 0; j < size; j++)
            w[j] = lower(s[start + j]);
        PyObject *term = PyDict_GetItemWithError(memo, word); /* borrowed */
        if (term != NULL) {
            Py_INCREF(term);
        } else if (PyErr_Occurred()) {
            Py_DECREF(word);
            goto fail;
        } else {
            term = PyObject_CallOneArg(look_up, word);
            if (term == NULL) {
                Py_DECREF(word);
                goto fail;
            }
        }
        Py_DECREF(word);
        Py_ssize_t id = PyLong_AsSsize_t(term);
        if (id == -1 && PyErr_Occurred()) {
            Py_DECREF(term);
            goto fail;
        }
        if (id < 0) {
            Py_DECREF(term);
            continue;
        }
        /* hit((start, end, term)) through tuple's own constructor, which sets up what
           a tuple holds besides its items (its cached hash, from Python 3.14); not the
           NamedTuple's __new__, a Python function. */
        PyObject *fields = Py_BuildValue("((nnN))", start, i, term); /* takes term */
        PyObject *item = NULL;
        if (fields != NULL) {
            item = PyTuple_Type.tp_new((PyTypeObject *)hit, fields, NULL);
            Py_DECREF(fields);
        }
        if (item == NULL)
            goto fail;
        int appended = PyList_Append(hits, item);
        Py_DECREF(item);
        if (appended < 0)
            goto fail;
    }
    PyMem_Free(data);
    PyMem_Free(sizes);
    return hits;
fail:
    PyMem_Free(data);
    PyMem_Free(sizes);
    Py_DECREF(hits);
    return NULL;
}

static inline int closes(unsigned char c) {
    return c == '"' || c == '\'' || c == ')' || c == ']';
}

/* Where the sentences of ASCII text start, into a C array of ``*count`` offsets that
   the caller frees (NULL, an exception set, where memory ran out): 0, then after every
   ``.``, ``!`` or ``?`` and its closing quotes or brackets that a space and then a
   character that is not lowercase follow (``_sentence_starts`` in snippets.py). */
static Py_ssize_t *starts_of_sentences(const unsigned char *s, Py_ssize_t n, Py_ssize_t *count) {
    Py_ssize_t cap = 16, used = 0;
    Py_ssize_t *out = PyMem_Malloc(sizeof(*out) * (size_t)cap);
    if (out == NULL)
        return (Py_ssize_t *)PyErr_NoMemory();
    out[used++] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] != '.' && s[i] != '!' && s[i] != '?')
            continue;
        Py_ssize_t j = i + 1;
        while (j < n && closes(s[j]))
            j++;
        /* a space, then a character that is not lowercase */
        if (j + 1 < n && s[j] == ' ' && !(s[j + 1] >= 'a' && s[j + 1] <= 'z')) {
            if (used == cap) {
                cap *= 2;
                Py_ssize_t *grown = PyMem_Realloc(out, sizeof(*out) * (size_t)cap);
                if (grown == NULL) {
                    PyMem_Free(out);
                    return (Py_ssize_t *)PyErr_NoMemory();
                }
                out = grown;
            }
            out[used++] = j + 1;
        }
        i = j - 1; /* the closers cannot end a sentence: go on after them */
    }
    *count = used;
    return out;
}

/* sentence_starts(text) -> list of int: ``starts_of_sentences`` as a list. */
static PyObject *sentence_starts(PyObject *module, PyObject *text) {
    Py_ssize_t n, count = 0;
    const unsigned char *s = ascii_data(text, &n);
    if (s == NULL)
        return NULL;
    Py_ssize_t *found = starts_of_sentences(s, n, &count);
    if (found == NULL)
        return NULL;
    PyObject *starts = PyList_New(count);
    for (Py_ssize_t i = 0; starts != NULL && i < count; i++) {
        PyObject *at = PyLong_FromSsize_t(found[i]);
        if (at == NULL)
            Py_CLEAR(starts);
        else
            PyList_SET_ITEM(starts, i, at);
    }
    PyMem_Free(found);
    return starts;
}

/* The first index whose value is >= x (bisect_left), from lo. */
static Py_ssize_t lower_bound(const Py_ssize_t *v, Py_ssize_t lo, Py_ssize_t n, Py_ssize_t x) {
    Py_ssize_t hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first index whose value is > x (bisect_right), from lo. */
static Py_ssize_t upper_bound(const Py_ssize_t *v, Py_ssize_t lo, Py_ssize_t n, Py_ssize_t x) {
    Py_ssize_t hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ``_TRAILING_JOINERS`` and the space, as far as ASCII text can hold them. */
static inline int joins(unsigned char c) {
    return c == ',' || c == ';' || c == ':' || c == '-' || c == '(' || c == '/' || c == ' ';
}

/* ``_cut_end``: the best end e with start < e <= limit that does not split a word. */
static Py_ssize_t cut_end(const unsigned char *s, Py_ssize_t n, Py_ssize_t start,
                          Py_ssize_t limit) {
    if (limit >= n)
        return n;
    if (limit <= start)
        return start + 1 < n ? start + 1 : n;
    for (Py_ssize_t space = limit; space > start; space--) {
        if (s[space] != ' ')
            continue;
        Py_ssize_t end = space;
        while (end > start + 1 && joins(s[end - 1]))
            end--;
        return end;
    }
    for (Py_ssize_t end = limit; end > start; end--)
        if (!(is_alnum(s[end - 1]) && is_alnum(s[end])))
            return end;
    return limit;
}

/* ``_ends_sentence``: whether ``[.!?]["')\]]*$`` matches in s[max(0, end - 8):end]. */
static int ends_sentence(const unsigned char *s, Py_ssize_t end) {
    for (Py_ssize_t k = end - 8 > 0 ? end - 8 : 0; k < end; k++) {
        if (s[k] != '.' && s[k] != '!' && s[k] != '?')
            continue;
        Py_ssize_t j = k + 1;
        while (j < end && closes(s[j]))
            j++;
        if (j == end || (j == end - 1 && s[j] == '\n'))
            return 1;
    }
    return 0;
}

/* A window: prefix and suffix are their lengths, which name them ("", "…", "… " and
   "", "…", " …": the ellipsis is one character). */
typedef struct {
    Py_ssize_t start, end;
    int prefix, suffix, aligned;
} Window;

/* ``_window``: whole sentences while they fit, then words up to the budget. */
static Window window_from(const unsigned char *s, Py_ssize_t n, Py_ssize_t start, int aligned,
                          const Py_ssize_t *sentences, Py_ssize_t ns, Py_ssize_t budget) {
    Window w = {start, n, start == 0 ? 0 : (aligned ? 2 : 1), 0, aligned};
    if (w.prefix + n - start <= budget)
        return w;
    Py_ssize_t room = budget - w.prefix - 2;
    Py_ssize_t limit = start + (room > 1 ? room : 1);
    Py_ssize_t end = start;
    for (Py_ssize_t i = lower_bound(sentences, 0, ns, start + 1); i < ns; i++) {
        if (sentences[i] - 1 > limit)
            break;
        end = sentences[i] - 1;
    }
    if (end <= start || limit - end > budget / 3)
        end = cut_end(s, n, start, limit);
    w.end = end;
    w.suffix = ends_sentence(s, end) ? 2 : 1;
    if (w.prefix + (end - start) + w.suffix > budget)
        w.suffix = 1;
    return w;
}

/* A candidate's score, or its bound: distinct terms, aligned, hits, -gap, -start. */
typedef struct {
    Py_ssize_t key[5];
} Score;

static int score_cmp(const Score *a, const Score *b) {
    for (int i = 0; i < 5; i++)
        if (a->key[i] != b->key[i])
            return a->key[i] < b->key[i] ? -1 : 1;
    return 0;
}

static int score_desc(const void *a, const void *b) { return score_cmp(b, a); }

typedef struct {
    Py_ssize_t *starts, *ends, *terms, *sentences, *cands, *seen;
    int *aligned;
    Score *bounds;
} Buffers;

static void free_buffers(Buffers *b) {
    PyMem_Free(b->starts);
    PyMem_Free(b->ends);
    PyMem_Free(b->terms);
    PyMem_Free(b->sentences);
    PyMem_Free(b->cands);
    PyMem_Free(b->seen);
    PyMem_Free(b->aligned);
    PyMem_Free(b->bounds);
}

/* Distinct terms among hits [first, after): ``seen`` holds each term's last stamp. */
static Py_ssize_t distinct(const Py_ssize_t *terms, Py_ssize_t first, Py_ssize_t after,
                           Py_ssize_t *seen, Py_ssize_t stamp) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = first; i < after; i++) {
        if (seen[terms[i]] != stamp) {
            seen[terms[i]] = stamp;
            count++;
        }
    }
    return count;
}

#define MOST_TERMS 1000000 /* term ids best_window takes (it marks them in an array) */

static PyObject *ellipses[3];   /* "", "…", "… " */
static PyObject *closings[3];   /* "", "…", " …" */

/* best_window(text, hits, max_chars) -> (start, end, prefix, suffix, aligned) or None

   ``_best_window`` (snippets.py) for ASCII text: the window of at most ``max_chars``
   characters that shows the most distinct terms of ``hits`` (tuples start, end, term
   in text order), ranked and pruned as there; None where no window holds a hit. The
   caller has checked that there are hits, that max_chars >= 8 and that the text is
   longer than max_chars. */
static PyObject *best_window(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "best_window takes 3 arguments");
        return NULL;
    }
    Py_ssize_t n;
    const unsigned char *s = ascii_data(args[0], &n);
    if (s == NULL)
        return NULL;
    PyObject *hits = args[1];
    Py_ssize_t budget = PyLong_AsSsize_t(args[2]);
    if (budget == -1 && PyErr_Occurred())
        return NULL;
    if (!PyList_Check(hits)) {
        PyErr_SetString(PyExc_TypeError, "best_window wants a list of hits");
        return NULL;
    }
    if (PyList_GET_SIZE(hits) == 0 || budget < 8 || n <= budget) {
        PyErr_SetString(PyExc_ValueError,
                        "best_window wants a list of hits and 8 <= max_chars < len(text)");
        return NULL;
    }
    Py_ssize_t nh = PyList_GET_SIZE(hits), ns = 0;
    Buffers b = {0};
    size_t words = (size_t)nh;
    b.starts = PyMem_Malloc(sizeof(Py_ssize_t) * words);
    b.ends = PyMem_Malloc(sizeof(Py_ssize_t) * words);
    b.terms = PyMem_Malloc(sizeof(Py_ssize_t) * words);
    if (b.starts == NULL || b.ends == NULL || b.terms == NULL) {
        free_buffers(&b);
        return PyErr_NoMemory();
    }
    Py_ssize_t most = 0;
    for (Py_ssize_t i = 0; i < nh; i++) {
        PyObject *hit = PyList_GET_ITEM(hits, i);
        if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 3) {
            PyErr_SetString(PyExc_TypeError, "a hit is a tuple (start, end, term)");
            free_buffers(&b);
            return NULL;
        }
        Py_ssize_t *fields[3] = {&b.starts[i], &b.ends[i], &b.terms[i]};
        for (int f = 0; f < 3; f++) {
            *fields[f] = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, f));
            if (*fields[f] == -1 && PyErr_Occurred()) {
                free_buffers(&b);
                return NULL;
            }
        }
        /* term ids count a query's distinct stems: far below MOST_TERMS */
        if (b.starts[i] < 0 || b.ends[i] <= b.starts[i] || b.ends[i] > n || b.terms[i] < 0 ||
            b.terms[i] >= MOST_TERMS || (i > 0 && b.starts[i] < b.ends[i - 1])) {
            PyErr_SetString(PyExc_ValueError,
                            "hits must be words of the text, in order, with term ids "
                            "from 0 below 1,000,000");
            free_buffers(&b);
            return NULL;
        }
        if (b.terms[i] > most)
            most = b.terms[i];
    }
    b.seen = PyMem_Calloc((size_t)most + 1, sizeof(Py_ssize_t));
    b.sentences = starts_of_sentences(s, n, &ns);
    Py_ssize_t leading = nh < 500 ? nh : 500; /* hits that add a start: the first 500 */
    b.cands = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(ns + leading));
    b.aligned = PyMem_Malloc(sizeof(int) * (size_t)(ns + leading));
    b.bounds = PyMem_Malloc(sizeof(Score) * (size_t)(ns + leading));
    if (b.seen == NULL || b.sentences == NULL || b.cands == NULL || b.aligned == NULL ||
        b.bounds == NULL) {
        free_buffers(&b);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    /* Candidate starts: every sentence's, then shortly before each hit that is not close
       enough to its sentence's own (non-decreasing: a repeat is the last one added). */
    Py_ssize_t nc = 0, lead = budget / 4, last = -1;
    for (Py_ssize_t i = 0; i < ns; i++) {
        b.cands[nc] = b.sentences[i];
        b.aligned[nc++] = 1;
    }
    for (Py_ssize_t i = 0; i < leading; i++) {
        Py_ssize_t at = b.starts[i];
        Py_ssize_t sentence = b.sentences[lower_bound(b.sentences, 0, ns, at + 1) - 1];
        if (at - sentence <= lead)
            continue;
        Py_ssize_t pos = 0;
        for (Py_ssize_t k = at - lead; k >= 0; k--) {
            if (s[k] == ' ') {
                pos = k + 1;
                break;
            }
        }
        if (pos == last)
            continue;
        Py_ssize_t found = lower_bound(b.sentences, 0, ns, pos);
        if (found < ns && b.sentences[found] == pos)
            continue; /* a sentence's start already: aligned */
        last = pos;
        b.cands[nc] = pos;
        b.aligned[nc++] = 0;
    }
    Py_ssize_t nb = 0, stamp = 0;
    for (Py_ssize_t c = 0; c < nc; c++) {
        Py_ssize_t start = b.cands[c];
        Py_ssize_t first = lower_bound(b.starts, 0, nh, start);
        Py_ssize_t reach = upper_bound(b.ends, first, nh, start + budget);
        if (reach <= first)
            continue;
        Score *bound = &b.bounds[nb++];
        bound->key[0] = distinct(b.terms, first, reach, b.seen, ++stamp);
        bound->key[1] = b.aligned[c];
        bound->key[2] = reach - first;
        bound->key[3] = start - b.starts[first];
        bound->key[4] = -start;
    }
    qsort(b.bounds, (size_t)nb, sizeof(Score), score_desc);
    int have = 0;
    Score best = {{0}};
    Window chosen = {0};
    for (Py_ssize_t c = 0; c < nb; c++) {
        if (have && score_cmp(&b.bounds[c], &best) < 0)
            break;
        Window w = window_from(s, n, -b.bounds[c].key[4], (int)b.bounds[c].key[1],
                               b.sentences, ns, budget);
        Py_ssize_t first = lower_bound(b.starts, 0, nh, w.start);
        Py_ssize_t after = upper_bound(b.ends, first, nh, w.end);
        if (after <= first)
            continue;
        Score score = {{distinct(b.terms, first, after, b.seen, ++stamp), w.aligned,
                        after - first, -(b.starts[first] - w.start), -w.start}};
        if (!have || score_cmp(&score, &best) > 0) {
            best = score;
            chosen = w;
            have = 1;
        }
    }
    free_buffers(&b);
    if (!have)
        Py_RETURN_NONE;
    return Py_BuildValue("(nnOOO)", chosen.start, chosen.end, ellipses[chosen.prefix],
                         closings[chosen.suffix], chosen.aligned ? Py_True : Py_False);
}

/* spaced(text) -> bool

   Whether ASCII ``text`` is whitespace-normalised already: no whitespace but single
   spaces between other characters (``str.isspace``'s ASCII characters: tab, line feed,
   vertical tab, form feed, carriage return, the four separators 0x1c-0x1f, and the
   space), so that ``" ".join(text.split())`` would give it back unchanged. One pass over
   the bytes, where ``_normalize`` (snippets.py) looked for each break in turn. */
static PyObject *spaced(PyObject *module, PyObject *text) {
    Py_ssize_t n;
    const unsigned char *s = ascii_data(text, &n);
    if (s == NULL)
        return NULL;
    if (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))
        Py_RETURN_FALSE;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c > ' ')
            continue;
        if ((c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f) || (c == ' ' && s[i + 1] == ' '))
            Py_RETURN_FALSE; /* s[i + 1] is in the text: a space at n - 1 returned above */
    }
    Py_RETURN_TRUE;
}

/* A plain part of ``text``: ``make(text=text)`` (a new reference, NULL on error). */
static PyObject *plain_part(PyObject *make, PyObject *text) {
    static PyObject *names = NULL; /* ("text",): the one keyword a plain part is made with */
    if (names == NULL && (names = Py_BuildValue("(s)", "text")) == NULL)
        return NULL;
    PyObject *args[2] = {NULL, text};
    return PyObject_Vectorcall(make, args + 1, 0 | PY_VECTORCALL_ARGUMENTS_OFFSET, names);
}

/* Appends ``part`` (a new reference, or NULL with an exception set) to ``out`` and lets
   go of it: 0, or -1 with an exception set. */
static int append_new(PyObject *out, PyObject *part) {
    if (part == NULL)
        return -1;
    int failed = PyList_Append(out, part);
    Py_DECREF(part);
    return failed;
}

/* ``prefix + text[start:end]`` where ``prefix`` may be empty (a new reference). */
static PyObject *joined(PyObject *prefix, PyObject *text, Py_ssize_t start, Py_ssize_t end) {
    PyObject *piece = PyUnicode_Substring(text, start, end);
    if (piece == NULL || PyUnicode_GET_LENGTH(prefix) == 0)
        return piece;
    PyObject *both = PyUnicode_Concat(prefix, piece);
    Py_DECREF(piece);
    return both;
}

/* parts(text, start, end, hits, prefix, suffix, make, hit_part) -> list of parts

   ``_parts`` (snippets.py) for ASCII text: ``text[start:end]`` as parts, ``prefix``
   before it and ``suffix`` after it, each of ``hits`` (tuples start, end, term, in text
   order) inside the window as ``hit_part(word)`` and the text between as
   ``make(text=...)``, plain parts never empty. */
static PyObject *parts(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "parts takes 8 arguments");
        return NULL;
    }
    PyObject *text = args[0], *hits = args[3], *prefix = args[4], *suffix = args[5];
    PyObject *make = args[6], *hit_part = args[7];
    Py_ssize_t n;
    if (ascii_data(text, &n) == NULL)
        return NULL;
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    if (end == -1 && PyErr_Occurred())
        return NULL;
    if (!PyList_Check(hits) || !PyUnicode_Check(prefix) || !PyUnicode_Check(suffix)) {
        PyErr_SetString(PyExc_TypeError, "parts(str, int, int, list, str, str, type, callable)");
        return NULL;
    }
    if (start < 0 || end < start || end > n) {
        PyErr_SetString(PyExc_ValueError, "parts wants 0 <= start <= end <= len(text)");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    PyObject *plain = prefix; /* the plain text not yet made a part (borrowed or owned) */
    Py_INCREF(plain);
    Py_ssize_t pos = start, last_end = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(hits); i++) {
        PyObject *hit = PyList_GET_ITEM(hits, i);
        if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 3) {
            PyErr_SetString(PyExc_TypeError, "a hit is a tuple (start, end, term)");
            goto fail;
        }
        Py_ssize_t a = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 0));
        if (a == -1 && PyErr_Occurred())
            goto fail;
        Py_ssize_t b = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 1));
        if (b == -1 && PyErr_Occurred())
            goto fail;
        if (a < last_end || b <= a || b > n) {
            PyErr_SetString(PyExc_ValueError, "hits must be words of the text, in order");
            goto fail;
        }
        last_end = b;
        if (a < start || b > end)
            continue;
        PyObject *before = joined(plain, text, pos, a);
        if (before == NULL)
            goto fail;
        Py_SETREF(plain, before);
        if (PyUnicode_GET_LENGTH(plain) > 0 && append_new(out, plain_part(make, plain)) < 0)
            goto fail;
        PyObject *word = PyUnicode_Substring(text, a, b);
        if (word == NULL)
            goto fail;
        PyObject *hit_of_word = PyObject_CallOneArg(hit_part, word);
        Py_DECREF(word);
        if (append_new(out, hit_of_word) < 0)
            goto fail;
        Py_SETREF(plain, PyUnicode_FromStringAndSize(NULL, 0));
        if (plain == NULL)
            goto fail;
        pos = b;
    }
    PyObject *rest = joined(plain, text, pos, end);
    if (rest == NULL)
        goto fail;
    Py_SETREF(plain, rest);
    if (PyUnicode_GET_LENGTH(suffix) > 0) {
        PyObject *closed = PyUnicode_Concat(plain, suffix);
        if (closed == NULL)
            goto fail;
        Py_SETREF(plain, closed);
    }
    if (PyUnicode_GET_LENGTH(plain) > 0 && append_new(out, plain_part(make, plain)) < 0)
        goto fail;
    Py_DECREF(plain);
    return out;
fail:
    Py_XDECREF(plain);
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"word_hits", (PyCFunction)(void (*)(void))word_hits, METH_FASTCALL,
     "word_hits(text, prefixes, memo, look_up, hit): the words of ASCII text that "
     "start with a prefix and have a term (snippets.py)."},
    {"best_window", (PyCFunction)(void (*)(void))best_window, METH_FASTCALL,
     "best_window(text, hits, max_chars): the snippet window of ASCII text with the most "
     "distinct terms (snippets.py)."},
    {"sentence_starts", sentence_starts, METH_O,
     "sentence_starts(text): where the sentences of ASCII text start (snippets.py)."},
    {"spaced", spaced, METH_O,
     "spaced(text): whether ASCII text is whitespace-normalised already (snippets.py)."},
    {"parts", (PyCFunction)(void (*)(void))parts, METH_FASTCALL,
     "parts(text, start, end, hits, prefix, suffix, make, hit_part): a window of ASCII "
     "text as snippet parts (snippets.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "paperwire.text._scan",
    "The hot loops of result snippets over ASCII text (paperwire.text.snippets).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    const char *prefixes[3] = {"", "\xe2\x80\xa6", "\xe2\x80\xa6 "};
    const char *suffixes[3] = {"", "\xe2\x80\xa6", " \xe2\x80\xa6"};
    for (int i = 0; i < 3; i++) {
        if (ellipses[i] == NULL && (ellipses[i] = PyUnicode_FromString(prefixes[i])) == NULL)
            return NULL;
        if (closings[i] == NULL && (closings[i] = PyUnicode_FromString(suffixes[i])) == NULL)
            return NULL;
    }
    return PyModule_Create(&module);
}
