/*
 * The one place the addon turns an errno into a JavaScript Error, for the pool callbacks
 * (page_cache.c), the synchronous calls (socket_buffer.c) and the relay (splice_relay.c) alike.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>
#include "errno_error.h"

/* libuv knows every errno's name ("ECONNRESET"), as Node's own errors give it. */
static const char *errno_name(int e, char *buf, size_t size) {
  return uv_err_name_r(-e, buf, size);
}

napi_value errno_error(napi_env env, int err, const char *syscall) {
  napi_value code, msg, error, sys, num;
  char text[200], name[64];
  errno_name(err, name, sizeof name);
  snprintf(text, sizeof text, "%s, %s (%s)", name, strerror(err), syscall);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "syscall", sys);
  napi_set_named_property(env, error, "errno", num);
  return error;
}

napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_throw(env, errno_error(env, err, syscall));
  return NULL;
}
