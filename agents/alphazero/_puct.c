/* The hot loops of the PUCT search (agents/alphazero/puct.py), compiled.
 *
 * mcts.Node keeps its children's statistics in one float64 buffer `stats` of
 * shape (5, k) over its k legal moves: rows N (visits), W (value sum), Q
 * (W / N, or the first-play value while N is 0), PU (prior / (1 + N)) and
 * P (the prior), and its legal actions as int64 in `move_buffer`.
 * Node.N, .W, .Q, .PU and .prior are numpy views of those rows, so what
 * these functions write is what Python reads, and the other way round.
 *
 * descend(root, c_base, c_init, virtual_loss, fpu) -> (path, node, i, action)
 *     Walks down from `root` by PUCT,
 *         a* = argmax_a Q(s,a) + C(s) sqrt(N(s)) P(s,a) / (1 + N(s,a)),
 *         C(s) = log((1 + N(s) + c_base) / c_base) + c_init,
 *     (the first maximum wins, as numpy's argmax), appending (node, a*) to
 *     `path` and adding the virtual loss to each edge taken. It stops at a
 *     node that is not expanded or is terminal (i = action = -1), or at an
 *     edge whose child does not exist yet (`node` is the parent, i the edge
 *     and `action` its move).
 *
 * backup(path, to_play, value, virtual_loss, fpu)
 *     For every (node, i) on the path: the real visit of this simulation
 *     replaces the virtual one, and `value` (for player `to_play`) is added
 *     for the node's player to move.
 *
 * expand_stats(priors, legal, fpu) -> (k, actions, stats)
 *     A newly evaluated node's statistics: the priors of its k legal moves,
 *     normalised to sum to 1 (uniform when they sum to 0), and fresh N, W, Q, PU.
 *     `legal` is the list of legal actions (ascending) or a mask over them.
 *
 * expand_backup(leaf, priors, legal, fpu, path, virtual_loss, value)
 *     What MCTS.expand does for an evaluated leaf: Node.expand (the fields
 *     set as that method sets them), the leaf's own visit, then backup().
 *
 * Every float operation is the one the Python/numpy version does, in the
 * same order, so both give identical statistics to the last bit (setup.py
 * compiles this file with -ffp-contract=off: no fused multiply-adds).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

static PyObject *s_expanded, *s_terminal, *s_visits, *s_stats, *s_move_buffer, *s_children,
    *s_to_play, *s_value_sum, *s_views, *s_actions, *s_clean_prior, *s_pending;

/* A float64 buffer of at least `need` items (read-only unless `writable`). */
static int get_doubles(PyObject *obj, Py_buffer *view, Py_ssize_t need, int writable,
                       const char *what) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    /* A float64 array, or raw bytes (the bytearray that expand_stats makes). */
    const char *fmt = view->format ? view->format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    int raw = view->itemsize == 1 && strcmp(fmt, "B") == 0;
    if (!raw && !(view->itemsize == 8 && strcmp(fmt, "d") == 0)) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "node.%s must be a float64 array", what);
        return -1;
    }
    if (view->len < need * 8) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "node.%s is shorter than the node's moves", what);
        return -1;
    }
    return 0;
}

static int get_double_attr(PyObject *obj, PyObject *name, double *out) {
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL) return -1;
    *out = PyFloat_AsDouble(v);
    Py_DECREF(v);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static int set_double_attr(PyObject *obj, PyObject *name, double value) {
    PyObject *v = PyFloat_FromDouble(value);
    if (v == NULL) return -1;
    int rc = PyObject_SetAttr(obj, name, v);
    Py_DECREF(v);
    return rc;
}

static int get_bool_attr(PyObject *obj, PyObject *name) {
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL) return -1;
    int truth = PyObject_IsTrue(v);
    Py_DECREF(v);
    return truth;
}

/* The number of legal moves of an expanded node: the length of its children list. */
static Py_ssize_t child_count(PyObject *children) {
    if (!PyList_Check(children)) {
        PyErr_SetString(PyExc_TypeError, "node.children must be a list");
        return -1;
    }
    return PyList_GET_SIZE(children);
}

/* One edge's statistics after `visits` more visits worth `value` in total (mcts.MCTS._visit). */
static inline void visit_edge(double *stats, Py_ssize_t k, Py_ssize_t i, double visits,
                              double value, double fpu) {
    double n = stats[i] + visits;
    double w = stats[k + i] + value;
    stats[i] = n;
    stats[k + i] = w;
    stats[2 * k + i] = n > 0 ? w / n : fpu;
    stats[3 * k + i] = stats[4 * k + i] / (1.0 + n);
}

static PyObject *descend(PyObject *self, PyObject *args) {
    PyObject *root;
    double c_base, c_init, vl, fpu;
    if (!PyArg_ParseTuple(args, "Odddd", &root, &c_base, &c_init, &vl, &fpu)) return NULL;
    PyObject *path = PyList_New(0);
    if (path == NULL) return NULL;
    PyObject *node = root;
    Py_INCREF(node);
    Py_ssize_t stop = -1;
    long long action = -1;
    for (;;) {
        int expanded = get_bool_attr(node, s_expanded);
        if (expanded < 0) goto fail;
        if (!expanded) break;
        int terminal = get_bool_attr(node, s_terminal);
        if (terminal < 0) goto fail;
        if (terminal) break;
        double n;
        if (get_double_attr(node, s_visits, &n) < 0) goto fail;
        PyObject *children = PyObject_GetAttr(node, s_children);
        if (children == NULL) goto fail;
        Py_ssize_t k = child_count(children);
        if (k <= 0) {
            if (k == 0)
                PyErr_SetString(PyExc_ValueError, "an expanded, non-terminal node has no moves");
            Py_DECREF(children);
            goto fail;
        }
        PyObject *stats_obj = PyObject_GetAttr(node, s_stats);
        if (stats_obj == NULL) {
            Py_DECREF(children);
            goto fail;
        }
        Py_buffer sv;
        int rc = get_doubles(stats_obj, &sv, 5 * k, 1, "stats");
        Py_DECREF(stats_obj);
        if (rc < 0) {
            Py_DECREF(children);
            goto fail;
        }
        double *stats = (double *)sv.buf;
        const double *Q = stats + 2 * k, *PU = stats + 3 * k;
        double scale = (log((1.0 + n + c_base) / c_base) + c_init) * sqrt(n);
        Py_ssize_t best = 0;
        double best_u = Q[0] + scale * PU[0];
        if (best_u == best_u) {  /* numpy's argmax stops at the first NaN */
            for (Py_ssize_t j = 1; j < k; j++) {
                double u = Q[j] + scale * PU[j];
                if (u > best_u || u != u) {
                    best = j;
                    best_u = u;
                    if (u != u) break;
                }
            }
        }
        if (vl != 0.0) {
            visit_edge(stats, k, best, vl, -vl, fpu);
            if (set_double_attr(node, s_visits, n + vl) < 0) {
                PyBuffer_Release(&sv);
                Py_DECREF(children);
                goto fail;
            }
        }
        PyBuffer_Release(&sv);
        PyObject *edge = Py_BuildValue("(On)", node, best);
        if (edge == NULL || PyList_Append(path, edge) < 0) {
            Py_XDECREF(edge);
            Py_DECREF(children);
            goto fail;
        }
        Py_DECREF(edge);
        PyObject *child = PyList_GET_ITEM(children, best);
        if (child == Py_None) {
            Py_DECREF(children);
            stop = best;
            PyObject *moves_obj = PyObject_GetAttr(node, s_move_buffer);
            if (moves_obj == NULL) goto fail;
            Py_buffer av;
            rc = PyObject_GetBuffer(moves_obj, &av, PyBUF_C_CONTIGUOUS);
            Py_DECREF(moves_obj);
            if (rc < 0) goto fail;
            if ((av.itemsize != 8 && av.itemsize != 1) || av.len < 8 * k) {
                PyBuffer_Release(&av);
                PyErr_SetString(PyExc_TypeError, "node.move_buffer must hold k int64 actions");
                goto fail;
            }
            action = ((const long long *)av.buf)[best];
            PyBuffer_Release(&av);
            break;
        }
        Py_INCREF(child);
        Py_DECREF(children);
        Py_DECREF(node);
        node = child;
    }
    PyObject *result = Py_BuildValue("(NNnL)", path, node, stop, action);
    return result;
fail:
    Py_DECREF(node);
    Py_DECREF(path);
    return NULL;
}

/* The body of backup(); 0, or -1 with an exception set. */
static int backup_path(PyObject *path, long to_play, double value, double vl, double fpu) {
    double visits = 1.0 - vl;
    Py_ssize_t length = PyList_GET_SIZE(path);
    for (Py_ssize_t e = 0; e < length; e++) {
        PyObject *edge = PyList_GET_ITEM(path, e);
        if (!PyTuple_Check(edge) || PyTuple_GET_SIZE(edge) != 2) {
            PyErr_SetString(PyExc_TypeError, "path items must be (node, index) pairs");
            return -1;
        }
        PyObject *node = PyTuple_GET_ITEM(edge, 0);
        Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(edge, 1));
        if (i == -1 && PyErr_Occurred()) return -1;
        PyObject *player_obj = PyObject_GetAttr(node, s_to_play);
        if (player_obj == NULL) return -1;
        long player = PyLong_AsLong(player_obj);
        Py_DECREF(player_obj);
        if (player == -1 && PyErr_Occurred()) return -1;
        double v = player == to_play ? value : -value;
        double value_sum, node_visits;
        if (get_double_attr(node, s_value_sum, &value_sum) < 0 ||
            get_double_attr(node, s_visits, &node_visits) < 0)
            return -1;
        PyObject *children = PyObject_GetAttr(node, s_children);
        if (children == NULL) return -1;
        Py_ssize_t k = child_count(children);
        Py_DECREF(children);
        if (k < 0) return -1;
        if (i < 0 || i >= k) {
            PyErr_SetString(PyExc_IndexError, "path index out of the node's moves");
            return -1;
        }
        PyObject *stats_obj = PyObject_GetAttr(node, s_stats);
        if (stats_obj == NULL) return -1;
        Py_buffer sv;
        int rc = get_doubles(stats_obj, &sv, 5 * k, 1, "stats");
        Py_DECREF(stats_obj);
        if (rc < 0) return -1;
        /* The Python loop's `w = W[i] + v + virtual_loss` adds left to right. */
        double *stats = (double *)sv.buf;
        double n = stats[i] + visits;
        double w = stats[k + i] + v + vl;
        stats[i] = n;
        stats[k + i] = w;
        stats[2 * k + i] = n > 0 ? w / n : fpu;
        stats[3 * k + i] = stats[4 * k + i] / (1.0 + n);
        PyBuffer_Release(&sv);
        if (set_double_attr(node, s_value_sum, value_sum + v) < 0 ||
            set_double_attr(node, s_visits, node_visits + visits) < 0)
            return -1;
    }
    return 0;
}

static PyObject *backup(PyObject *self, PyObject *args) {
    PyObject *path;
    long to_play;
    double value, vl, fpu;
    if (!PyArg_ParseTuple(args, "O!lddd", &PyList_Type, &path, &to_play, &value, &vl, &fpu))
        return NULL;
    if (backup_path(path, to_play, value, vl, fpu) < 0) return NULL;
    Py_RETURN_NONE;
}

/* numpy's float64 sum (np.add.reduce): pairwise, with eight accumulators per block of up to
 * 128 items, so the normalised priors equal numpy's to the last bit. */
static double pairwise_sum(const double *a, Py_ssize_t n) {
    if (n < 8) {
        double res = 0.0;
        for (Py_ssize_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        Py_ssize_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    Py_ssize_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

/* The body of expand_stats(): 0 with new references in *actions_out and *stats_out (k items),
 * or -1 with an exception set. */
static int make_stats(PyObject *priors_obj, PyObject *legal_obj, double fpu, Py_ssize_t *k_out,
                      PyObject **actions_out, PyObject **stats_out) {
    Py_buffer pv;
    if (PyObject_GetBuffer(priors_obj, &pv, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *fmt = pv.format ? pv.format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    int is_float = strcmp(fmt, "f") == 0 && pv.itemsize == 4;
    int is_double = strcmp(fmt, "d") == 0 && pv.itemsize == 8;
    if (!is_float && !is_double) {
        PyBuffer_Release(&pv);
        PyErr_SetString(PyExc_TypeError, "priors must be float32 or float64");
        return -1;
    }
    Py_ssize_t num_actions = pv.len / pv.itemsize;
    /* The legal actions: a list of ints (ascending), or a mask with one byte per action. */
    PyObject *seq = NULL;
    Py_buffer mv;
    mv.obj = NULL;
    Py_ssize_t k = 0;
    if (PyList_Check(legal_obj)) {
        seq = legal_obj;
        k = PyList_GET_SIZE(seq);
    } else {
        if (PyObject_GetBuffer(legal_obj, &mv, PyBUF_C_CONTIGUOUS) < 0) goto fail;
        if (mv.itemsize != 1 || mv.len > num_actions) {
            PyErr_SetString(PyExc_TypeError,
                            "the legal mask must have one byte per action (no more than priors)");
            goto fail;
        }
        const char *mask = (const char *)mv.buf;
        for (Py_ssize_t a = 0; a < mv.len; a++) k += mask[a] != 0;
    }
    PyObject *actions = PyBytes_FromStringAndSize(NULL, k * (Py_ssize_t)sizeof(long long));
    if (actions == NULL) goto fail;
    PyObject *stats = PyByteArray_FromStringAndSize(NULL, 5 * k * (Py_ssize_t)sizeof(double));
    if (stats == NULL) {
        Py_DECREF(actions);
        goto fail;
    }
    long long *act = (long long *)PyBytes_AS_STRING(actions);
    double *st = (double *)PyByteArray_AS_STRING(stats);
    double *prior = st + 4 * k;
    if (seq != NULL) {
        for (Py_ssize_t j = 0; j < k; j++) {
            Py_ssize_t a = PyLong_AsSsize_t(PyList_GET_ITEM(seq, j));
            if (a == -1 && PyErr_Occurred()) goto fail_out;
            if (a < 0 || a >= num_actions) {
                PyErr_Format(PyExc_IndexError, "legal action %zd is out of the priors' range", a);
                goto fail_out;
            }
            act[j] = a;
        }
    } else {
        const char *mask = (const char *)mv.buf;
        Py_ssize_t j = 0;
        for (Py_ssize_t a = 0; a < mv.len; a++)
            if (mask[a]) act[j++] = a;
        PyBuffer_Release(&mv);
        mv.obj = NULL;
    }
    if (is_float) {
        const float *pr = (const float *)pv.buf;
        for (Py_ssize_t j = 0; j < k; j++) prior[j] = (double)pr[act[j]];
    } else {
        const double *pr = (const double *)pv.buf;
        for (Py_ssize_t j = 0; j < k; j++) prior[j] = pr[act[j]];
    }
    PyBuffer_Release(&pv);
    if (k > 0) {
        double total = pairwise_sum(prior, k);
        /* A network that puts no mass on any legal move still must be searchable. */
        if (total > 0) {
            for (Py_ssize_t j = 0; j < k; j++) prior[j] /= total;
        } else {
            for (Py_ssize_t j = 0; j < k; j++) prior[j] = 1.0 / (double)k;
        }
    }
    for (Py_ssize_t j = 0; j < k; j++) {
        st[j] = 0.0;               /* N */
        st[k + j] = 0.0;           /* W */
        st[2 * k + j] = fpu;       /* Q */
        st[3 * k + j] = prior[j];  /* PU = P / (1 + 0) */
    }
    *k_out = k;
    *actions_out = actions;
    *stats_out = stats;
    return 0;
fail_out:
    Py_DECREF(actions);
    Py_DECREF(stats);
fail:
    if (mv.obj != NULL) PyBuffer_Release(&mv);
    PyBuffer_Release(&pv);
    return -1;
}

static PyObject *expand_stats(PyObject *self, PyObject *args) {
    PyObject *priors_obj, *legal_obj, *actions, *stats;
    double fpu;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOd", &priors_obj, &legal_obj, &fpu)) return NULL;
    if (make_stats(priors_obj, legal_obj, fpu, &k, &actions, &stats) < 0) return NULL;
    return Py_BuildValue("(nNN)", k, actions, stats);
}

static int set_attr_steal(PyObject *obj, PyObject *name, PyObject *value) {
    if (value == NULL) return -1;
    int rc = PyObject_SetAttr(obj, name, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *expand_backup(PyObject *self, PyObject *args) {
    PyObject *leaf, *priors_obj, *legal_obj, *path, *actions, *stats;
    double fpu, vl, value;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOOdO!dd", &leaf, &priors_obj, &legal_obj, &fpu, &PyList_Type,
                          &path, &vl, &value))
        return NULL;
    if (make_stats(priors_obj, legal_obj, fpu, &k, &actions, &stats) < 0) return NULL;
    PyObject *children = PyList_New(k);
    if (children == NULL) {
        Py_DECREF(actions);
        Py_DECREF(stats);
        return NULL;
    }
    for (Py_ssize_t j = 0; j < k; j++) {
        Py_INCREF(Py_None);
        PyList_SET_ITEM(children, j, Py_None);
    }
    double visits, value_sum;
    if (set_attr_steal(leaf, s_move_buffer, actions) < 0 ||
        set_attr_steal(leaf, s_stats, stats) < 0 ||
        set_attr_steal(leaf, s_children, children) < 0 ||
        PyObject_SetAttr(leaf, s_views, Py_None) < 0 ||
        PyObject_SetAttr(leaf, s_actions, Py_None) < 0 ||
        PyObject_SetAttr(leaf, s_clean_prior, Py_None) < 0 ||
        PyObject_SetAttr(leaf, s_expanded, Py_True) < 0 ||
        PyObject_SetAttr(leaf, s_pending, Py_False) < 0 ||
        get_double_attr(leaf, s_visits, &visits) < 0 ||
        get_double_attr(leaf, s_value_sum, &value_sum) < 0 ||
        set_double_attr(leaf, s_visits, visits + 1.0) < 0 ||
        set_double_attr(leaf, s_value_sum, value_sum + value) < 0)
        return NULL;
    PyObject *player_obj = PyObject_GetAttr(leaf, s_to_play);
    if (player_obj == NULL) return NULL;
    long to_play = PyLong_AsLong(player_obj);
    Py_DECREF(player_obj);
    if (to_play == -1 && PyErr_Occurred()) return NULL;
    if (backup_path(path, to_play, value, vl, fpu) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"expand_stats", expand_stats, METH_VARARGS,
     "expand_stats(priors, legal, fpu) -> (k, actions, stats): a new node's statistics.\n\n"
     "legal: the legal actions as a list of ints (ascending) or a mask, one byte per action.\n"
     "actions: int64 bytes of the k legal actions; stats: a bytearray of (5, k) float64,\n"
     "rows N, W, Q, PU and the priors restricted to the legal actions and normalised."},
    {"descend", descend, METH_VARARGS,
     "descend(root, c_base, c_init, virtual_loss, fpu) -> (path, node, i, action): the PUCT walk."},
    {"backup", backup, METH_VARARGS,
     "backup(path, to_play, value, virtual_loss, fpu): back a value up a path."},
    {"expand_backup", expand_backup, METH_VARARGS,
     "expand_backup(leaf, priors, legal, fpu, path, virtual_loss, value): Node.expand, then\n"
     "the leaf's own visit and backup() along the path, in one call."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_puct", "The hot loops of the PUCT search.", -1, methods,
};

PyMODINIT_FUNC PyInit__puct(void) {
#define INTERN(var, text) \
    if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL
    INTERN(s_expanded, "expanded");
    INTERN(s_terminal, "terminal");
    INTERN(s_visits, "visits");
    INTERN(s_stats, "stats");
    INTERN(s_move_buffer, "move_buffer");
    INTERN(s_children, "children");
    INTERN(s_to_play, "to_play");
    INTERN(s_value_sum, "value_sum");
    INTERN(s_views, "_views");
    INTERN(s_actions, "_actions");
    INTERN(s_clean_prior, "_clean_prior");
    INTERN(s_pending, "pending");
#undef INTERN
    return PyModule_Create(&module);
}
