/*
 * The proxy's body MD5s, hashed in the libuv pool, many bodies in one pass (md5_lanes.c):
 *
 *   md5New(): Md5Stream                          a new stream
 *   md5Update(stream, bytes: Uint8Array): number  queues the bytes (held, not copied, until
 *                                                 hashed: the caller must not change them);
 *                                                 returns the stream's bytes not hashed yet
 *   md5Flush(stream, cb: () => void): boolean     false when every queued byte is hashed;
 *                                                 else true, and cb runs once they are
 *   md5Digest(stream): Buffer                     the 16-byte digest (throws while bytes wait)
 *   md5Discard(stream): void                      drops the queued bytes no pass has taken
 *   md5LanesKind: string                          "avx512f", "avx2" (sixteen streams at a time)
 *                                                 or "none" (md5_lanes.h)
 *
 * Why a shared service: one MD5 stream runs at ~0.55 GB/s and was half of the proxy's CPU on
 * large PUTs, on its one JavaScript thread. Here one pool job at a time takes every stream with
 * queued bytes and advances them together, sixteen lanes per instruction; while it runs, the
 * event loop goes on relaying and the next job finds the bytes of many uploads waiting. Lanes
 * are used while at least LANE_MIN streams have blocks left (one lane alone is slower than the
 * plain C loop); the rest waits for the next job, which starts at once, or, when a job began
 * with fewer than LANE_MIN streams, is hashed one stream at a time.
 *
 * Everything but the pool job's hashing runs on the one JavaScript thread that made the first
 * stream (the proxy's main thread); the job only touches each stream's state, carry and the
 * segments handed to it.
 */
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "md5_lanes.h"
#include "md5_hasher.h"

#define LANE_MIN 4
/* Bytes of one stream a job takes (256 KiB: with sixteen uploads, ~1.5 ms of hashing). With
 * 1 MiB and more, jobs ran tens of milliseconds and a body's digest waited for several. */
#define JOB_BYTES (256u * 1024)

typedef struct {
  const uint8_t *data;
  size_t len;
  napi_ref ref; /* keeps the bytes alive */
} Segment;

typedef struct {
  Segment *v;
  size_t n, cap;
} SegList;

typedef struct Waiter {
  napi_ref fn;
  uint64_t target; /* runs once hashed >= target */
  struct Waiter *next;
} Waiter;

typedef struct Stream {
  uint32_t state[4];
  uint8_t carry[MD5_BLOCK]; /* bytes after the last whole block */
  size_t carry_len;
  uint64_t queued, hashed; /* bytes given to md5Update; bytes in state or carry */
  SegList pending;         /* queued, not yet in a job */
  SegList job;             /* the current job's bytes (the pool thread's) */
  size_t job_si, job_off;  /* the job's cursor: segment, offset in it */
  uint64_t job_bytes;      /* bytes handed to the job */
  uint64_t job_left;       /* of those, not consumed yet */
  int in_job, dirty, finished;
  struct Stream *next_dirty;
  napi_ref self; /* strong while bytes are queued or in a job */
  uint32_t self_count;
  Waiter *waiters;
} Stream;

static Stream *dirty_head, *dirty_tail;
static Stream **job_streams;
static size_t job_n, job_cap;
static int job_running;
static napi_async_work job_work;

static int push(SegList *l, Segment s) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    Segment *v = realloc(l->v, cap * sizeof *v);
    if (!v) return -1;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = s;
  return 0;
}

/* For lists rebuilt mid-job: dropping bytes there would give a wrong digest, so no memory ends
 * the process instead. */
static void push_or_die(SegList *l, Segment s) {
  if (push(l, s) != 0) napi_fatal_error("md5Hasher", NAPI_AUTO_LENGTH, "out of memory", NAPI_AUTO_LENGTH);
}

static void hold(napi_env env, Stream *s) {
  if (s->self_count == 0) napi_reference_ref(env, s->self, &s->self_count);
}

static void let_go(napi_env env, Stream *s) {
  if (s->self_count > 0 && !s->in_job && s->pending.n == 0 && !s->waiters) napi_reference_unref(env, s->self, &s->self_count);
}

static void mark_dirty(Stream *s) {
  if (s->dirty) return;
  s->dirty = 1;
  s->next_dirty = NULL;
  if (dirty_tail) dirty_tail->next_dirty = s;
  else dirty_head = s;
  dirty_tail = s;
}

/* ---- the pool thread's side ---- */

static uint64_t blocks_left(const Stream *s) { return (s->carry_len + s->job_left) / MD5_BLOCK; }

/* Takes `n` bytes off the job's cursor into `dst` (or just skips them when dst is NULL). */
static void take(Stream *s, uint8_t *dst, size_t n) {
  while (n > 0) {
    Segment *g = &s->job.v[s->job_si];
    size_t k = g->len - s->job_off < n ? g->len - s->job_off : n;
    if (dst) {
      memcpy(dst, g->data + s->job_off, k);
      dst += k;
    }
    s->job_off += k;
    s->job_left -= k;
    n -= k;
    if (s->job_off == g->len) {
      s->job_si++;
      s->job_off = 0;
    }
  }
}

/* The stream's next 64 bytes: in place when they lie in one segment, else put together in `scratch`. */
static const uint8_t *next_block(Stream *s, uint8_t *scratch) {
  if (s->carry_len == 0) {
    Segment *g = &s->job.v[s->job_si];
    if (g->len - s->job_off >= MD5_BLOCK) {
      const uint8_t *p = g->data + s->job_off;
      take(s, NULL, MD5_BLOCK);
      return p;
    }
  }
  size_t n = s->carry_len;
  memcpy(scratch, s->carry, n);
  s->carry_len = 0;
  take(s, scratch + n, MD5_BLOCK - n);
  return scratch;
}

/* When less than a block is left, it moves to the carry: the stream's job is done. */
static void settle_tail(Stream *s) {
  if (blocks_left(s) > 0) return;
  size_t n = (size_t)s->job_left;
  take(s, s->carry + s->carry_len, n);
  s->carry_len += n;
}

static void hash_one(Stream *s) {
  uint8_t scratch[MD5_BLOCK];
  while (blocks_left(s) > 0) md5_block(s->state, next_block(s, scratch));
  settle_tail(s);
}

/* Up to sixteen streams in lanes while at least LANE_MIN have blocks; what is left waits for
 * the next job, unless the group began below LANE_MIN (then one stream at a time). */
static void hash_group(Stream **g, size_t n) {
  static const uint8_t zero[MD5_BLOCK];
  uint32_t state[4][MD5_LANES];
  uint8_t scratch[MD5_LANES][MD5_BLOCK];
  const uint8_t *blocks[MD5_LANES];
  size_t start = 0;
  for (size_t l = 0; l < n; l++) start += blocks_left(g[l]) > 0;
  if (start >= LANE_MIN) {
    for (size_t l = 0; l < n; l++)
      for (int j = 0; j < 4; j++) state[j][l] = g[l]->state[j];
    for (;;) {
      uint16_t active = 0;
      int count = 0;
      for (size_t l = 0; l < MD5_LANES; l++) {
        if (l < n && blocks_left(g[l]) > 0) {
          blocks[l] = next_block(g[l], scratch[l]);
          active |= (uint16_t)(1u << l);
          count++;
        } else {
          blocks[l] = zero;
        }
      }
      if (count == 0) break;
      md5_block_x16(state, blocks, active);
      int still = 0;
      for (size_t l = 0; l < n; l++) still += blocks_left(g[l]) > 0;
      if (still < LANE_MIN) break;
    }
    for (size_t l = 0; l < n; l++) {
      for (int j = 0; j < 4; j++) g[l]->state[j] = state[j][l];
      settle_tail(g[l]);
    }
    return;
  }
  for (size_t l = 0; l < n; l++) hash_one(g[l]);
}

static void execute(napi_env env, void *data) {
  (void)env;
  (void)data;
  if (!md5_lanes_supported()) {
    for (size_t i = 0; i < job_n; i++) hash_one(job_streams[i]);
    return;
  }
  for (size_t i = 0; i < job_n; i += MD5_LANES) hash_group(job_streams + i, job_n - i < MD5_LANES ? job_n - i : MD5_LANES);
}

/* ---- the JavaScript thread's side ---- */

static void start_job(napi_env env);

static void release(napi_env env, Segment *v, size_t n) {
  for (size_t i = 0; i < n; i++) napi_delete_reference(env, v[i].ref);
}

static void run_waiters(napi_env env, Stream *s) {
  Waiter **w = &s->waiters;
  while (*w) {
    Waiter *x = *w;
    if (x->target > s->hashed) {
      w = &x->next;
      continue;
    }
    *w = x->next;
    napi_value fn, global, ignored;
    napi_get_reference_value(env, x->fn, &fn);
    napi_delete_reference(env, x->fn);
    free(x);
    napi_get_global(env, &global);
    if (napi_call_function(env, global, fn, 0, NULL, &ignored) == napi_pending_exception) {
      napi_value e;
      napi_get_and_clear_last_exception(env, &e);
      napi_fatal_exception(env, e);
    }
  }
}

/* A job's end: consumed segments let go, the rest goes back in front of what was queued since. */
static void complete(napi_env env, napi_status status, void *data) {
  (void)status;
  (void)data;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  for (size_t i = 0; i < job_n; i++) {
    Stream *s = job_streams[i];
    s->hashed += s->job_bytes - s->job_left;
    release(env, s->job.v, s->job_si);
    size_t rest = s->job.n - s->job_si;
    if (rest > 0) {
      Segment *first = &s->job.v[s->job_si];
      first->data += s->job_off;
      first->len -= s->job_off;
      /* Room for the rest in front of pending: the job's own list, reused. */
      memmove(s->job.v, first, rest * sizeof *first);
      s->job.n = rest;
      for (size_t k = 0; k < s->pending.n; k++) push_or_die(&s->job, s->pending.v[k]);
      free(s->pending.v);
      s->pending = s->job;
    } else {
      free(s->job.v);
    }
    s->job = (SegList){ 0 };
    s->in_job = 0;
    if (s->pending.n > 0) mark_dirty(s);
  }
  for (size_t i = 0; i < job_n; i++) {
    run_waiters(env, job_streams[i]);
    let_go(env, job_streams[i]);
  }
  job_n = 0;
  job_running = 0;
  napi_delete_async_work(env, job_work);
  start_job(env);
  napi_close_handle_scope(env, scope);
}

static void start_job(napi_env env) {
  if (job_running) return;
  job_n = 0;
  while (dirty_head) {
    Stream *s = dirty_head;
    dirty_head = s->next_dirty;
    if (!dirty_head) dirty_tail = NULL;
    s->dirty = 0;
    if (s->pending.n == 0) continue;
    if (job_n == job_cap) {
      size_t cap = job_cap ? 2 * job_cap : 32;
      Stream **v = realloc(job_streams, cap * sizeof *v);
      if (!v) {
        mark_dirty(s); /* try again at the next update */
        break;
      }
      job_streams = v;
      job_cap = cap;
    }
    /* At most JOB_BYTES of each stream per job (whole segments), except for a stream whose
     * caller waits for its digest: jobs stay short, and a body's last bytes do not wait behind
     * a long one. */
    size_t take_n = 0;
    uint64_t bytes = 0;
    uint64_t cap = s->waiters ? UINT64_MAX : JOB_BYTES; /* a body's end: all at once */
    while (take_n < s->pending.n && bytes < cap) bytes += s->pending.v[take_n++].len;
    if (take_n == s->pending.n) {
      s->job = s->pending;
      s->pending = (SegList){ 0 };
    } else {
      SegList head = { 0 };
      for (size_t k = 0; k < take_n; k++) push_or_die(&head, s->pending.v[k]);
      memmove(s->pending.v, s->pending.v + take_n, (s->pending.n - take_n) * sizeof *s->pending.v);
      s->pending.n -= take_n;
      s->job = head;
    }
    s->job_si = s->job_off = 0;
    s->job_bytes = s->job_left = bytes;
    s->in_job = 1;
    job_streams[job_n++] = s;
  }
  /* What did not fit waits for the next job. */
  for (size_t i = 0; i < job_n; i++)
    if (job_streams[i]->pending.n > 0) mark_dirty(job_streams[i]);
  if (job_n == 0) return;
  napi_value name;
  napi_create_string_utf8(env, "md5Hasher", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, execute, complete, NULL, &job_work) != napi_ok
      || napi_queue_async_work(env, job_work) != napi_ok) {
    napi_fatal_error("md5Hasher", NAPI_AUTO_LENGTH, "cannot queue the hashing job", NAPI_AUTO_LENGTH);
  }
  job_running = 1;
}

static Stream *stream_arg(napi_env env, napi_value v, const char *message) {
  Stream *s = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, (void **)&s) != napi_ok || !s) {
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  return s;
}

/* The call's arguments into argv (want of them, the first a stream) and that stream; NULL (a
 * TypeError thrown with `usage`) when they are not there. */
static Stream *stream_call(napi_env env, napi_callback_info info, napi_value *argv, size_t want, const char *usage) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return stream_arg(env, argv[0], usage);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  Stream *s = data;
  /* Only reached with nothing queued or in a job: those hold the stream. */
  release(env, s->pending.v, s->pending.n);
  free(s->pending.v);
  napi_delete_reference(env, s->self);
  free(s);
}

static napi_value md5_new(napi_env env, napi_callback_info info) {
  (void)info;
  /* The job queue is the process's: streams of a second JavaScript thread (a worker) would
   * have their jobs completed on the first one's loop. */
  static napi_env owner;
  if (owner && owner != env) {
    napi_throw_error(env, NULL, "md5New: the hasher serves one JavaScript thread per process");
    return NULL;
  }
  owner = env;
  Stream *s = calloc(1, sizeof *s);
  napi_value ext;
  if (!s) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  md5_init(s->state);
  napi_create_external(env, s, finalize, NULL, &ext);
  napi_create_reference(env, ext, 0, &s->self);
  return ext;
}

static napi_value md5_update(napi_env env, napi_callback_info info) {
  static const char *usage = "md5Update: expected (stream: Md5Stream, bytes: Uint8Array)";
  napi_value argv[2], out;
  Stream *s = stream_call(env, info, argv, 2, usage);
  if (!s) return NULL;
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  napi_is_typedarray(env, argv[1], &is_typed);
  if (is_typed) napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL);
  if (!is_typed || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  if (s->finished) {
    napi_throw_error(env, NULL, "md5Update: the stream was digested or discarded");
    return NULL;
  }
  if (length > 0) {
    Segment g = { data, length, NULL };
    napi_create_reference(env, argv[1], 1, &g.ref);
    if (push(&s->pending, g) != 0) {
      napi_delete_reference(env, g.ref);
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    s->queued += length;
    hold(env, s);
    mark_dirty(s);
    start_job(env);
  }
  napi_create_double(env, (double)(s->queued - s->hashed), &out);
  return out;
}

static napi_value md5_flush(napi_env env, napi_callback_info info) {
  static const char *usage = "md5Flush: expected (stream: Md5Stream, callback: function)";
  napi_value argv[2], out;
  napi_valuetype t = napi_undefined;
  Stream *s = stream_call(env, info, argv, 2, usage);
  if (!s) return NULL;
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int waits = s->hashed < s->queued;
  if (waits) {
    Waiter *w = calloc(1, sizeof *w);
    if (!w) {
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    w->target = s->queued;
    napi_create_reference(env, argv[1], 1, &w->fn);
    w->next = s->waiters;
    s->waiters = w;
    hold(env, s);
  }
  napi_get_boolean(env, waits, &out);
  return out;
}

static napi_value md5_digest(napi_env env, napi_callback_info info) {
  static const char *usage = "md5Digest: expected (stream: Md5Stream)";
  napi_value argv[1], out;
  Stream *s = stream_call(env, info, argv, 1, usage);
  if (!s) return NULL;
  if (s->finished || s->in_job || s->hashed != s->queued) {
    napi_throw_error(env, NULL, s->finished ? "md5Digest: the stream was digested or discarded"
                                            : "md5Digest: bytes are still being hashed (await md5Flush first)");
    return NULL;
  }
  void *bytes;
  napi_create_buffer(env, 16, &bytes, &out);
  md5_finish(s->state, s->carry, s->carry_len, s->hashed, bytes);
  s->finished = 1;
  return out;
}

static napi_value md5_discard(napi_env env, napi_callback_info info) {
  static const char *usage = "md5Discard: expected (stream: Md5Stream)";
  napi_value argv[1];
  Stream *s = stream_call(env, info, argv, 1, usage);
  if (!s) return NULL;
  uint64_t dropped = 0;
  for (size_t i = 0; i < s->pending.n; i++) dropped += s->pending.v[i].len;
  release(env, s->pending.v, s->pending.n);
  s->pending.n = 0;
  s->queued -= dropped;
  s->finished = 1;
  for (Waiter *w = s->waiters; w; w = w->next)
    if (w->target > s->queued) w->target = s->queued;
  if (!s->in_job) run_waiters(env, s);
  let_go(env, s);
  return NULL;
}

void md5_hasher_register(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } fns[] = {
    { "md5New", md5_new }, { "md5Update", md5_update }, { "md5Flush", md5_flush },
    { "md5Digest", md5_digest }, { "md5Discard", md5_discard },
  };
  napi_value f, kind;
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  /* Chosen here, on the JavaScript thread, before any pool job can ask. */
  napi_create_string_utf8(env, md5_lanes_kind(), NAPI_AUTO_LENGTH, &kind);
  napi_set_named_property(env, exports, "md5LanesKind", kind);
}
