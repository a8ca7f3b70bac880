/*
 * Receiving the rest of a request body from a TCP socket into a file, outside JavaScript:
 *
 *   receiveToFile(sockFd, fileFd, bytes, crc, callback(err, written, crc), writebackBytes = 0,
 *                 lowatBytes = 0)
 *       Reads `bytes` from socket sockFd, driven by the event loop (uv_poll, non-blocking
 *       reads, never more than TURN_BYTES per wake-up), continues the CRC-32C `crc` over them
 *       and writes each read to fileFd at its current offset at once; every writebackBytes
 *       written, starts the file's write-back to the disk (sync_file_range, not waiting for
 *       it). With lowatBytes, the socket is not reported readable before min(lowatBytes,
 *       bytes still due) have arrived (SO_RCVLOWAT; set back to 1 at the end). The callback
 *       gets null,
 *       `bytes` and the CRC when every byte is written, or an Error with `code` and `syscall`
 *       (ECONNRESET: the sender closed before the last byte; ECANCELED: receiveCancel) and
 *       the bytes written so far. Throws at once (TypeError, or the system call's Error) when
 *       it cannot start; returns a handle for receiveCancel.
 *   receiveCancel(handle)
 *       Ends a receive still running (its callback gets ECANCELED); nothing after its end.
 *
 * Why: a storage node took a 16 MiB replica body through node:http in 64 KiB reads, each
 * copied once more by the HTTP parser and passed through a few promise turns: profiled under
 * 16 concurrent 16 MiB PUTs, that JavaScript was half of a node's CPU, more than the kernel's
 * socket and page-cache copies it drives. Here a read takes up to BUF_BYTES at once.
 *
 * The write to the page cache is made right after the read, on the event loop's thread, as
 * Swift's object server writes: the bytes are still in the CPU's cache. Handing full 1 MiB
 * buffers to the libuv pool instead made the kernel's copy into the page cache two to five
 * times as costly (cold source) and added a pool round trip per MiB: measured, 23-29 ms of
 * node CPU per 16 MiB body against 20-23 ms this way. A page-cache write blocks only while
 * the kernel throttles dirty pages, and fsync (the slow part) still runs in the pool.
 *
 * Why start write-back on the way: otherwise all 16 MiB of a body wait in the page cache for
 * the fsync at its end, which then takes hundreds of milliseconds under load while the upload's
 * client waits; with 16 clients the host sat 15-35 % in I/O wait, its CPUs idle. Started every
 * MiB, the fsync finds little left: under 16 concurrent 16 MiB PUTs, 146-195 MB/s became
 * 201-233 MB/s (standalone, session 11).
 *
 * Both descriptors are dup()ed first, as in splice_relay.c: Node may close its own socket
 * descriptor meanwhile and the number be reused. The caller keeps Node from reading the socket
 * and writing the file until the callback.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include "crc32c.h"
#include "errno_error.h"
#include "native_job.h"
#include "receive_file.h"

/* One read's most: enough that a read empties a large socket buffer in a few calls, small
 * enough to stay in the CPU's cache until the write copies it out. */
#define BUF_BYTES (256 * 1024)
/* Bytes one wake-up takes at most before yielding to the event loop (other requests). */
#define TURN_BYTES (4 * 1024 * 1024)

typedef struct Receive Receive;

/* Buffers of finished receives, reused by the next ones (a fresh buffer's pages fault in and
 * are zeroed on every body). Only the event loop's thread takes and gives them. */
#define SPARE_MAX 64
static uint8_t *spare[SPARE_MAX];
static int spares;

static uint8_t *take_buffer(void) {
  return spares > 0 ? spare[--spares] : malloc(BUF_BYTES);
}

static void give_buffer(uint8_t *b) {
  if (!b) return;
  if (spares < SPARE_MAX) spare[spares++] = b;
  else free(b);
}

struct Receive {
  uv_poll_t poll;
  int sock_fd, file_fd;
  int64_t to_read;   /* bytes still to take from the socket */
  int64_t written;   /* bytes written to the file */
  int64_t writeback; /* start write-back after this many new bytes (0: never) */
  int64_t kicked;    /* bytes written when write-back was last started */
  int64_t lowat_max; /* SO_RCVLOWAT while bytes are due (0: leave the socket's own) */
  int lowat;         /* the SO_RCVLOWAT last set here (1: the kernel's default) */
  uint32_t crc;
  uint8_t *buf;
  int polling;
  Job job;
};

static void on_poll(uv_poll_t *handle, int status, int events);

static size_t more_args(napi_env env, void *data, napi_value *argv) {
  Receive *r = data;
  napi_create_double(env, (double)r->written, &argv[0]);
  napi_create_uint32(env, r->crc, &argv[1]);
  return 2;
}

/* Runs the callback once the poll handle is closed, then frees the receive. */
static void on_closed(uv_handle_t *handle) {
  Receive *r = handle->data;
  close(r->sock_fd);
  close(r->file_fd);
  job_call(&r->job, more_args, r);
  give_buffer(r->buf);
  free(r);
}

/* Best effort: a failure only costs wake-ups. The socket is Node's again after the body (the
 * trailer block that follows), so the end sets it back to 1. */
static void set_lowat(Receive *r, int bytes) {
  if (bytes == r->lowat) return;
  if (setsockopt(r->sock_fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0) r->lowat = bytes;
}

static void finish(Receive *r, int err, const char *syscall) {
  if (!job_end(&r->job, err, syscall)) return;
  set_lowat(r, 1);
  uv_close((uv_handle_t *)&r->poll, on_closed);
}

static void set_polling(Receive *r, int on) {
  /* Wake for a batch of the body, not for each segment the sender pushes: fewer wake-ups of
   * this thread, and fewer for the sender's CPU, which delivers loopback segments itself. */
  if (on && r->lowat_max > 0) set_lowat(r, (int)(r->to_read < r->lowat_max ? r->to_read : r->lowat_max));
  if (on == r->polling) return;
  r->polling = on;
  int rc = on ? uv_poll_start(&r->poll, UV_READABLE, on_poll) : uv_poll_stop(&r->poll);
  if (rc) finish(r, -rc, "uv_poll_start");
}

/* Starts (does not wait for) the write-back of the file's dirty pages. Best effort: a failure
 * here shows again at the fsync that makes the body durable. */
static void start_writeback(Receive *r) {
  sync_file_range(r->file_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  r->kicked = r->written;
}

/* Writes n bytes at p to the file whole. Returns 0 or an errno. */
static int write_all(Receive *r, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(r->file_fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    n -= (size_t)w;
    r->written += w;
  }
  return 0;
}

/* Takes what the socket holds now, up to TURN_BYTES, into the file. */
static void pump(Receive *r) {
  int64_t turn = 0;
  while (r->to_read > 0 && turn < TURN_BYTES) {
    size_t want = r->to_read < BUF_BYTES ? (size_t)r->to_read : BUF_BYTES;
    ssize_t n = read(r->sock_fd, r->buf, want);
    if (n > 0) {
      r->crc = crc32c_update(r->crc, r->buf, (size_t)n);
      r->to_read -= n;
      turn += n;
      int e = write_all(r, r->buf, (size_t)n);
      if (e) return finish(r, e, "write");
      if (r->writeback > 0 && r->written - r->kicked >= r->writeback) start_writeback(r);
    } else if (n == 0) {
      return finish(r, ECONNRESET, "read"); /* the sender closed before the last byte */
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return set_polling(r, 1);
    } else {
      return finish(r, errno, "read");
    }
  }
  if (r->to_read == 0) return finish(r, 0, NULL);
  set_polling(r, 1); /* yielded: the socket is still readable, so the poll wakes us next turn */
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  Receive *r = handle->data;
  if (r->job.finished) return;
  pump(r); /* the next read() names a socket error that libuv reports as a status */
  if (status < 0 && !r->job.finished) finish(r, -status, "poll");
}

static napi_value receive_to_file(napi_env env, napi_callback_info info) {
  static const char *usage = "receiveToFile: expected (sockFd, fileFd: non-negative integers, bytes: positive integer, "
                             "crc: unsigned 32-bit integer, callback, writebackBytes?: non-negative integer, "
                             "lowatBytes?: integer 0..2^30)";
  napi_value argv[7];
  napi_valuetype t[7];
  int32_t fds[2];
  int64_t bytes = 0, writeback = 0, lowat = 0;
  uint32_t crc = 0;
  uv_loop_t *loop;
  if (job_fd_args(env, info, 7, argv, t, fds, &bytes, &loop, usage) != 0) return NULL;
  if (t[3] != napi_number || t[4] != napi_function || napi_get_value_uint32(env, argv[3], &crc) != napi_ok
      || (t[5] != napi_undefined && (t[5] != napi_number || napi_get_value_int64(env, argv[5], &writeback) != napi_ok))
      || (t[6] != napi_undefined && (t[6] != napi_number || napi_get_value_int64(env, argv[6], &lowat) != napi_ok))
      || writeback < 0 || lowat < 0 || lowat > (1 << 30)) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  napi_value handle;
  JobToken *token = job_token_new(env, &handle);
  if (!token) return NULL;
  Receive *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, ENOMEM, "calloc");
  r->sock_fd = r->file_fd = -1;
  int e = 0;
  const char *syscall = NULL;
  if (!(r->buf = take_buffer())) {
    e = ENOMEM, syscall = "malloc";
  } else if ((e = job_dup_fds(fds, &r->sock_fd, &r->file_fd))) {
    syscall = "fcntl";
  } else {
    int rc = uv_poll_init(loop, &r->poll, r->sock_fd);
    if (rc != 0) e = -rc, syscall = "uv_poll_init";
  }
  if (e) {
    if (r->sock_fd >= 0) close(r->sock_fd);
    if (r->file_fd >= 0) close(r->file_fd);
    give_buffer(r->buf);
    free(r);
    return throw_errno(env, e, syscall);
  }
  r->poll.data = r;
  r->to_read = bytes;
  r->crc = crc;
  r->writeback = writeback;
  r->lowat_max = lowat;
  r->lowat = 1;
  job_start(&r->job, env, token, r, handle, argv[4], "ringstack:receiveToFile");
  /* Bytes may already wait in the socket: the poll reports them on the next turn. */
  set_polling(r, 1);
  return handle;
}

static napi_value receive_cancel(napi_env env, napi_callback_info info) {
  JobToken *token = job_token_arg(env, info, "receiveCancel: expected the handle receiveToFile returned");
  if (token && token->job) finish(token->job, ECANCELED, "read");
  return NULL;
}

void receive_file_register(napi_env env, napi_value exports) {
  job_export(env, exports, "receiveToFile", receive_to_file, "receiveCancel", receive_cancel);
}
