#ifndef RINGSTACK_MD5_HASHER_H
#define RINGSTACK_MD5_HASHER_H
#include <node_api.h>
/* Adds md5New, md5Update, md5Flush, md5Digest, md5Discard and md5LanesKind to the exports. */
void md5_hasher_register(napi_env env, napi_value exports);
#endif
