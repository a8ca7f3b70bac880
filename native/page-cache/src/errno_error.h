/* A JavaScript Error for a failed system call, shaped like Node's own fs errors. */
#ifndef RINGSTACK_ERRNO_ERROR_H
#define RINGSTACK_ERRNO_ERROR_H
#include <node_api.h>
/* An Error with `code` (the errno name), `syscall` and `errno` (negative, as Node's). */
napi_value errno_error(napi_env env, int err, const char *syscall);
/* Throws that Error; returns NULL, for a binding to return at once. */
napi_value throw_errno(napi_env env, int err, const char *syscall);
#endif
