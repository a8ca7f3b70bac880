/*
 *   syncFs(path: string, callback(err))
 *       syncfs(2) of the filesystem holding `path` (opened O_RDONLY, then closed), in one
 *       trip through the libuv pool; the callback gets null or an Error with `code`,
 *       `syscall` and `path`.
 *
 * Why: a storage node's small-write log (objectstore/node/small-write-log.ts) makes many
 * small objects durable with one shared fdatasync of the log, then places their files without
 * fsyncs of their own. Before a log segment is dropped, every file it covers must be on disk:
 * one syncfs of the device's filesystem writes them all back together, which costs far less
 * than an fsync per file and directory. Node's fs has no syncfs.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sync_fs.h"
#include "pool_job.h"

typedef struct {
  PoolJob base;
  char *path;
} SyncFsJob;

static void free_job(PoolJob *base) {
  SyncFsJob *job = (SyncFsJob *)base;
  free(job->path);
  free(job);
}

static void execute(PoolJob *base) {
  SyncFsJob *job = (SyncFsJob *)base;
  int fd = open(job->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    base->err = errno;
    base->syscall = "open";
    return;
  }
  int rc = syncfs(fd);
  int saved = errno;
  close(fd);
  if (rc != 0) {
    base->err = saved;
    base->syscall = "syncfs";
  }
}

static void describe(napi_env env, PoolJob *base, napi_value error) {
  napi_value path;
  napi_create_string_utf8(env, ((SyncFsJob *)base)->path, NAPI_AUTO_LENGTH, &path);
  napi_set_named_property(env, error, "path", path);
}

static napi_value sync_fs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  size_t len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 2) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
  }
  if (t0 != napi_string || t1 != napi_function || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "syncFs: expected (path: string, callback: function)");
    return NULL;
  }
  SyncFsJob *job = calloc(1, sizeof *job);
  if (!job || !(job->path = malloc(len + 1))) {
    free(job);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], job->path, len + 1, &len);
  job->base.execute = execute;
  job->base.describe = describe;
  job->base.release = free_job;
  pool_job_queue(env, &job->base, argv[1], "syncFs");
  return NULL;
}

void sync_fs_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "syncFs", NAPI_AUTO_LENGTH, sync_fs, NULL, &f);
  napi_set_named_property(env, exports, "syncFs", f);
}
