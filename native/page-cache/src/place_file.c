/*
 *   placeFile(dir: string, path: string, data: Buffer): void
 *       makes a new file at `path` (a name inside the existing directory `dir`) holding
 *       `data`, without any name until it is whole: open(dir, O_TMPFILE) gives an unnamed
 *       inode on dir's filesystem, write(2) fills it, linkat(2) gives it `path` (EEXIST, and
 *       nothing changed, when something already has that name), close. Synchronous, like the
 *       rest of a small write's metadata calls on the event loop (objectstore/node/diskfile.ts).
 *       Throws an Error shaped like Node's fs errors (`code`, `syscall`, `path`). A filesystem
 *       without O_TMPFILE fails the open with EOPNOTSUPP (EISDIR on kernels before 3.11), and
 *       a host without /proc fails the linkat with ENOENT while `dir` exists: both are given
 *       the code EOPNOTSUPP and syscall "open", so the caller can fall back to a temp file.
 *
 * Why: a storage node's small write made a temp file in the device's tmp dir, then renamed
 * it into the object's hash dir: a directory entry made in one directory and moved to another
 * per object replica. Measured on ext4 (bench/objectstore/README.md, session 31), the file
 * calls of a new 4 KiB object (mkdirs included) took 0.21-0.82 ms of CPU that way against
 * 0.13-0.39 ms with an unnamed file linked into place; a crash before the link leaves nothing
 * to clean up. Node's fs has neither O_TMPFILE's open nor linkat with AT_SYMLINK_FOLLOW
 * (link(2) on /proc/self/fd/N would link the magic link itself). Swift's object server makes
 * its files the same way where it can.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "errno_error.h"
#include "place_file.h"
#include "string_arg.h"

static const char USAGE[] = "placeFile: expected (dir: string, path: string, data: Buffer)";

static napi_value fail(napi_env env, int err, const char *syscall, const char *path) {
  napi_value error = errno_error(env, err, syscall), p;
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p);
  napi_set_named_property(env, error, "path", p);
  napi_throw(env, error);
  return NULL;
}

/* errno of a full write of [data, data + len) to fd, or 0. */
static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static napi_value place_file(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  bool is_buffer = false;
  void *data = NULL;
  size_t len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 3) napi_is_buffer(env, argv[2], &is_buffer);
  if (argc < 3 || !is_buffer) {
    napi_throw_type_error(env, NULL, USAGE);
    return NULL;
  }
  napi_get_buffer_info(env, argv[2], &data, &len);
  char *dir = string_arg(env, argv[0], USAGE);
  if (!dir) return NULL;
  char *path = string_arg(env, argv[1], USAGE);
  if (!path) {
    free(dir);
    return NULL;
  }
  napi_value result = NULL;
  int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) {
    int err = errno;
    result = fail(env, err == EISDIR ? EOPNOTSUPP : err, "open", dir);
    goto out;
  }
  int err = write_all(fd, data, len);
  if (err) {
    close(fd); /* the unnamed inode goes with it */
    result = fail(env, err, "write", dir);
    goto out;
  }
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0) {
    err = errno;
    int no_proc = err == ENOENT && access("/proc/self/fd", F_OK) != 0;
    close(fd);
    result = no_proc ? fail(env, EOPNOTSUPP, "open", dir) : fail(env, err, "linkat", path);
    goto out;
  }
  /* Named and whole: what close could still report, the page cache already holds. */
  close(fd);
out:
  free(dir);
  free(path);
  return result;
}

void place_file_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "placeFile", NAPI_AUTO_LENGTH, place_file, NULL, &f);
  napi_set_named_property(env, exports, "placeFile", f);
}
