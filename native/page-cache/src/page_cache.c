/*
 * Page-cache control for ringstack's storage nodes, as a Node-API addon.
 *
 * Node's fs module has no posix_fadvise. Swift's object server drops an object's pages from
 * the cache once it is durable (and after serving a large read), so a stream of large writes
 * does not grow the cache without bound: fresh page-cache pages are the expensive part of a
 * large write on a virtual machine (first touch of guest memory), recycled ones are cheap.
 *
 *   fsyncDropCache(fd, callback(err))  fsync(fd), then POSIX_FADV_DONTNEED over the whole file
 *   dropCache(fd, callback(err))       POSIX_FADV_DONTNEED only (after a read)
 *
 * Both run in the libuv pool, one trip each; the callback gets an Error with `code` (errno
 * name) and `syscall` like Node's own fs errors, or null.
 *
 * The addon also carries the nodes' body checksum, CRC-32C (crc32c.c, crc32c_binding.c), and
 * the proxy's listening-socket receive buffer (socket_buffer.c) and its kernel-side relay of
 * large GET bodies (splice_relay.c), and the batched directory fsyncs of a small write
 * and syncfs(2) for the small-write log (fsync_dirs.c), and a small file made unnamed and linked
 * into place whole (place_file.c): small system calls Node lacks.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "crc32c_binding.h"
#include "md5_hasher.h"
#include "socket_buffer.h"
#include "splice_relay.h"
#include "receive_file.h"
#include "fsync_dirs.h"
#include "place_file.h"
#include "pool_job.h"

typedef struct {
  PoolJob base;
  int fd;
  int sync_first;
} DropJob;

static void drop_execute(PoolJob *base) {
  DropJob *job = (DropJob *)base;
  if (job->sync_first && fsync(job->fd) != 0) {
    base->err = errno;
    base->syscall = "fsync";
    return;
  }
  /* posix_fadvise returns the error number instead of setting errno. */
  int rc = posix_fadvise(job->fd, 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) {
    base->err = rc;
    base->syscall = "posix_fadvise";
  }
}

static void drop_release(PoolJob *base) { free(base); }

static napi_value start(napi_env env, napi_callback_info info, int sync_first) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype t0, t1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_typeof(env, argv[0], &t0) != napi_ok || t0 != napi_number
      || napi_typeof(env, argv[1], &t1) != napi_ok || t1 != napi_function) {
    napi_throw_type_error(env, NULL, "expected (fd: number, callback: function)");
    return NULL;
  }
  DropJob *job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_int32(env, argv[0], &job->fd);
  job->sync_first = sync_first;
  job->base.execute = drop_execute;
  job->base.release = drop_release;
  pool_job_queue(env, &job->base, argv[1], sync_first ? "fsyncDropCache" : "dropCache");
  return NULL;
}

static napi_value fsync_drop_cache(napi_env env, napi_callback_info info) { return start(env, info, 1); }
static napi_value drop_cache(napi_env env, napi_callback_info info) { return start(env, info, 0); }

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "fsyncDropCache", NAPI_AUTO_LENGTH, fsync_drop_cache, NULL, &f);
  napi_set_named_property(env, exports, "fsyncDropCache", f);
  napi_create_function(env, "dropCache", NAPI_AUTO_LENGTH, drop_cache, NULL, &f);
  napi_set_named_property(env, exports, "dropCache", f);
  crc32c_register(env, exports);
  socket_buffer_register(env, exports);
  splice_relay_register(env, exports);
  receive_file_register(env, exports);
  md5_hasher_register(env, exports);
  fsync_dirs_register(env, exports);
  place_file_register(env, exports);
  return exports;
}
