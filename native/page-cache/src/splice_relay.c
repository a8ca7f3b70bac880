/*
 * Moving the rest of a response body from one TCP socket to another inside the kernel:
 *
 *   spliceRelay(inFd, outFd, bytes, callback(err, moved))
 *       splice(2) `bytes` from socket inFd through a pipe into socket outFd, driven by the
 *       event loop (uv_poll), never blocking it. The callback gets null and `bytes` when all
 *       of them went out, or an Error with `code` (errno name) and `syscall` and the bytes
 *       sent so far: ECONNRESET when inFd ended early, EPIPE/ECONNRESET when outFd's peer left.
 *       Throws at once (TypeError, or the system call's Error) when it cannot start; returns a
 *       handle for spliceCancel.
 *   spliceCancel(handle)
 *       Ends a relay still running (its callback gets ECANCELED); does nothing after its end.
 *
 * Why: the proxy relays each GET body from a storage node to its client. Read into user space
 * and written out again, a 16 MiB body cost two copies and a few hundred trips through
 * JavaScript; profiled under 16 concurrent 16 MiB GETs, the two copies alone were a quarter of
 * the proxy's CPU. splice() passes the node's socket pages to the client's socket by reference.
 *
 * Both descriptors are dup()ed first: Node may close its own descriptor of the client's socket
 * (the client went away) while the relay runs, and the number could be reused at once by
 * another file; the duplicates keep pointing at the original sockets until the relay closes
 * them. The caller must keep Node itself from reading inFd or writing outFd meanwhile (it
 * pauses the node's socket and has flushed everything it wrote to the client's).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "errno_error.h"
#include "native_job.h"
#include "splice_relay.h"

/* The pipe between the sockets; bigger means fewer system calls per body (Linux allows 1 MiB
 * per pipe by default, fs.pipe-max-size; a smaller grant still works). */
#define PIPE_BYTES (1024 * 1024)
/* Bytes one wake-up moves at most before the relay yields to the event loop (other relays,
 * requests): the sockets are still ready, so it is woken again on the next turn. */
#define TURN_BYTES (4 * 1024 * 1024)

typedef struct Relay Relay;

struct Relay {
  uv_poll_t in_poll, out_poll;
  int in_fd, out_fd, pipe_r, pipe_w;
  int64_t to_read;  /* bytes still to take from in_fd */
  int64_t in_pipe;  /* bytes taken, not yet given to out_fd */
  int64_t pipe_cap;
  int64_t moved;    /* bytes given to out_fd */
  int open_handles;
  Job job;
};

static void on_poll(uv_poll_t *handle, int status, int events);

static size_t more_args(napi_env env, void *data, napi_value *argv) {
  Relay *r = data;
  napi_create_double(env, (double)r->moved, &argv[0]);
  return 1;
}

static void on_closed(uv_handle_t *handle) {
  Relay *r = handle->data;
  if (--r->open_handles > 0) return;
  close(r->in_fd);
  close(r->out_fd);
  close(r->pipe_r);
  close(r->pipe_w);
  job_call(&r->job, more_args, r);
  free(r);
}

/* Ends the relay with `err` (0: done); the callback runs once both poll handles are closed. */
static void finish(Relay *r, int err, const char *syscall) {
  if (!job_end(&r->job, err, syscall)) return;
  uv_close((uv_handle_t *)&r->in_poll, on_closed);
  uv_close((uv_handle_t *)&r->out_poll, on_closed);
}

/* Moves what can move now, then waits for the one socket that holds things up. */
static void pump(Relay *r) {
  int64_t moved_before = r->moved;
  for (;;) {
    int progress = 0;
    if (r->to_read > 0 && r->in_pipe < r->pipe_cap) {
      int64_t want = r->pipe_cap - r->in_pipe;
      if (want > r->to_read) want = r->to_read;
      ssize_t n = splice(r->in_fd, NULL, r->pipe_w, NULL, (size_t)want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        r->to_read -= n;
        r->in_pipe += n;
        progress = 1;
      } else if (n == 0) {
        return finish(r, ECONNRESET, "splice"); /* the sender closed before the last byte */
      } else if (errno != EAGAIN && errno != EINTR) {
        return finish(r, errno, "splice");
      }
    }
    if (r->in_pipe > 0) {
      ssize_t n = splice(r->pipe_r, NULL, r->out_fd, NULL, (size_t)r->in_pipe,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (r->to_read > 0 ? SPLICE_F_MORE : 0));
      if (n > 0) {
        r->in_pipe -= n;
        r->moved += n;
        progress = 1;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return finish(r, errno, "splice");
      }
    }
    if (r->to_read == 0 && r->in_pipe == 0) return finish(r, 0, NULL);
    if (!progress || r->moved - moved_before >= TURN_BYTES) break;
  }
  /* Bytes in the pipe: only the receiver's socket can free it. An empty pipe: only the
   * sender's socket can fill it. Waiting on one side at a time never spins on a readable
   * socket whose bytes have no room to go. */
  int rc = r->in_pipe > 0 ? uv_poll_stop(&r->in_poll) || uv_poll_start(&r->out_poll, UV_WRITABLE, on_poll)
                          : uv_poll_stop(&r->out_poll) || uv_poll_start(&r->in_poll, UV_READABLE, on_poll);
  if (rc) finish(r, -rc, "uv_poll_start");
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  Relay *r = handle->data;
  if (r->job.finished) return;
  /* libuv reports a socket error as a status; the next splice() names the real one. */
  pump(r);
  if (status < 0 && !r->job.finished) finish(r, -status, "poll");
}

static void free_after_close(uv_handle_t *handle) { free(handle->data); }

static napi_value splice_relay(napi_env env, napi_callback_info info) {
  static const char *usage = "spliceRelay: expected (inFd, outFd: non-negative integers, bytes: positive integer, callback)";
  napi_value argv[4];
  napi_valuetype t[4];
  int32_t fds[2];
  int64_t bytes = 0;
  uv_loop_t *loop;
  if (job_fd_args(env, info, 4, argv, t, fds, &bytes, &loop, usage) != 0) return NULL;
  if (t[3] != napi_function) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  /* The handle first: once the relay runs, nothing may fail without its callback. */
  napi_value handle;
  JobToken *token = job_token_new(env, &handle);
  if (!token) return NULL;
  Relay *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, ENOMEM, "calloc");
  r->in_fd = r->out_fd = r->pipe_r = r->pipe_w = -1;
  int pipefd[2];
  int e = 0;
  const char *syscall = NULL;
  if ((e = job_dup_fds(fds, &r->in_fd, &r->out_fd))) {
    syscall = "fcntl";
  } else if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
    e = errno, syscall = "pipe2";
  } else {
    r->pipe_r = pipefd[0];
    r->pipe_w = pipefd[1];
    fcntl(r->pipe_w, F_SETPIPE_SZ, PIPE_BYTES); /* best effort: the default 64 KiB works too */
    int cap = fcntl(r->pipe_w, F_GETPIPE_SZ);
    r->pipe_cap = cap > 0 ? cap : 65536;
    int rc = uv_poll_init(loop, &r->in_poll, r->in_fd);
    if (rc == 0) {
      r->open_handles++;
      rc = uv_poll_init(loop, &r->out_poll, r->out_fd);
      if (rc == 0) r->open_handles++;
    }
    if (rc != 0) e = -rc, syscall = "uv_poll_init";
  }
  if (e) {
    /* A handle already initialised belongs to the loop until closed: r is freed after that. */
    if (r->open_handles == 1) {
      r->in_poll.data = r;
      uv_close((uv_handle_t *)&r->in_poll, free_after_close);
    }
    if (r->in_fd >= 0) close(r->in_fd);
    if (r->out_fd >= 0) close(r->out_fd);
    if (r->pipe_r >= 0) close(r->pipe_r);
    if (r->pipe_w >= 0) close(r->pipe_w);
    if (r->open_handles == 0) free(r);
    return throw_errno(env, e, syscall);
  }
  r->to_read = bytes;
  r->in_poll.data = r;
  r->out_poll.data = r;
  job_start(&r->job, env, token, r, handle, argv[3], "ringstack:spliceRelay");
  int rc = uv_poll_start(&r->in_poll, UV_READABLE, on_poll);
  if (rc) finish(r, -rc, "uv_poll_start");
  return handle;
}

static napi_value splice_cancel(napi_env env, napi_callback_info info) {
  JobToken *token = job_token_arg(env, info, "spliceCancel: expected the handle spliceRelay returned");
  if (token && token->job) finish(token->job, ECANCELED, "splice");
  return NULL;
}

void splice_relay_register(napi_env env, napi_value exports) {
  job_export(env, exports, "spliceRelay", splice_relay, "spliceCancel", splice_cancel);
}
