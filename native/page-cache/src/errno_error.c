/*
 * The one place the addon turns an errno into a JavaScript Error, for the pool callbacks
 * (page_cache.c) and the synchronous calls (socket_buffer.c) alike.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "errno_error.h"

static const char *errno_name(int e) {
  switch (e) {
    case EBADF: return "EBADF";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case ESPIPE: return "ESPIPE";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPERM: return "EPERM";
    default: return "EUNKNOWN";
  }
}

napi_value errno_error(napi_env env, int err, const char *syscall) {
  napi_value code, msg, error, sys, num;
  char text[160];
  snprintf(text, sizeof text, "%s, %s (%s)", errno_name(err), strerror(err), syscall);
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "syscall", sys);
  napi_set_named_property(env, error, "errno", num);
  return error;
}
