/*
 * games.go._core: the Go rules engine behind games.go.state.GoState.
 *
 * One `Board` object is one position. Everything a position owns lives in one
 * allocation (the object's variable-size tail), so `copy()` is an allocation
 * plus a memcpy; the only other buffer is the positional-superko hash list,
 * which exists only when superko is on.
 *
 * Representation
 * --------------
 * The board is padded: (size+2)^2 points with an EDGE border, so neighbours
 * never need bounds checks. Point p = (row+1)*W + (col+1), W = size+2, row 0
 * at the top. Stones of a group form a circular list (next[]) and each stone
 * records its group's head (head[]). Per group (stored at the head) we keep
 * pseudo-liberties: the number of (stone, empty neighbour) adjacencies, the
 * sum of those empty points and the sum of their squares. A group has exactly
 * one distinct liberty iff libs * sumsq == sum^2 (all the counted points are
 * equal exactly when their variance is zero), which is all that legality and
 * capture need, and keeping the three counters is O(1) per adjacency.
 *
 * The rules are PettingZoo go_base's (minigo's): occupied points, the ko
 * point and suicide are illegal; simple ko is set when a move into a point
 * surrounded by the opponent captures exactly one stone and cleared by any
 * other move; two consecutive passes end the game; Tromp-Taylor area score.
 * On top: an optional positional superko and a move cap.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#define MIN_SIZE 5
#define MAX_SIZE 19
#define MAX_W (MAX_SIZE + 2)
#define MAX_POINTS (MAX_W * MAX_W)
#define MAX_ACTIONS (MAX_SIZE * MAX_SIZE + 1)
#define HIST 8
/* 8192-bit Bloom filter with two probes in front of the superko hash list:
 * most candidate moves are then rejected as "new" without scanning it (about
 * 2% false hits at 600 positions). */
#define BLOOM_WORDS 128
#define BLOOM_MASK (BLOOM_WORDS * 64 - 1)

enum { EMPTY = 0, BLACK = 1, WHITE = 2, EDGE = 3 };

enum { OK = 0, ERR_OCCUPIED, ERR_KO, ERR_SUICIDE, ERR_SUPERKO };

static const char *const REASONS[] = {
    "legal",
    "point occupied",
    "ko (the stone just captured cannot be retaken at once)",
    "suicide",
    "repeats an earlier board position (positional superko)",
};

static const char GTP_COLUMNS[] = "ABCDEFGHJKLMNOPQRST";

/* Zobrist keys for (colour-1, padded point), and the side-to-move key. */
static uint64_t ZOBRIST[2][MAX_POINTS];
static uint64_t ZOBRIST_WHITE_TO_MOVE;

/* Python ints 0..361, made once, so legal_actions() never allocates ints. */
static PyObject *INTS[MAX_ACTIONS];

/* Everything of a position except the superko list: plain data, copied with
 * memcpy together with the variable-size tail that follows it. */
typedef struct {
    int size, W, npoints, nact;
    double komi;
    int superko;
    int max_moves;   /* 0: no cap */
    int to_play;     /* 0 black, 1 white */
    int moves;       /* plies played, passes included */
    int passes;      /* consecutive passes at the end */
    int ko;          /* padded point forbidden by simple ko, or -1 */
    int last_action; /* -1 before the first move */
    int caps[2];     /* stones captured by black, by white */
    uint64_t hash;   /* Zobrist of the board alone */
    int hist_next;   /* ring slot the next move's board goes to */
    int hist_count;  /* boards in the ring, up to HIST */
    int8_t hist_colour[HIST];
    /* byte offsets into the tail */
    int off_sum, off_sq, off_libs, off_nstones, off_next, off_head, off_colour, off_hist;
} Core;

typedef struct {
    PyObject_VAR_HEAD
    /* Superko only (NULL otherwise): a Bloom filter of BLOOM_WORDS words, then
     * the board hashes of every position so far (sk_len of room for sk_cap). */
    uint64_t *sk;
    Py_ssize_t sk_len, sk_cap;
    Core c;
    int64_t tail[];    /* the arrays; Py_SIZE(self) int64 words */
} Board;

#define SUM(b) ((int32_t *)((char *)(b)->tail + (b)->c.off_sum))
#define SQ(b) ((int32_t *)((char *)(b)->tail + (b)->c.off_sq))
#define LIBS(b) ((int16_t *)((char *)(b)->tail + (b)->c.off_libs))
#define NSTONES(b) ((int16_t *)((char *)(b)->tail + (b)->c.off_nstones))
#define NEXT(b) ((int16_t *)((char *)(b)->tail + (b)->c.off_next))
#define HEAD(b) ((int16_t *)((char *)(b)->tail + (b)->c.off_head))
#define COLOUR(b) ((uint8_t *)((char *)(b)->tail + (b)->c.off_colour))
#define HISTORY(b) ((uint8_t *)((char *)(b)->tail + (b)->c.off_hist))

/* Bytes from the start of `c` to the end of the tail: what copy() duplicates. */
#define COPY_BYTES(b) (offsetof(Board, tail) - offsetof(Board, c) + (size_t)Py_SIZE(b) * 8)

/* ------------------------------------------------------------------ */
/* Layout and small helpers                                             */

static Py_ssize_t layout(Core *c, int size) {
    /* Fills c's geometry and offsets; returns the tail length in int64 words. */
    c->size = size;
    c->W = size + 2;
    c->npoints = c->W * c->W;
    c->nact = size * size;
    size_t n = (size_t)c->npoints, off = 0;
    /* widest element first, so every array is naturally aligned */
    c->off_sum = (int)off; off += 4 * n;
    c->off_sq = (int)off; off += 4 * n;
    c->off_libs = (int)off; off += 2 * n;
    c->off_nstones = (int)off; off += 2 * n;
    c->off_next = (int)off; off += 2 * n;
    c->off_head = (int)off; off += 2 * n;
    c->off_colour = (int)off; off += n;
    c->off_hist = (int)off; off += (size_t)HIST * c->nact;
    return (Py_ssize_t)((off + 7) / 8);
}

static inline int point_of(const Core *c, int action) {
    return (action / c->size + 1) * c->W + action % c->size + 1;
}

static inline int action_of(const Core *c, int p) {
    return (p / c->W - 1) * c->size + p % c->W - 1;
}

static inline int in_atari(const Board *b, int g) {
    int64_t libs = LIBS(b)[g];
    int64_t sum = SUM(b)[g];
    return libs > 0 && libs * (int64_t)SQ(b)[g] == sum * sum;
}

static void gtp_label(const Core *c, int action, char *out) {
    /* out: at least 8 bytes */
    if (action == c->nact) {
        strcpy(out, "pass");
        return;
    }
    snprintf(out, 8, "%c%d", GTP_COLUMNS[action % c->size], c->size - action / c->size);
}

static int is_terminal_c(const Core *c) {
    return c->passes >= 2 || (c->max_moves > 0 && c->moves >= c->max_moves);
}

/* ------------------------------------------------------------------ */
/* Rules                                                                */

/* Why `colour` (1 black, 2 white) may not play at padded point p, ignoring
 * superko; OK when it may. */
static int basic_legality(const Board *b, int p, int colour) {
    const uint8_t *col = COLOUR(b);
    const int16_t *head = HEAD(b);
    if (col[p] != EMPTY)
        return ERR_OCCUPIED;
    if (p == b->c.ko)
        return ERR_KO;
    const int W = b->c.W;
    const int nb[4] = {p - W, p - 1, p + 1, p + W};
    for (int d = 0; d < 4; d++) {
        int q = nb[d];
        int cq = col[q];
        if (cq == EMPTY)
            return OK;
        if (cq == EDGE)
            continue;
        int atari = in_atari(b, head[q]);
        /* a friendly group keeps another liberty; an enemy group in atari dies */
        if (cq == colour ? !atari : atari)
            return OK;
    }
    return ERR_SUICIDE;
}

/* The board hash after `colour` plays a (basically legal) move at p. */
static uint64_t hash_after(const Board *b, int p, int colour) {
    const uint8_t *col = COLOUR(b);
    const int16_t *head = HEAD(b), *next = NEXT(b);
    const int W = b->c.W, enemy = 3 - colour;
    const int nb[4] = {p - W, p - 1, p + 1, p + W};
    int seen[4], nseen = 0;
    uint64_t h = b->c.hash ^ ZOBRIST[colour - 1][p];
    for (int d = 0; d < 4; d++) {
        int q = nb[d];
        if (col[q] != enemy)
            continue;
        int g = head[q], dup = 0;
        for (int i = 0; i < nseen; i++)
            dup |= seen[i] == g;
        if (dup || !in_atari(b, g))
            continue;
        seen[nseen++] = g;
        int s = g;
        do {
            h ^= ZOBRIST[enemy - 1][s];
            s = next[s];
        } while (s != g);
    }
    return h;
}

static inline int bloom_has(const uint64_t *bloom, uint64_t h) {
    uint64_t i = h & BLOOM_MASK, j = (h >> 13) & BLOOM_MASK;
    return (bloom[i >> 6] >> (i & 63) & 1) && (bloom[j >> 6] >> (j & 63) & 1);
}

static inline void bloom_add(uint64_t *bloom, uint64_t h) {
    uint64_t i = h & BLOOM_MASK, j = (h >> 13) & BLOOM_MASK;
    bloom[i >> 6] |= 1ULL << (i & 63);
    bloom[j >> 6] |= 1ULL << (j & 63);
}

static int seen_before(const Board *b, uint64_t h) {
    if (!b->sk || !bloom_has(b->sk, h))
        return 0;
    const uint64_t *hashes = b->sk + BLOOM_WORDS;
    for (Py_ssize_t i = 0; i < b->sk_len; i++)
        if (hashes[i] == h)
            return 1;
    return 0;
}

static int legality(const Board *b, int p, int colour) {
    int why = basic_legality(b, p, colour);
    if (why == OK && b->c.superko && seen_before(b, hash_after(b, p, colour)))
        return ERR_SUPERKO;
    return why;
}

static void merge_groups(Board *b, int keep, int gone) {
    int16_t *head = HEAD(b), *next = NEXT(b), *ns = NSTONES(b), *libs = LIBS(b);
    int32_t *sum = SUM(b), *sq = SQ(b);
    if (ns[keep] < ns[gone]) { /* relabel the smaller group */
        int t = keep; keep = gone; gone = t;
    }
    int s = gone;
    do {
        head[s] = (int16_t)keep;
        s = next[s];
    } while (s != gone);
    int16_t t = next[keep];
    next[keep] = next[gone];
    next[gone] = t;
    ns[keep] += ns[gone];
    libs[keep] += libs[gone];
    sum[keep] += sum[gone];
    sq[keep] += sq[gone];
}

/* Removes the group headed by g; returns its size. */
static int remove_group(Board *b, int g) {
    uint8_t *col = COLOUR(b);
    int16_t *head = HEAD(b), *next = NEXT(b), *libs = LIBS(b);
    int32_t *sum = SUM(b), *sq = SQ(b);
    const int W = b->c.W, dead = col[g], other = 3 - dead;
    uint64_t h = b->c.hash;
    int n = 0, s = g;
    do {
        col[s] = EMPTY;
        h ^= ZOBRIST[dead - 1][s];
        n++;
        /* each adjacency to a surviving (necessarily other-coloured) stone
         * gives that stone's group a pseudo-liberty back */
        const int nb[4] = {s - W, s - 1, s + 1, s + W};
        for (int d = 0; d < 4; d++) {
            int q = nb[d];
            if (col[q] == other) {
                int hq = head[q];
                libs[hq]++;
                sum[hq] += s;
                sq[hq] += s * s;
            }
        }
        s = next[s];
    } while (s != g);
    b->c.hash = h;
    return n;
}

static void push_history(Board *b, int colour) {
    Core *c = &b->c;
    uint8_t *dst = HISTORY(b) + (size_t)c->hist_next * c->nact;
    const uint8_t *col = COLOUR(b);
    for (int r = 0; r < c->size; r++)
        memcpy(dst + r * c->size, col + (r + 1) * c->W + 1, (size_t)c->size);
    c->hist_colour[c->hist_next] = (int8_t)colour;
    c->hist_next = (c->hist_next + 1) % HIST;
    if (c->hist_count < HIST)
        c->hist_count++;
}

static int push_superko_hash(Board *b, uint64_t h) {
    if (!b->sk || b->sk_len == b->sk_cap) {
        Py_ssize_t cap = b->sk_cap ? 2 * b->sk_cap : 64;
        uint64_t *grown = realloc(b->sk, (size_t)(BLOOM_WORDS + cap) * sizeof(uint64_t));
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        if (!b->sk)
            memset(grown, 0, BLOOM_WORDS * sizeof(uint64_t));
        b->sk = grown;
        b->sk_cap = cap;
    }
    bloom_add(b->sk, h);
    b->sk[BLOOM_WORDS + b->sk_len++] = h;
    return 0;
}

static int push_superko(Board *b) { return push_superko_hash(b, b->c.hash); }

/* Plays a legal stone move (padded point p) for `player` (0/1). */
static int place_stone(Board *b, int p, int player) {
    uint8_t *col = COLOUR(b);
    int16_t *head = HEAD(b), *next = NEXT(b), *ns = NSTONES(b), *libs = LIBS(b);
    int32_t *sum = SUM(b), *sq = SQ(b);
    const int W = b->c.W, colour = player + 1, enemy = 2 - player;
    const int nb[4] = {p - W, p - 1, p + 1, p + W};

    /* go_base's is_koish: every on-board neighbour is an enemy stone */
    int koish = 1;
    for (int d = 0; d < 4; d++)
        koish &= col[nb[d]] == enemy || col[nb[d]] == EDGE;

    col[p] = (uint8_t)colour;
    b->c.hash ^= ZOBRIST[colour - 1][p];
    head[p] = (int16_t)p;
    next[p] = (int16_t)p;
    ns[p] = 1;
    libs[p] = 0;
    sum[p] = 0;
    sq[p] = 0;
    for (int d = 0; d < 4; d++) {
        int q = nb[d];
        if (col[q] == EMPTY) {
            libs[p]++;
            sum[p] += q;
            sq[p] += q * q;
        } else if (col[q] != EDGE) {
            int g = head[q];
            libs[g]--;
            sum[g] -= p;
            sq[g] -= p * p;
        }
    }
    for (int d = 0; d < 4; d++) {
        int q = nb[d];
        if (col[q] == colour && head[q] != head[p])
            merge_groups(b, head[p], head[q]);
    }
    int captured = 0, last_captured = -1;
    for (int d = 0; d < 4; d++) {
        int q = nb[d];
        if (col[q] == enemy && libs[head[q]] == 0) {
            captured += remove_group(b, head[q]);
            last_captured = q;
        }
    }
    b->c.ko = (koish && captured == 1) ? last_captured : -1;
    b->c.caps[player] += captured;
    b->c.passes = 0;
    b->c.last_action = action_of(&b->c, p);
    if (b->c.superko && push_superko(b) < 0)
        return -1;
    return 0;
}

/* Plays `action` for `player`, checking everything; on failure raises
 * ValueError and leaves the position untouched. */
static int play_checked(Board *b, long action, int player) {
    Core *c = &b->c;
    if (action < 0 || action > c->nact) {
        PyErr_Format(PyExc_ValueError, "action %ld is out of range (0..%d, %d = pass)",
                     action, c->nact, c->nact);
        return -1;
    }
    if (is_terminal_c(c)) {
        char label[8];
        gtp_label(c, (int)action, label);
        PyErr_Format(PyExc_ValueError, "illegal move %s: the game is over", label);
        return -1;
    }
    if (action == c->nact) {
        c->passes++;
        c->ko = -1;
        c->last_action = c->nact;
    } else {
        int p = point_of(c, (int)action);
        int why = legality(b, p, player + 1);
        if (why != OK) {
            char label[8];
            gtp_label(c, (int)action, label);
            PyErr_Format(PyExc_ValueError, "illegal move %s for %s: %s", label,
                         player ? "white" : "black", REASONS[why]);
            return -1;
        }
        if (place_stone(b, p, player) < 0)
            return -1;
    }
    c->moves++;
    c->to_play = 1 - player;
    push_history(b, player);
    return 0;
}

/* Tromp-Taylor area: stones plus empty regions that reach only one colour. */
static void area_c(const Board *b, int *black, int *white) {
    const Core *c = &b->c;
    const uint8_t *col = COLOUR(b);
    uint8_t seen[MAX_POINTS];
    int16_t stack[MAX_POINTS];
    memset(seen, 0, (size_t)c->npoints);
    int area[3] = {0, 0, 0};
    const int W = c->W;
    for (int r = 1; r <= c->size; r++) {
        for (int p = r * W + 1; p <= r * W + c->size; p++) {
            if (col[p] != EMPTY) {
                area[col[p]]++;
                continue;
            }
            if (seen[p])
                continue;
            int top = 0, region = 0, reaches = 0; /* reaches: bit 1 black, bit 2 white */
            stack[top++] = (int16_t)p;
            seen[p] = 1;
            while (top) {
                int s = stack[--top];
                region++;
                const int nb[4] = {s - W, s - 1, s + 1, s + W};
                for (int d = 0; d < 4; d++) {
                    int q = nb[d];
                    if (col[q] == EMPTY) {
                        if (!seen[q]) {
                            seen[q] = 1;
                            stack[top++] = (int16_t)q;
                        }
                    } else if (col[q] != EDGE) {
                        reaches |= col[q];
                    }
                }
            }
            if (reaches == BLACK || reaches == WHITE)
                area[reaches] += region;
        }
    }
    *black = area[BLACK];
    *white = area[WHITE];
}

static double score_c(const Board *b) {
    int black, white;
    area_c(b, &black, &white);
    return (double)(black - white) - b->c.komi;
}

/* ------------------------------------------------------------------ */
/* Playouts: the fast rollout policy of AlphaGo-style search            */
/*
 * A playout copies the position into scratch memory (no superko list, no
 * history) and plays it to the end with a cheap policy, in the order the
 * MoGo programs found worth having:
 *   1. capture the group the opponent's last stone belongs to, if in atari;
 *   2. save one's own group next to that stone if it was put in atari, by
 *      extending to its liberty when that leaves at least two liberties;
 *   3. capture any other enemy group next to that stone that is in atari;
 *   4. one of the empty points around that stone that fit MoGo's 3x3
 *      patterns (hane, cuts, edge moves), at random;
 *   5. else a uniformly random move that is legal, does not fill one of
 *      one's own eyes, and does not put a group of two or more stones into
 *      atari; pass when no such move is left.
 * Rules 2 and 4 make no such self-atari either, and rule 4 fills no eye.
 * Two passes, or a cap of 3 * size * size plies, end it; the result is the
 * Tromp-Taylor score. Since eyes are never filled, dead groups are captured
 * and living ones keep their eyes, so that score is a fair count.
 */

static inline uint64_t next_random(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static inline int random_below(uint64_t *s, int n) {
    return (int)(((next_random(s) >> 32) * (uint64_t)n) >> 32);
}

/* The one liberty of a group in atari (all its counted points are equal). */
static inline int atari_liberty(const Board *b, int g) { return SUM(b)[g] / LIBS(b)[g]; }

/* An empty point all of whose neighbours are `colour` (or the edge), and
 * that is not a false eye: at most one enemy diagonal, none on the edge. */
static int is_eye(const Board *b, int p, int colour) {
    const uint8_t *col = COLOUR(b);
    const int W = b->c.W, enemy = 3 - colour;
    if ((col[p - W] != colour && col[p - W] != EDGE) || (col[p + W] != colour && col[p + W] != EDGE) ||
        (col[p - 1] != colour && col[p - 1] != EDGE) || (col[p + 1] != colour && col[p + 1] != EDGE))
        return 0;
    const int diag[4] = {p - W - 1, p - W + 1, p + W - 1, p + W + 1};
    int bad = 0, edge = 0;
    for (int d = 0; d < 4; d++) {
        bad += col[diag[d]] == enemy;
        edge |= col[diag[d]] == EDGE;
    }
    return bad < (edge ? 1 : 2);
}

/* Whether `colour` playing at p (basically legal) leaves a group of two or
 * more stones with a single liberty, without capturing anything. */
static int bad_self_atari(const Board *b, int p, int colour) {
    const uint8_t *col = COLOUR(b);
    const int16_t *head = HEAD(b), *next = NEXT(b);
    const int W = b->c.W;
    const int nb[4] = {p - W, p - 1, p + 1, p + W};
    int libs[2], nlibs = 0, friends = 0;
    int groups[4], ngroups = 0;
    for (int d = 0; d < 4; d++) {
        int q = nb[d];
        if (col[q] == EMPTY) {
            if (nlibs == 0 || libs[0] != q) {
                if (nlibs == 1)
                    return 0;
                libs[nlibs++] = q;
            }
        } else if (col[q] == 3 - colour) {
            if (in_atari(b, head[q]))
                return 0; /* captures */
        } else if (col[q] == colour) {
            int g = head[q], dup = 0;
            for (int i = 0; i < ngroups; i++)
                dup |= groups[i] == g;
            if (!dup)
                groups[ngroups++] = g;
        }
    }
    for (int i = 0; i < ngroups; i++) {
        int g = groups[i], s = g;
        friends += NSTONES(b)[g];
        do {
            const int sn[4] = {s - W, s - 1, s + 1, s + W};
            for (int d = 0; d < 4; d++) {
                int q = sn[d];
                if (col[q] != EMPTY || q == p || (nlibs && libs[0] == q))
                    continue;
                if (nlibs == 1)
                    return 0;
                libs[nlibs++] = q;
            }
            s = next[s];
        } while (s != g);
    }
    return friends > 0 && nlibs < 2;
}

/* Whether `colour` may play at p and it is worth a playout's move. */
static inline int playable(const Board *b, int p, int colour) {
    return basic_legality(b, p, colour) == OK && !bad_self_atari(b, p, colour);
}

/* MoGo's 3x3 patterns (Gelly et al., 2006), centred on the candidate move:
 * X and O are stones of either colour (each pattern also matches with the
 * colours swapped), x is anything but X, o anything but O, '.' empty, '#'
 * off the board, '?' anything. A playout plays, next to the opponent's last
 * stone, one of the empty points whose neighbourhood is one of these. */
static const char *const PATTERNS[][3] = {
    {"XOX", "...", "???"}, /* hane: enclosing */
    {"XO.", "...", "?.?"}, /* hane: non-cutting */
    {"XO?", "X..", "x.?"}, /* hane: magari */
    {"XOO", "...", "?.?"}, /* hane: thin */
    {"XO?", "O.o", "?o?"}, /* cut: unprotected */
    {"XO?", "O.X", "???"}, /* cut: peeped */
    {"?X?", "O.O", "ooo"}, /* cut: de */
    {"X.?", "O.?", "###"}, /* edge: chase */
    {"OX?", "X.O", "###"}, /* edge: block the side cut */
    {"?X?", "x.O", "###"}, /* edge: block the side connection */
    {"?XO", "x.x", "###"}, /* edge: sagari */
    {"?OX", "X.O", "###"}, /* edge: cut */
};
#define NPATTERNS ((int)(sizeof PATTERNS / sizeof PATTERNS[0]))

/* PATTERN3[code]: whether a point whose 8 neighbours (NW N NE W E SW S SE,
 * 2 bits each, colour values) read `code` matches a pattern. */
static uint8_t PATTERN3[1 << 16];

static int pattern_cell_matches(char ch, int v, int x, int o) {
    switch (ch) {
    case 'X': return v == x;
    case 'O': return v == o;
    case 'x': return v != x;
    case 'o': return v != o;
    case '.': return v == EMPTY;
    case '#': return v == EDGE;
    default: return 1;
    }
}

static void build_patterns(void) {
    static const int cell_r[8] = {0, 0, 0, 1, 1, 2, 2, 2};
    static const int cell_c[8] = {0, 1, 2, 0, 2, 0, 1, 2};
    for (int code = 0; code < (1 << 16); code++) {
        int grid[3][3];
        grid[1][1] = EMPTY;
        for (int i = 0; i < 8; i++)
            grid[cell_r[i]][cell_c[i]] = (code >> (2 * i)) & 3;
        int found = 0;
        for (int k = 0; k < NPATTERNS && !found; k++) {
            for (int t = 0; t < 8 && !found; t++) {
                for (int x = BLACK; x <= WHITE && !found; x++) {
                    int ok = 1;
                    for (int r = 0; r < 3 && ok; r++) {
                        for (int cc = 0; cc < 3 && ok; cc++) {
                            if (r == 1 && cc == 1)
                                continue;
                            /* symmetry t: a rotation by t%4 quarter turns, mirrored when t>=4 */
                            int rr = r, c2 = t >= 4 ? 2 - cc : cc;
                            for (int q = 0; q < t % 4; q++) {
                                int tmp = rr;
                                rr = c2;
                                c2 = 2 - tmp;
                            }
                            ok = pattern_cell_matches(PATTERNS[k][r][cc], grid[rr][c2], x, 3 - x);
                        }
                    }
                    found = ok;
                }
            }
        }
        PATTERN3[code] = (uint8_t)found;
    }
}

static inline int pattern_code(const uint8_t *col, int p, int W) {
    return col[p - W - 1] | col[p - W] << 2 | col[p - W + 1] << 4 | col[p - 1] << 6 |
           col[p + 1] << 8 | col[p + W - 1] << 10 | col[p + W] << 12 | col[p + W + 1] << 14;
}

/* The policy's move (a padded point, or -1 to pass) for the side to move. */
static int playout_move(const Board *b, uint64_t *rng, int16_t *cand) {
    const Core *c = &b->c;
    const uint8_t *col = COLOUR(b);
    const int16_t *head = HEAD(b);
    const int W = c->W, colour = c->to_play + 1, enemy = 3 - colour;
    if (c->last_action >= 0 && c->last_action < c->nact) {
        int last = point_of(c, c->last_action);
        const int nb[4] = {last - W, last - 1, last + 1, last + W};
        if (col[last] == enemy && in_atari(b, head[last])) {
            int lib = atari_liberty(b, head[last]);
            if (basic_legality(b, lib, colour) == OK)
                return lib;
        }
        for (int d = 0; d < 4; d++) {
            int q = nb[d];
            if (col[q] == colour && in_atari(b, head[q])) {
                int lib = atari_liberty(b, head[q]);
                /* extending must leave two liberties (or capture): one would just die */
                if (playable(b, lib, colour))
                    return lib;
            }
        }
        for (int d = 0; d < 4; d++) {
            int q = nb[d];
            if (col[q] == enemy && in_atari(b, head[q])) {
                int lib = atari_liberty(b, head[q]);
                if (basic_legality(b, lib, colour) == OK)
                    return lib;
            }
        }
        const int around[8] = {last - W - 1, last - W, last - W + 1, last - 1,
                               last + 1, last + W - 1, last + W, last + W + 1};
        int matches[8], nmatches = 0;
        for (int d = 0; d < 8; d++) {
            int q = around[d];
            if (col[q] == EMPTY && PATTERN3[pattern_code(col, q, W)] &&
                !is_eye(b, q, colour) && playable(b, q, colour))
                matches[nmatches++] = q;
        }
        if (nmatches)
            return matches[random_below(rng, nmatches)];
    }
    int n = 0;
    for (int r = 1; r <= c->size; r++)
        for (int p = r * W + 1; p <= r * W + c->size; p++)
            if (col[p] == EMPTY)
                cand[n++] = (int16_t)p;
    while (n > 0) {
        int i = random_below(rng, n);
        int p = cand[i];
        if (!is_eye(b, p, colour) && playable(b, p, colour))
            return p;
        cand[i] = cand[--n];
    }
    return -1;
}

/* Plays the scratch board `b` to the end; returns the final score (black's view, minus komi). */
static double playout(Board *b, uint64_t *rng) {
    Core *c = &b->c;
    int16_t cand[MAX_POINTS];
    int cap = c->moves + 3 * c->nact;
    while (c->passes < 2 && c->moves < cap) {
        int p = playout_move(b, rng, cand);
        if (p < 0) {
            c->passes++;
            c->ko = -1;
            c->last_action = c->nact;
        } else {
            place_stone(b, p, c->to_play); /* superko is off: cannot fail */
        }
        c->moves++;
        c->to_play = 1 - c->to_play;
    }
    return score_c(b);
}

/* Who owns each point of a finished playout, by Tromp-Taylor: +1 black, -1
 * white, 0 neither (an empty region that touches both colours, or none).
 * `own` is indexed by action (row-major from the top-left). */
static void owners_c(const Board *b, int8_t *own) {
    const Core *c = &b->c;
    const uint8_t *col = COLOUR(b);
    uint8_t seen[MAX_POINTS];
    int16_t stack[MAX_POINTS], region[MAX_POINTS];
    memset(seen, 0, (size_t)c->npoints);
    const int W = c->W;
    for (int r = 1; r <= c->size; r++) {
        for (int p = r * W + 1; p <= r * W + c->size; p++) {
            if (col[p] == BLACK || col[p] == WHITE) {
                own[action_of(c, p)] = col[p] == BLACK ? 1 : -1;
                continue;
            }
            if (seen[p])
                continue;
            int top = 0, n = 0, reaches = 0;
            stack[top++] = (int16_t)p;
            seen[p] = 1;
            while (top) {
                int s = stack[--top];
                region[n++] = (int16_t)s;
                const int nb[4] = {s - W, s - 1, s + 1, s + W};
                for (int d = 0; d < 4; d++) {
                    int q = nb[d];
                    if (col[q] == EMPTY) {
                        if (!seen[q]) {
                            seen[q] = 1;
                            stack[top++] = (int16_t)q;
                        }
                    } else if (col[q] != EDGE) {
                        reaches |= col[q];
                    }
                }
            }
            int8_t who = reaches == BLACK ? 1 : reaches == WHITE ? -1 : 0;
            for (int i = 0; i < n; i++)
                own[action_of(c, region[i])] = who;
        }
    }
}

static uint64_t playout_seed(unsigned long long seed) {
    /* xorshift must not start at 0; a few steps spread nearby seeds apart */
    uint64_t s = ((uint64_t)seed * 0x9E3779B97F4A7C15ULL ^ 0xD1B54A32D192ED03ULL) | 1;
    for (int i = 0; i < 4; i++)
        next_random(&s);
    return s;
}

/* ------------------------------------------------------------------ */
/* The Python type                                                      */

/* A new, uninitialised Board of `type` with `words` tail words.
 *
 * Python subclasses are GC types, and PyType_GenericAlloc would zero the
 * whole object and track it with the cycle collector. A Board holds no
 * references to other objects, so it never needs tracking, and copy()
 * overwrites every byte anyway: allocating it directly (with the GC header
 * a GC type's dealloc expects, but untracked) makes copy() much cheaper.
 * Subclasses with a __dict__ or __weakref__ get the generic path. */
static Board *alloc_board(PyTypeObject *type, Py_ssize_t words) {
    Board *b;
    if (type->tp_dictoffset || type->tp_weaklistoffset ||
        (type->tp_flags & Py_TPFLAGS_MANAGED_DICT)) {
        b = (Board *)type->tp_alloc(type, words);
    } else if (PyType_IS_GC(type)) {
        b = PyObject_GC_NewVar(Board, type, words);
    } else {
        b = (Board *)PyObject_Malloc(_PyObject_VAR_SIZE(type, words));
        if (!b)
            return (Board *)PyErr_NoMemory();
        PyObject_InitVar((PyVarObject *)b, type, words);
    }
    if (b) {
        b->sk = NULL;
        b->sk_len = b->sk_cap = 0;
    }
    return b;
}

static PyObject *Board_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"size", "komi", "superko", "max_moves", NULL};
    int size = 9, superko = 0;
    double komi = 7.5;
    PyObject *max_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|idpO:Board", kwlist, &size, &komi, &superko,
                                     &max_obj))
        return NULL;
    if (size < MIN_SIZE || size > MAX_SIZE) {
        PyErr_Format(PyExc_ValueError, "board size must be %d..%d, got %d", MIN_SIZE, MAX_SIZE,
                     size);
        return NULL;
    }
    long max_moves = 3L * size * size;
    if (max_obj != Py_None) {
        max_moves = PyLong_AsLong(max_obj);
        if (max_moves == -1 && PyErr_Occurred())
            return NULL;
        if (max_moves < 0 || max_moves > INT32_MAX) {
            PyErr_Format(PyExc_ValueError, "max_moves must be >= 0 (0: no cap) or None, got %ld",
                         max_moves);
            return NULL;
        }
    }
    Core c;
    memset(&c, 0, sizeof c);
    Py_ssize_t words = layout(&c, size);
    Board *b = alloc_board(type, words);
    if (!b)
        return NULL;
    /* an empty board and an empty history are all zeros */
    memset(b->tail, 0, (size_t)words * 8);
    b->c = c;
    b->c.komi = komi;
    b->c.superko = superko;
    b->c.max_moves = (int)max_moves;
    b->c.ko = -1;
    b->c.last_action = -1;
    memset(b->c.hist_colour, -1, HIST);
    uint8_t *col = COLOUR(b);
    for (int p = 0; p < c.npoints; p++) {
        int r = p / c.W, q = p % c.W;
        if (r == 0 || q == 0 || r == c.W - 1 || q == c.W - 1)
            col[p] = EDGE;
    }
    if (superko && push_superko(b) < 0) { /* the empty board is a position too */
        Py_DECREF(b);
        return NULL;
    }
    return (PyObject *)b;
}

static void Board_dealloc(Board *self) {
    free(self->sk);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Board_copy(Board *self, PyObject *Py_UNUSED(ignored)) {
    PyTypeObject *type = Py_TYPE(self);
    Board *twin = alloc_board(type, Py_SIZE(self));
    if (!twin)
        return NULL;
    memcpy(&twin->c, &self->c, COPY_BYTES(self));
    if (self->sk) {
        twin->sk = malloc((size_t)(BLOOM_WORDS + self->sk_cap) * sizeof(uint64_t));
        if (!twin->sk) {
            Py_DECREF(twin);
            return PyErr_NoMemory();
        }
        memcpy(twin->sk, self->sk, (size_t)(BLOOM_WORDS + self->sk_len) * sizeof(uint64_t));
        twin->sk_len = self->sk_len;
        twin->sk_cap = self->sk_cap;
    }
    return (PyObject *)twin;
}

static PyObject *Board_deepcopy(Board *self, PyObject *Py_UNUSED(memo)) {
    return Board_copy(self, NULL);
}

static int action_arg(PyObject *obj, long *out) {
    *out = PyLong_AsLong(obj);
    if (*out == -1 && PyErr_Occurred())
        return -1;
    return 0;
}

static PyObject *Board_play(Board *self, PyObject *arg) {
    long action;
    if (action_arg(arg, &action) < 0 || play_checked(self, action, self->c.to_play) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Board_play_as(Board *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "play_as(action, colour) takes 2 arguments");
        return NULL;
    }
    long action, colour;
    if (action_arg(args[0], &action) < 0 || action_arg(args[1], &colour) < 0)
        return NULL;
    if (colour != 0 && colour != 1) {
        PyErr_Format(PyExc_ValueError, "colour must be 0 (black) or 1 (white), got %ld", colour);
        return NULL;
    }
    if (play_checked(self, action, (int)colour) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Board_is_legal(Board *self, PyObject *arg) {
    long action;
    if (action_arg(arg, &action) < 0)
        return NULL;
    const Core *c = &self->c;
    if (action < 0 || action > c->nact || is_terminal_c(c))
        Py_RETURN_FALSE;
    if (action == c->nact)
        Py_RETURN_TRUE;
    return PyBool_FromLong(legality(self, point_of(c, (int)action), c->to_play + 1) == OK);
}

static PyObject *Board_illegal_reason(Board *self, PyObject *arg) {
    long action;
    if (action_arg(arg, &action) < 0)
        return NULL;
    const Core *c = &self->c;
    if (action < 0 || action > c->nact)
        return PyUnicode_FromString("out of range");
    if (is_terminal_c(c))
        return PyUnicode_FromString("the game is over");
    if (action == c->nact)
        Py_RETURN_NONE;
    int why = legality(self, point_of(c, (int)action), c->to_play + 1);
    if (why == OK)
        Py_RETURN_NONE;
    return PyUnicode_FromString(REASONS[why]);
}

/* Legal stone moves as actions into out[]; returns how many. */
static int legal_stone_moves(const Board *b, int *out) {
    const Core *c = &b->c;
    const uint8_t *col = COLOUR(b);
    const int colour = c->to_play + 1, W = c->W;
    int n = 0, a = 0;
    for (int r = 1; r <= c->size; r++) {
        int p = r * W + 1;
        for (int k = 0; k < c->size; k++, p++, a++) {
            if (col[p] != EMPTY)
                continue;
            /* the common case, an empty neighbour and no ko, needs no group lookups */
            if ((col[p - W] == EMPTY || col[p - 1] == EMPTY || col[p + 1] == EMPTY ||
                 col[p + W] == EMPTY) && p != c->ko && !c->superko) {
                out[n++] = a;
                continue;
            }
            if (legality(b, p, colour) == OK)
                out[n++] = a;
        }
    }
    return n;
}

static PyObject *Board_legal_actions(Board *self, PyObject *Py_UNUSED(ignored)) {
    if (is_terminal_c(&self->c))
        return PyList_New(0);
    int buf[MAX_ACTIONS];
    int n = legal_stone_moves(self, buf);
    buf[n++] = self->c.nact; /* pass */
    PyObject *list = PyList_New(n);
    if (!list)
        return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *v = INTS[buf[i]];
        Py_INCREF(v);
        PyList_SET_ITEM(list, i, v);
    }
    return list;
}

static PyObject *Board_legal_bytes(Board *self, PyObject *Py_UNUSED(ignored)) {
    const Core *c = &self->c;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, c->nact + 1);
    if (!out)
        return NULL;
    char *m = PyByteArray_AS_STRING(out);
    memset(m, 0, (size_t)c->nact + 1);
    if (!is_terminal_c(c)) {
        int buf[MAX_ACTIONS];
        int n = legal_stone_moves(self, buf);
        for (int i = 0; i < n; i++)
            m[buf[i]] = 1;
        m[c->nact] = 1;
    }
    return out;
}

static PyObject *Board_is_terminal(Board *self, PyObject *Py_UNUSED(ignored)) {
    return PyBool_FromLong(is_terminal_c(&self->c));
}

static PyObject *Board_score(Board *self, PyObject *Py_UNUSED(ignored)) {
    return PyFloat_FromDouble(score_c(self));
}

static PyObject *Board_area(Board *self, PyObject *Py_UNUSED(ignored)) {
    int black, white;
    area_c(self, &black, &white);
    return Py_BuildValue("(ii)", black, white);
}

static PyObject *Board_returns(Board *self, PyObject *Py_UNUSED(ignored)) {
    double r = 0.0;
    if (is_terminal_c(&self->c)) {
        double s = score_c(self);
        r = s > 0 ? 1.0 : (s < 0 ? -1.0 : 0.0);
    }
    return Py_BuildValue("(dd)", r, r == 0.0 ? 0.0 : -r);
}

/* Makes the position as it stands a game's start: no moves played, no pass,
 * no ko, no captures, and a history of this board alone (none for an empty
 * board, as in a new game); positional superko starts from this board. */
static PyObject *Board_start_here(Board *self, PyObject *Py_UNUSED(ignored)) {
    Core *c = &self->c;
    c->moves = 0;
    c->passes = 0;
    c->ko = -1;
    c->last_action = -1;
    c->caps[0] = c->caps[1] = 0;
    c->hist_next = 0;
    c->hist_count = 0;
    memset(c->hist_colour, -1, HIST);
    memset(HISTORY(self), 0, (size_t)HIST * c->nact);
    const uint8_t *col = COLOUR(self);
    int stones = 0;
    for (int p = 0; p < c->npoints; p++)
        stones += col[p] == BLACK || col[p] == WHITE;
    if (stones)
        push_history(self, 1 - c->to_play);
    if (self->sk) {
        self->sk_len = 0;
        memset(self->sk, 0, BLOOM_WORDS * sizeof(uint64_t));
    }
    if (c->superko && push_superko(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Board_rollout(Board *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"count", "seed", NULL};
    int count = 1;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|iK:rollout", kwlist, &count, &seed))
        return NULL;
    if (count < 1) {
        PyErr_Format(PyExc_ValueError, "count must be at least 1, got %d", count);
        return NULL;
    }
    const int player = self->c.to_play;
    if (is_terminal_c(&self->c)) {
        double s = score_c(self);
        double r = s > 0 ? 1.0 : (s < 0 ? -1.0 : 0.0);
        return PyFloat_FromDouble(player == 0 ? r : -r);
    }
    size_t bytes = COPY_BYTES(self);
    Board *scratch = PyMem_RawMalloc(offsetof(Board, c) + bytes);
    if (!scratch)
        return PyErr_NoMemory();
    uint64_t rng = playout_seed(seed);
    double total = 0.0;
    Py_BEGIN_ALLOW_THREADS
    for (int i = 0; i < count; i++) {
        memcpy(&scratch->c, &self->c, bytes);
        scratch->sk = NULL;
        scratch->c.superko = 0;
        double s = playout(scratch, &rng);
        double r = s > 0 ? 1.0 : (s < 0 ? -1.0 : 0.0);
        total += player == 0 ? r : -r;
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(scratch);
    return PyFloat_FromDouble(total / count);
}

/* ownership(count, seed) -> bytes of float32 per point (action order): the
 * mean over `count` playouts of +1 where black ends up owning the point, -1
 * where white does, 0 where neither. The playouts start as if no one had
 * passed yet, so a pass just played does not cut them short. Once the game
 * is over: the Tromp-Taylor owners of the board itself. */
static PyObject *Board_ownership_bytes(Board *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"count", "seed", NULL};
    int count = 64;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|iK:_ownership_bytes", kwlist, &count, &seed))
        return NULL;
    if (count < 1) {
        PyErr_Format(PyExc_ValueError, "count must be at least 1, got %d", count);
        return NULL;
    }
    const int nact = self->c.nact;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)nact * (Py_ssize_t)sizeof(float));
    if (!out)
        return NULL;
    float *dst = (float *)PyBytes_AS_STRING(out);
    int8_t own[MAX_ACTIONS];
    if (is_terminal_c(&self->c)) {
        owners_c(self, own);
        for (int a = 0; a < nact; a++)
            dst[a] = (float)own[a];
        return out;
    }
    size_t bytes = COPY_BYTES(self);
    Board *scratch = PyMem_RawMalloc(offsetof(Board, c) + bytes);
    if (!scratch) {
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    int32_t sum[MAX_ACTIONS];
    memset(sum, 0, sizeof sum);
    uint64_t rng = playout_seed(seed);
    Py_BEGIN_ALLOW_THREADS
    for (int i = 0; i < count; i++) {
        memcpy(&scratch->c, &self->c, bytes);
        scratch->sk = NULL;
        scratch->c.superko = 0;
        scratch->c.passes = 0;
        playout(scratch, &rng);
        owners_c(scratch, own);
        for (int a = 0; a < nact; a++)
            sum[a] += own[a];
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(scratch);
    for (int a = 0; a < nact; a++)
        dst[a] = (float)sum[a] / (float)count;
    return out;
}

static PyObject *Board_playout_action(Board *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"seed", NULL};
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|K:playout_action", kwlist, &seed))
        return NULL;
    if (is_terminal_c(&self->c)) {
        PyErr_SetString(PyExc_ValueError, "the game is over");
        return NULL;
    }
    int16_t cand[MAX_POINTS];
    uint64_t rng = playout_seed(seed);
    int p = playout_move(self, &rng, cand);
    return PyLong_FromLong(p < 0 ? self->c.nact : action_of(&self->c, p));
}

static PyObject *Board_played_out(Board *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"seed", NULL};
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|K:played_out", kwlist, &seed))
        return NULL;
    Board *twin = (Board *)Board_copy(self, NULL);
    if (!twin || is_terminal_c(&twin->c))
        return (PyObject *)twin;
    int superko = twin->c.superko;
    twin->c.superko = 0;
    uint64_t rng = playout_seed(seed);
    playout(twin, &rng);
    twin->c.superko = superko;
    return (PyObject *)twin;
}

static PyObject *Board_board_bytes(Board *self, PyObject *Py_UNUSED(ignored)) {
    const Core *c = &self->c;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, c->nact);
    if (!out)
        return NULL;
    char *dst = PyByteArray_AS_STRING(out);
    const uint8_t *col = COLOUR(self);
    for (int r = 0; r < c->size; r++)
        memcpy(dst + r * c->size, col + (r + 1) * c->W + 1, (size_t)c->size);
    return out;
}

static int history_arg(PyObject *arg, long *k) {
    if (action_arg(arg, k) < 0)
        return -1;
    if (*k < 0 || *k > HIST) {
        PyErr_Format(PyExc_ValueError, "k must be 0..%d, got %ld", HIST, *k);
        return -1;
    }
    return 0;
}

/* The ring slot of the board t moves ago (t=0: now), or -1 when there is none. */
static inline int hist_slot(const Core *c, int t) {
    if (t >= c->hist_count)
        return -1;
    return (c->hist_next - 1 - t + 2 * HIST) % HIST;
}

static PyObject *Board_history_bytes(Board *self, PyObject *arg) {
    long k;
    if (history_arg(arg, &k) < 0)
        return NULL;
    const Core *c = &self->c;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, k * c->nact);
    if (!out)
        return NULL;
    char *dst = PyByteArray_AS_STRING(out);
    for (int t = 0; t < k; t++) {
        int slot = hist_slot(c, t);
        if (slot < 0)
            memset(dst + (size_t)t * c->nact, 0, (size_t)c->nact);
        else
            memcpy(dst + (size_t)t * c->nact, HISTORY(self) + (size_t)slot * c->nact,
                   (size_t)c->nact);
    }
    return out;
}

static PyObject *Board_history_colour_bytes(Board *self, PyObject *arg) {
    long k;
    if (history_arg(arg, &k) < 0)
        return NULL;
    const Core *c = &self->c;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, k);
    if (!out)
        return NULL;
    char *dst = PyByteArray_AS_STRING(out);
    for (int t = 0; t < k; t++) {
        int slot = hist_slot(c, t);
        dst[t] = (char)(slot < 0 ? -1 : c->hist_colour[slot]);
    }
    return out;
}

/* float32 (2k+1, n, n): per t the side to move's stones then the other's,
 * t moves ago; last plane ones when black is to move. */
static PyObject *Board_planes_bytes(Board *self, PyObject *arg) {
    long k;
    if (history_arg(arg, &k) < 0)
        return NULL;
    const Core *c = &self->c;
    const int n = c->nact;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, (2 * k + 1) * n * (Py_ssize_t)sizeof(float));
    if (!out)
        return NULL;
    float *dst = (float *)PyByteArray_AS_STRING(out);
    memset(dst, 0, (size_t)(2 * k + 1) * n * sizeof(float));
    const uint8_t own = (uint8_t)(c->to_play + 1), other = (uint8_t)(2 - c->to_play);
    for (int t = 0; t < k; t++) {
        int slot = hist_slot(c, t);
        if (slot < 0)
            break;
        const uint8_t *h = HISTORY(self) + (size_t)slot * n;
        float *mine = dst + (size_t)(2 * t) * n, *theirs = mine + n;
        for (int i = 0; i < n; i++) {
            mine[i] = h[i] == own;
            theirs[i] = h[i] == other;
        }
    }
    if (c->to_play == 0) {
        float *last = dst + (size_t)(2 * k) * n;
        for (int i = 0; i < n; i++)
            last[i] = 1.0f;
    }
    return out;
}

/* bool (n, n, 17) as PettingZoo go_v5 observes: per past move (newest first)
 * the mover's stones then the mover's opponent's, after that move; plane 16
 * all ones for white_0. */
static PyObject *Board_observation_bytes(Board *self, PyObject *arg) {
    long player;
    if (action_arg(arg, &player) < 0)
        return NULL;
    if (player != 0 && player != 1) {
        PyErr_Format(PyExc_ValueError, "player must be 0 (black_0) or 1 (white_0), got %ld",
                     player);
        return NULL;
    }
    const Core *c = &self->c;
    const int n = c->nact, P = 2 * HIST + 1;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)n * P);
    if (!out)
        return NULL;
    char *dst = PyByteArray_AS_STRING(out);
    memset(dst, 0, (size_t)n * P);
    for (int t = 0; t < HIST; t++) {
        int slot = hist_slot(c, t);
        if (slot < 0)
            break;
        const uint8_t *h = HISTORY(self) + (size_t)slot * n;
        const uint8_t mover = (uint8_t)(c->hist_colour[slot] + 1);
        for (int i = 0; i < n; i++) {
            if (h[i] == EMPTY)
                continue;
            dst[(size_t)i * P + 2 * t + (h[i] == mover ? 0 : 1)] = 1;
        }
    }
    if (player == 1)
        for (int i = 0; i < n; i++)
            dst[(size_t)i * P + 2 * HIST] = 1;
    return out;
}

static PyObject *Board_colour_at(Board *self, PyObject *arg) {
    long action;
    if (action_arg(arg, &action) < 0)
        return NULL;
    if (action < 0 || action >= self->c.nact) {
        PyErr_Format(PyExc_ValueError, "action %ld is not a point (0..%d)", action,
                     self->c.nact - 1);
        return NULL;
    }
    return PyLong_FromLong(COLOUR(self)[point_of(&self->c, (int)action)]);
}

static PyObject *Board_group_liberties(Board *self, PyObject *arg) {
    /* Distinct liberties of the group at a point (0 on an empty point). */
    long action;
    if (action_arg(arg, &action) < 0)
        return NULL;
    const Core *c = &self->c;
    if (action < 0 || action >= c->nact) {
        PyErr_Format(PyExc_ValueError, "action %ld is not a point (0..%d)", action, c->nact - 1);
        return NULL;
    }
    int p = point_of(c, (int)action);
    const uint8_t *col = COLOUR(self);
    if (col[p] == EMPTY || col[p] == EDGE)
        return PyLong_FromLong(0);
    uint8_t seen[MAX_POINTS];
    memset(seen, 0, (size_t)c->npoints);
    const int16_t *next = NEXT(self);
    int g = HEAD(self)[p], s = g, n = 0, W = c->W;
    do {
        const int nb[4] = {s - W, s - 1, s + 1, s + W};
        for (int d = 0; d < 4; d++)
            if (col[nb[d]] == EMPTY && !seen[nb[d]]) {
                seen[nb[d]] = 1;
                n++;
            }
        s = next[s];
    } while (s != g);
    return PyLong_FromLong(n);
}

static PyObject *Board_check(Board *self, PyObject *Py_UNUSED(ignored)) {
    /* Recomputes every group's stones and liberties from the board and
     * compares with the incremental bookkeeping (for tests). */
    const Core *c = &self->c;
    const uint8_t *col = COLOUR(self);
    const int16_t *head = HEAD(self), *next = NEXT(self), *ns = NSTONES(self), *libs = LIBS(self);
    const int32_t *sum = SUM(self), *sq = SQ(self);
    const int W = c->W;
    uint64_t h = 0;
    for (int p = 0; p < c->npoints; p++) {
        if (col[p] != BLACK && col[p] != WHITE)
            continue;
        h ^= ZOBRIST[col[p] - 1][p];
        int g = head[p];
        if (col[g] != col[p] || head[g] != g)
            return PyUnicode_FromFormat("stone %d has a bad head %d", p, g);
        for (int d = 0; d < 4; d++) {
            int q = p + (d == 0 ? -W : d == 1 ? -1 : d == 2 ? 1 : W);
            if (col[q] == col[p] && head[q] != g)
                return PyUnicode_FromFormat("adjacent stones %d %d in different groups", p, q);
        }
        if (g != p)
            continue;
        int n = 0, l = 0, s = g;
        int64_t su = 0, sqq = 0;
        do {
            if (head[s] != g)
                return PyUnicode_FromFormat("list of group %d reaches stone %d", g, s);
            n++;
            for (int d = 0; d < 4; d++) {
                int q = s + (d == 0 ? -W : d == 1 ? -1 : d == 2 ? 1 : W);
                if (col[q] == EMPTY) {
                    l++;
                    su += q;
                    sqq += (int64_t)q * q;
                }
            }
            s = next[s];
            if (n > c->nact)
                return PyUnicode_FromFormat("group %d list does not close", g);
        } while (s != g);
        if (n != ns[g] || l != libs[g] || su != sum[g] || sqq != sq[g])
            return PyUnicode_FromFormat("group %d counters stale", g);
        if (l == 0)
            return PyUnicode_FromFormat("group %d has no liberties", g);
    }
    if (h != c->hash)
        return PyUnicode_FromString("hash stale");
    Py_RETURN_NONE;
}

static PyObject *Board_reduce(Board *self, PyObject *Py_UNUSED(ignored)) {
    /* (type, (size, komi, superko, max_moves), state): the constructor makes
     * an equal-sized empty position and __setstate__ fills it. */
    PyObject *state = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)COPY_BYTES(self) +
                                                          self->sk_len * 8);
    if (!state)
        return NULL;
    char *dst = PyBytes_AS_STRING(state);
    memcpy(dst, &self->c, COPY_BYTES(self));
    if (self->sk_len)
        memcpy(dst + COPY_BYTES(self), self->sk + BLOOM_WORDS, (size_t)self->sk_len * 8);
    return Py_BuildValue("(O(idii)N)", (PyObject *)Py_TYPE(self), self->c.size, self->c.komi,
                         self->c.superko, self->c.max_moves, state);
}

static PyObject *Board_setstate(Board *self, PyObject *state) {
    if (!PyBytes_Check(state)) {
        PyErr_SetString(PyExc_TypeError, "state must be bytes");
        return NULL;
    }
    Py_ssize_t len = PyBytes_GET_SIZE(state), fixed = (Py_ssize_t)COPY_BYTES(self);
    const char *src = PyBytes_AS_STRING(state);
    Core incoming;
    if (len < fixed || (len - fixed) % 8 != 0) {
        PyErr_SetString(PyExc_ValueError, "state does not fit this board");
        return NULL;
    }
    memcpy(&incoming, src, sizeof incoming);
    if (incoming.size != self->c.size || incoming.off_hist != self->c.off_hist) {
        PyErr_SetString(PyExc_ValueError, "state is for another board size");
        return NULL;
    }
    Py_ssize_t sk_len = (len - fixed) / 8;
    memcpy(&self->c, src, (size_t)fixed);
    free(self->sk);
    self->sk = NULL;
    self->sk_len = self->sk_cap = 0;
    for (Py_ssize_t i = 0; i < sk_len; i++) {
        uint64_t h;
        memcpy(&h, src + fixed + i * 8, 8);
        if (push_superko_hash(self, h) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- properties ---- */

static PyObject *get_size(Board *b, void *x) { return PyLong_FromLong(b->c.size); }
static PyObject *get_komi(Board *b, void *x) { return PyFloat_FromDouble(b->c.komi); }
static PyObject *get_superko(Board *b, void *x) { return PyBool_FromLong(b->c.superko); }
static PyObject *get_max_moves(Board *b, void *x) { return PyLong_FromLong(b->c.max_moves); }
static PyObject *get_num_actions(Board *b, void *x) { return PyLong_FromLong(b->c.nact + 1); }
static PyObject *get_pass_action(Board *b, void *x) { return PyLong_FromLong(b->c.nact); }
static PyObject *get_to_play(Board *b, void *x) { return PyLong_FromLong(b->c.to_play); }
static PyObject *get_moves(Board *b, void *x) { return PyLong_FromLong(b->c.moves); }
static PyObject *get_passes(Board *b, void *x) { return PyLong_FromLong(b->c.passes); }
static PyObject *get_ko(Board *b, void *x) {
    if (b->c.ko < 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(action_of(&b->c, b->c.ko));
}
static PyObject *get_captures(Board *b, void *x) {
    return Py_BuildValue("(ii)", b->c.caps[0], b->c.caps[1]);
}
static PyObject *get_last_action(Board *b, void *x) {
    if (b->c.last_action < 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(b->c.last_action);
}
static PyObject *get_hash(Board *b, void *x) {
    return PyLong_FromUnsignedLongLong(b->c.hash ^ (b->c.to_play ? ZOBRIST_WHITE_TO_MOVE : 0));
}
static PyObject *get_board_hash(Board *b, void *x) {
    return PyLong_FromUnsignedLongLong(b->c.hash);
}

static PyGetSetDef Board_getset[] = {
    {"size", (getter)get_size, NULL, "Board side, 5..19.", NULL},
    {"komi", (getter)get_komi, NULL, "Points given to white.", NULL},
    {"superko", (getter)get_superko, NULL, "Whether positional superko is enforced.", NULL},
    {"max_moves", (getter)get_max_moves, NULL, "The move cap in plies (0: none).", NULL},
    {"num_actions", (getter)get_num_actions, NULL, "size*size + 1.", NULL},
    {"pass_action", (getter)get_pass_action, NULL, "size*size.", NULL},
    {"to_play", (getter)get_to_play, NULL, "The colour to move: 0 black, 1 white.", NULL},
    {"moves_played", (getter)get_moves, NULL, "Plies so far, passes included.", NULL},
    {"passes", (getter)get_passes, NULL, "Consecutive passes at the end.", NULL},
    {"ko", (getter)get_ko, NULL, "The action simple ko forbids, or None.", NULL},
    {"captures", (getter)get_captures, NULL, "(stones captured by black, by white).", NULL},
    {"last_action", (getter)get_last_action, NULL, "The last action, None before any.", NULL},
    {"hash", (getter)get_hash, NULL, "Zobrist hash of board and side to move.", NULL},
    {"board_hash", (getter)get_board_hash, NULL, "Zobrist hash of the board alone.", NULL},
    {NULL},
};

static PyMethodDef Board_methods[] = {
    {"copy", (PyCFunction)Board_copy, METH_NOARGS, "An independent copy of the same type."},
    {"__copy__", (PyCFunction)Board_copy, METH_NOARGS, NULL},
    {"__deepcopy__", (PyCFunction)Board_deepcopy, METH_O, NULL},
    {"__reduce__", (PyCFunction)Board_reduce, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)Board_setstate, METH_O, NULL},
    {"play", (PyCFunction)Board_play, METH_O,
     "Play an action for the side to move; ValueError (position unchanged) if illegal."},
    {"play_as", (PyCFunction)(void (*)(void))Board_play_as, METH_FASTCALL,
     "play_as(action, colour): play for colour 0/1; then the other colour is to move."},
    {"is_legal", (PyCFunction)Board_is_legal, METH_O, "Whether the side to move may play it."},
    {"illegal_reason", (PyCFunction)Board_illegal_reason, METH_O,
     "Why the side to move may not play it, or None when it may."},
    {"legal_actions", (PyCFunction)Board_legal_actions, METH_NOARGS,
     "Legal actions ascending, pass last; [] once the game is over."},
    {"_legal_bytes", (PyCFunction)Board_legal_bytes, METH_NOARGS, NULL},
    {"is_terminal", (PyCFunction)Board_is_terminal, METH_NOARGS, "Whether the game is over."},
    {"score", (PyCFunction)Board_score, METH_NOARGS,
     "Tromp-Taylor area score from black's view, minus komi."},
    {"area", (PyCFunction)Board_area, METH_NOARGS, "(black area, white area), Tromp-Taylor."},
    {"returns", (PyCFunction)Board_returns, METH_NOARGS,
     "(+1,-1) black wins, (-1,+1) white wins, (0,0) draw or not over."},
    {"_start_here", (PyCFunction)Board_start_here, METH_NOARGS,
     "Make this position a game's start: no moves, passes, ko, captures or earlier boards."},
    {"rollout", (PyCFunction)(void (*)(void))Board_rollout, METH_VARARGS | METH_KEYWORDS,
     "rollout(count=1, seed=0): the mean result (+1 win, -1 loss, 0 draw) for the side to "
     "move of `count` fast playouts to the end (the exact result once the game is over)."},
    {"_ownership_bytes", (PyCFunction)(void (*)(void))Board_ownership_bytes,
     METH_VARARGS | METH_KEYWORDS, NULL},
    {"playout_action", (PyCFunction)(void (*)(void))Board_playout_action,
     METH_VARARGS | METH_KEYWORDS,
     "playout_action(seed=0): the move the fast playout policy picks here (pass = size*size)."},
    {"played_out", (PyCFunction)(void (*)(void))Board_played_out, METH_VARARGS | METH_KEYWORDS,
     "played_out(seed=0): a copy played to the end by one fast playout (its history planes "
     "and superko list stay those of the start)."},
    {"_board_bytes", (PyCFunction)Board_board_bytes, METH_NOARGS, NULL},
    {"_history_bytes", (PyCFunction)Board_history_bytes, METH_O, NULL},
    {"_history_colour_bytes", (PyCFunction)Board_history_colour_bytes, METH_O, NULL},
    {"_planes_bytes", (PyCFunction)Board_planes_bytes, METH_O, NULL},
    {"_observation_bytes", (PyCFunction)Board_observation_bytes, METH_O, NULL},
    {"colour_at", (PyCFunction)Board_colour_at, METH_O,
     "0 empty, 1 black, 2 white at a point (an action < size*size)."},
    {"group_liberties", (PyCFunction)Board_group_liberties, METH_O,
     "Distinct liberties of the group at a point; 0 on an empty point."},
    {"_check", (PyCFunction)Board_check, METH_NOARGS, NULL},
    {NULL},
};

static PyTypeObject BoardType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "games.go._core.Board",
    .tp_doc = "Board(size=9, komi=7.5, superko=False, max_moves=None): a Go position.",
    .tp_basicsize = offsetof(Board, tail),
    .tp_itemsize = sizeof(int64_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = Board_new,
    .tp_dealloc = (destructor)Board_dealloc,
    .tp_methods = Board_methods,
    .tp_getset = Board_getset,
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "games.go._core",
    .m_doc = "The compiled Go rules engine; use games.go.state.GoState.",
    .m_size = -1,
};

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

PyMODINIT_FUNC PyInit__core(void) {
    /* A fixed seed: hashes are the same in every process and run. */
    uint64_t seed = 0x41726561476F2121ULL;
    for (int c = 0; c < 2; c++)
        for (int p = 0; p < MAX_POINTS; p++)
            ZOBRIST[c][p] = splitmix64(&seed);
    ZOBRIST_WHITE_TO_MOVE = splitmix64(&seed);
    build_patterns();
    for (int i = 0; i < MAX_ACTIONS; i++) {
        if (!INTS[i] && !(INTS[i] = PyLong_FromLong(i)))
            return NULL;
    }
    if (PyType_Ready(&BoardType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&core_module);
    if (!m)
        return NULL;
    Py_INCREF(&BoardType);
    if (PyModule_AddObject(m, "Board", (PyObject *)&BoardType) < 0 ||
        PyModule_AddIntConstant(m, "MIN_SIZE", MIN_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "MAX_SIZE", MAX_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "HISTORY", HIST) < 0) {
        Py_DECREF(&BoardType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
