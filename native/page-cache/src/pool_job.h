/*
 * A call run once in libuv's pool that ends in `callback(err)`: null, or an Error shaped like
 * Node's fs errors (errno_error.h). What fsyncDropCache/dropCache (page_cache.c) and fsyncDirs
 * (fsync_dirs.c) share: a job embeds a PoolJob as its first member and sets `execute` and
 * `release`.
 */
#ifndef RINGSTACK_POOL_JOB_H
#define RINGSTACK_POOL_JOB_H
#include <node_api.h>

typedef struct PoolJob PoolJob;
struct PoolJob {
  napi_async_work work;
  napi_ref callback;
  int err;             /* 0, or the errno the job failed with */
  const char *syscall; /* the call that failed */
  /* Runs in the pool; sets err and syscall on failure. */
  void (*execute)(PoolJob *job);
  /* Optional, on the event loop: adds what the job knows to its Error (e.g. the path). */
  void (*describe)(napi_env env, PoolJob *job, napi_value error);
  /* Frees the job, after the callback's arguments were made. */
  void (*release)(PoolJob *job);
};

/* Queues `job`, whose callback is `fn`; `name` names the async resource. */
void pool_job_queue(napi_env env, PoolJob *job, napi_value fn, const char *name);
#endif
