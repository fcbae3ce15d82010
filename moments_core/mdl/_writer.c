/* The canonical MDL writer's loop, in C (issue 18: writing plain says-lines at twice the
 * older writer's speed, which a Python loop cannot do: most of its time per line went to
 * the interpreter, not to the text).
 *
 * write(occurrences, participant_type, heads, quote_emotion) -> str
 *
 * Writes exactly what moments_core.mdl.moment._write_python writes: one occurrence per
 * line, each line ending in a newline. Occurrences of exactly ``participant_type`` and of
 * the types in ``heads`` (type -> "Self: " and the like) are written here, their says
 * quoted as quoting.quote_says does; every other occurrence (and one whose fields are not
 * plain str) by its own to_mdl(). An emotion goes through ``quote_emotion``.
 *
 * Two passes: the first measures every line (and the widest character, which fixes the
 * result's kind), the second copies into one string of exactly that size. No per-line
 * string is made for a says-line.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>
#include <wchar.h>

/* One line as pass 1 found it. Every reference is owned: an occurrence's to_mdl() runs
 * Python code between the passes, which could drop what a borrowed one points to. */
typedef struct {
    PyObject *head;   /* "Self: " or "Name (identifier): "; NULL for to_mdl lines */
    PyObject *emo;    /* "(emotion) ", or NULL */
    PyObject *text;   /* says, or the to_mdl() text */
    Py_ssize_t escapes; /* backslashes and double quotes in says */
    char newline;     /* says holds a newline: triple quotes */
} Line;

/* Slot offsets of a says-kind type, found once per type. */
typedef struct {
    PyTypeObject *type;
    Py_ssize_t says, emotion, name, identifier;
} Layout;

#define MAX_LAYOUTS 8
static Layout layouts[MAX_LAYOUTS];
static int n_layouts = 0;
static PyObject *str_to_mdl = NULL;

static Py_ssize_t
member_offset(PyTypeObject *type, const char *name)
{
    PyObject *d = PyObject_GetAttrString((PyObject *)type, name);
    Py_ssize_t off = -1;
    if (d == NULL) {
        PyErr_Clear();
        return -1;
    }
    if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type == T_OBJECT_EX || m->type == T_OBJECT)
            off = m->offset;
    }
    Py_DECREF(d);
    return off;
}

static const Layout *
layout_of(PyTypeObject *type, int participant)
{
    for (int i = 0; i < n_layouts; i++)
        if (layouts[i].type == type)
            return &layouts[i];
    if (n_layouts == MAX_LAYOUTS)
        return NULL;
    Layout l;
    l.type = type;
    l.says = member_offset(type, "says");
    l.emotion = member_offset(type, "emotion");
    l.name = participant ? member_offset(type, "name") : 0;
    l.identifier = participant ? member_offset(type, "identifier") : 0;
    if (l.says < 0 || l.emotion < 0 || l.name < 0 || l.identifier < 0)
        return NULL;
    Py_INCREF(type); /* kept for the life of the process, as the offsets are */
    layouts[n_layouts] = l;
    return &layouts[n_layouts++];
}

/* A slot's value when it is a str (borrowed), else NULL. */
static inline PyObject *
slot_str(PyObject *o, Py_ssize_t offset)
{
    PyObject *v = *(PyObject **)((char *)o + offset);
    return (v != NULL && PyUnicode_CheckExact(v)) ? v : NULL;
}

/* n characters of s from ``from`` copied into the result at *pos. The result is at
 * least as wide as s (its kind was chosen from the widest piece), so each (source,
 * result) pair of kinds is a memcpy or a plain widening loop. */
#define COPY(ST, DT)                                                            \
    do {                                                                        \
        const ST *sp = (const ST *)sdata + from;                                \
        DT *dp = (DT *)data + *pos;                                             \
        if (sizeof(ST) == sizeof(DT))                                           \
            memcpy(dp, sp, (size_t)n * sizeof(ST));                             \
        else                                                                    \
            for (Py_ssize_t i = 0; i < n; i++)                                  \
                dp[i] = (DT)sp[i];                                              \
    } while (0)

static inline void
copy_run(int kind, void *data, Py_ssize_t *pos, int skind, const void *sdata,
         Py_ssize_t from, Py_ssize_t n)
{
    if (kind == PyUnicode_1BYTE_KIND) {
        COPY(Py_UCS1, Py_UCS1);
    } else if (kind == PyUnicode_2BYTE_KIND) {
        if (skind == PyUnicode_1BYTE_KIND)
            COPY(Py_UCS1, Py_UCS2);
        else
            COPY(Py_UCS2, Py_UCS2);
    } else {
        if (skind == PyUnicode_1BYTE_KIND)
            COPY(Py_UCS1, Py_UCS4);
        else if (skind == PyUnicode_2BYTE_KIND)
            COPY(Py_UCS2, Py_UCS4);
        else
            COPY(Py_UCS4, Py_UCS4);
    }
    *pos += n;
}

/* Where the next c is in s at or after i (n: none); memchr and wmemchr search many
 * characters at a time (wchar_t is 4 bytes here: one UCS4 character). */
static inline Py_ssize_t
find(int skind, const void *sdata, Py_ssize_t i, Py_ssize_t n, Py_UCS4 c)
{
    if (skind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *p = (const Py_UCS1 *)sdata;
        const Py_UCS1 *at = memchr(p + i, (int)c, (size_t)(n - i));
        return at ? at - p : n;
    }
#if WCHAR_MAX > 0xFFFF
    if (skind == PyUnicode_4BYTE_KIND) {
        const wchar_t *p = (const wchar_t *)sdata;
        const wchar_t *at = wmemchr(p + i, (wchar_t)c, (size_t)(n - i));
        return at ? at - p : n;
    }
#endif
    for (; i < n; i++)
        if (PyUnicode_READ(skind, sdata, i) == c)
            return i;
    return n;
}

/* Backslashes and double quotes in s; *newline set when s holds a newline. One pass
 * that the compiler vectorizes (no early exit); with AVX2 where the CPU has it. */
#define COUNT(T)                                                                \
    do {                                                                        \
        const T *p = (const T *)data;                                           \
        for (Py_ssize_t i = 0; i < n; i++) {                                    \
            count += (p[i] == '"') | (p[i] == '\\');                            \
            nl |= (p[i] == '\n');                                               \
        }                                                                       \
    } while (0)

__attribute__((target_clones("avx2", "default")))
static Py_ssize_t
count_escapes(PyObject *s, char *newline)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), count = 0, nl = 0;
    const void *data = PyUnicode_DATA(s);
    switch (PyUnicode_KIND(s)) {
    case PyUnicode_1BYTE_KIND:
        COUNT(Py_UCS1);
        break;
    case PyUnicode_2BYTE_KIND:
        COUNT(Py_UCS2);
        break;
    default:
        COUNT(Py_UCS4);
    }
    *newline = (char)(nl != 0);
    return count;
}

#define ESCAPE(ST, DT)                                                          \
    do {                                                                        \
        const ST *sp = (const ST *)sdata;                                       \
        DT *dp = (DT *)data + *pos;                                             \
        for (Py_ssize_t i = 0; i < n; i++) {                                    \
            ST c = sp[i];                                                       \
            if (c == '"' || c == '\\')                                          \
                *dp++ = '\\';                                                   \
            *dp++ = (DT)c;                                                      \
        }                                                                       \
        *pos = dp - (DT *)data;                                                 \
    } while (0)

/* s copied into the result at *pos; with ``escape``, a backslash before each backslash
 * and double quote (the runs between them are copied whole). */
static inline void
put(int kind, void *data, Py_ssize_t *pos, PyObject *s, int escape)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const void *sdata = PyUnicode_DATA(s);
    int skind = PyUnicode_KIND(s);
    if (!escape) {
        copy_run(kind, data, pos, skind, sdata, 0, n);
        return;
    }
    if (n <= 256) { /* a short line: one pass, a character at a time */
        if (kind == PyUnicode_1BYTE_KIND)
            ESCAPE(Py_UCS1, Py_UCS1);
        else if (kind == PyUnicode_2BYTE_KIND && skind == PyUnicode_1BYTE_KIND)
            ESCAPE(Py_UCS1, Py_UCS2);
        else if (kind == PyUnicode_2BYTE_KIND)
            ESCAPE(Py_UCS2, Py_UCS2);
        else if (skind == PyUnicode_1BYTE_KIND)
            ESCAPE(Py_UCS1, Py_UCS4);
        else if (skind == PyUnicode_2BYTE_KIND)
            ESCAPE(Py_UCS2, Py_UCS4);
        else
            ESCAPE(Py_UCS4, Py_UCS4);
        return;
    }
    Py_ssize_t start = 0, quote = find(skind, sdata, 0, n, '"'),
               slash = find(skind, sdata, 0, n, '\\');
    while (start < n) {
        Py_ssize_t at = quote < slash ? quote : slash;
        copy_run(kind, data, pos, skind, sdata, start, at - start);
        if (at == n)
            break;
        PyUnicode_WRITE(kind, data, *pos, '\\');
        PyUnicode_WRITE(kind, data, *pos + 1, PyUnicode_READ(skind, sdata, at));
        *pos += 2;
        start = at + 1;
        if (at == quote)
            quote = find(skind, sdata, start, n, '"');
        else
            slash = find(skind, sdata, start, n, '\\');
    }
}

static inline void
put_ascii(int kind, void *data, Py_ssize_t *pos, const char *s, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        PyUnicode_WRITE(kind, data, *pos + i, (Py_UCS4)(unsigned char)s[i]);
    *pos += n;
}

static inline Py_UCS4
widest(Py_UCS4 a, PyObject *s)
{
    Py_UCS4 b = PyUnicode_MAX_CHAR_VALUE(s);
    return a > b ? a : b;
}

/* The head of a participant's line: "Name: " or "Name (identifier): ", one string per
 * speaker (cache: name, or (name, identifier) -> head). Borrowed from the cache. */
static PyObject *
participant_head(PyObject *cache, PyObject *name, PyObject *identifier)
{
    PyObject *key, *head;
    int plain = PyUnicode_GET_LENGTH(identifier) == 0;
    if (plain) {
        key = name;
        Py_INCREF(key);
    } else {
        key = PyTuple_Pack(2, name, identifier);
        if (key == NULL)
            return NULL;
    }
    head = PyDict_GetItemWithError(cache, key);
    if (head == NULL && !PyErr_Occurred()) {
        head = plain ? PyUnicode_FromFormat("%U: ", name)
                     : PyUnicode_FromFormat("%U (%U): ", name, identifier);
        if (head != NULL) {
            int failed = PyDict_SetItem(cache, key, head);
            Py_DECREF(head); /* the cache holds it */
            if (failed)
                head = NULL;
        }
    }
    Py_DECREF(key);
    return head;
}

static PyObject *
mdl_write(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "write(occurrences, participant_type, heads, quote_emotion)");
        return NULL;
    }
    /* A tuple of its own: Python code run below (to_mdl) cannot resize it under us. */
    PyObject *seq = PySequence_Tuple(args[0]);
    if (seq == NULL)
        return NULL;
    PyTypeObject *participant = (PyTypeObject *)args[1];
    PyObject *heads = args[2], *quote_emotion = args[3];
    if (!PyType_Check(args[1]) || !PyDict_Check(heads)) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_TypeError, "participant_type must be a type, heads a dict");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    PyObject **items = &PyTuple_GET_ITEM(seq, 0);
    PyObject *result = NULL, *cache = NULL;
    Line *lines = NULL;
    Py_ssize_t done = 0, total = 0;
    Py_UCS4 maxchar = 0x7f;
    /* Per call: the says kinds met (type -> head, layout), the participant's layout,
     * and the last speaker (name, identifier -> head; borrowed from the cache). */
    struct { PyTypeObject *type; PyObject *head; const Layout *layout; } seen[MAX_LAYOUTS];
    int n_seen = 0;
    const Layout *participant_layout = NULL;
    PyObject *last_name = NULL, *last_ident = NULL, *last_head = NULL;
    /* The last says-kind seen and its says slot, for prefetching. */
    PyTypeObject *last_type = NULL;
    Py_ssize_t last_says_offset = 0;

    if (n == 0) {
        Py_DECREF(seq);
        return PyUnicode_New(0, 0);
    }
    lines = PyMem_Calloc((size_t)n, sizeof(Line));
    cache = PyDict_New();
    if (lines == NULL || cache == NULL) {
        PyErr_NoMemory();
        goto finally;
    }
    /* Pass 1: what each line holds, and its length. */
    for (; done < n; done++) {
        PyObject *o = items[done];
        PyTypeObject *type = Py_TYPE(o);
        /* A long conversation's objects lie all over the heap: ask for the next ones
         * ahead (the occurrence, then its says) so the loop does not wait on memory. */
        if (done + 8 < n)
            __builtin_prefetch(items[done + 8]);
        if (done + 4 < n && last_type != NULL && Py_TYPE(items[done + 4]) == last_type) {
            PyObject *ahead = *(PyObject **)((char *)items[done + 4] + last_says_offset);
            if (ahead != NULL)
                __builtin_prefetch(ahead);
        }
        Line *line = &lines[done];
        PyObject *head = NULL, *says = NULL, *emotion = NULL;
        const Layout *l = NULL;
        if (type == participant) {
            if (participant_layout == NULL)
                participant_layout = layout_of(type, 1);
            l = participant_layout;
        } else {
            /* The few says kinds of this call, remembered (a dict lookup per line was
             * a good part of the loop's time). */
            int k = 0;
            while (k < n_seen && seen[k].type != type)
                k++;
            if (k < n_seen) {
                head = seen[k].head;
                l = seen[k].layout;
            } else {
                head = PyDict_GetItemWithError(heads, (PyObject *)type);
                if (head == NULL && PyErr_Occurred())
                    goto finally;
                l = head != NULL ? layout_of(type, 0) : NULL;
                if (n_seen < MAX_LAYOUTS) {
                    seen[n_seen].type = type;
                    Py_XINCREF(head);
                    seen[n_seen].head = head;
                    seen[n_seen].layout = l;
                    n_seen++;
                }
            }
        }
        if (l != NULL) {
            last_says_offset = l->says;
            last_type = type;
            says = slot_str(o, l->says);
            emotion = slot_str(o, l->emotion);
            if (type == participant && says != NULL && emotion != NULL) {
                PyObject *name = slot_str(o, l->name), *ident = slot_str(o, l->identifier);
                if (name != NULL && name == last_name && ident == last_ident) {
                    head = last_head; /* the same speaker's objects as the line before */
                } else {
                    head = (name != NULL && ident != NULL)
                               ? participant_head(cache, name, ident) : NULL;
                    if (head == NULL && PyErr_Occurred())
                        goto finally;
                    /* Held, so that neither address can be another string's later. */
                    Py_XINCREF(name);
                    Py_XINCREF(ident);
                    Py_XSETREF(last_name, name);
                    Py_XSETREF(last_ident, ident);
                    last_head = head;
                }
            }
            if (head != NULL && !PyUnicode_Check(head))
                head = NULL;
        }
        if (l == NULL || says == NULL || emotion == NULL || head == NULL) {
            /* Not a says-line this loop knows: the occurrence writes itself. */
            PyObject *text = PyObject_CallMethodNoArgs(o, str_to_mdl);
            if (text == NULL)
                goto finally;
            if (!PyUnicode_Check(text)) {
                PyErr_Format(PyExc_TypeError, "%s.to_mdl() returned %s, not str",
                             type->tp_name, Py_TYPE(text)->tp_name);
                Py_DECREF(text);
                goto finally;
            }
            line->text = text;
            total += PyUnicode_GET_LENGTH(text) + 1;
            maxchar = widest(maxchar, text);
            continue;
        }
        Py_INCREF(head);
        line->head = head;
        Py_INCREF(says);
        line->text = says;
        if (PyUnicode_GET_LENGTH(emotion)) {
            line->emo = PyObject_CallOneArg(quote_emotion, emotion);
            if (line->emo == NULL)
                goto finally;
            if (!PyUnicode_Check(line->emo)) {
                PyErr_SetString(PyExc_TypeError, "quote_emotion returned no str");
                goto finally;
            }
            total += PyUnicode_GET_LENGTH(line->emo);
            maxchar = widest(maxchar, line->emo);
        }
        line->escapes = count_escapes(says, &line->newline);
        total += PyUnicode_GET_LENGTH(head) + PyUnicode_GET_LENGTH(says) + line->escapes
                 + (line->newline ? 6 : 2) + 1;
        maxchar = widest(widest(maxchar, head), says);
    }

    /* Pass 2: one string of exactly that size. */
    result = PyUnicode_New(total, maxchar);
    if (result == NULL)
        goto finally;
    {
        int kind = PyUnicode_KIND(result);
        void *data = PyUnicode_DATA(result);
        Py_ssize_t pos = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            Line *line = &lines[i];
            if (i + 4 < n)
                __builtin_prefetch(lines[i + 4].text);
            if (line->head == NULL) {
                put(kind, data, &pos, line->text, 0);
            } else {
                const char *quote = line->newline ? "\"\"\"" : "\"";
                Py_ssize_t q = line->newline ? 3 : 1;
                put(kind, data, &pos, line->head, 0);
                if (line->emo != NULL)
                    put(kind, data, &pos, line->emo, 0);
                put_ascii(kind, data, &pos, quote, q);
                put(kind, data, &pos, line->text, line->escapes != 0);
                put_ascii(kind, data, &pos, quote, q);
            }
            PyUnicode_WRITE(kind, data, pos, '\n');
            pos++;
            /* Let go of the line's texts now, while they are in the cache (a pass of its
             * own over 100,000 strings would read each from memory once more). */
            Py_CLEAR(line->head);
            Py_CLEAR(line->emo);
            Py_CLEAR(line->text);
        }
        if (pos != total) {
            PyErr_SetString(PyExc_SystemError, "MDL writer: length mismatch");
            goto failed;
        }
    }
    goto finally;
failed:
    Py_CLEAR(result);
finally:
    if (lines != NULL) {
        for (Py_ssize_t i = 0; i < n && i <= done; i++) {
            Py_XDECREF(lines[i].head);
            Py_XDECREF(lines[i].emo);
            Py_XDECREF(lines[i].text);
        }
        PyMem_Free(lines);
    }
    for (int k = 0; k < n_seen; k++)
        Py_XDECREF(seen[k].head);
    Py_XDECREF(last_name);
    Py_XDECREF(last_ident);
    Py_XDECREF(cache);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"write", (PyCFunction)(void (*)(void))mdl_write, METH_FASTCALL,
     "write(occurrences, participant_type, heads, quote_emotion) -> str: canonical MDL."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_writer", "The canonical MDL writer's loop, in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__writer(void)
{
    str_to_mdl = PyUnicode_InternFromString("to_mdl");
    if (str_to_mdl == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
