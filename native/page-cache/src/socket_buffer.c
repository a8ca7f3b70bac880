/*
 * The JavaScript face of SO_RCVBUF, which Node's net module does not expose:
 *
 *   setReceiveBuffer(fd: number, bytes: number, force: boolean): number
 *       setsockopt(SO_RCVBUF) on the socket, or SO_RCVBUFFORCE with `force` (allowed past
 *       net.core.rmem_max, needs CAP_NET_ADMIN), then returns getsockopt(SO_RCVBUF): what the
 *       kernel granted in its own accounting (Linux doubles the request; without force it caps
 *       it at net.core.rmem_max). Throws an Error with `code` (errno name) and `syscall`.
 *
 * Why the proxy wants it: with the kernel's receive-buffer autotuning, each connection's
 * window starts at tcp_rmem's default (128 KiB) and grows only as fast as that connection
 * was read in the last round trip. On a busy host, round trips stretch to tens of
 * milliseconds and the uploads that got going first keep the large windows: measured with 16
 * concurrent 16 MiB PUTs, some received 2 MB/s while others got 20 MB/s. Set on the listening
 * socket, the size is inherited by every accepted connection, which then starts with the full
 * window.
 */
#include <node_api.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include "socket_buffer.h"
#include "errno_error.h"

static napi_value set_receive_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined, t2 = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 3) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
    napi_typeof(env, argv[2], &t2);
  }
  int fd = -1, bytes = 0;
  bool force = false;
  if (t0 != napi_number || t1 != napi_number || t2 != napi_boolean || napi_get_value_int32(env, argv[0], &fd) != napi_ok
      || napi_get_value_int32(env, argv[1], &bytes) != napi_ok || napi_get_value_bool(env, argv[2], &force) != napi_ok
      || fd < 0 || bytes <= 0) {
    napi_throw_type_error(env, NULL, "setReceiveBuffer: expected (fd: non-negative integer, bytes: positive integer, force: boolean)");
    return NULL;
  }
  if (setsockopt(fd, SOL_SOCKET, force ? SO_RCVBUFFORCE : SO_RCVBUF, &bytes, sizeof bytes) != 0) return throw_errno(env, errno, "setsockopt");
  int granted = 0;
  socklen_t len = sizeof granted;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len) != 0) return throw_errno(env, errno, "getsockopt");
  napi_create_int32(env, granted, &out);
  return out;
}

void socket_buffer_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "setReceiveBuffer", NAPI_AUTO_LENGTH, set_receive_buffer, NULL, &f);
  napi_set_named_property(env, exports, "setReceiveBuffer", f);
}
