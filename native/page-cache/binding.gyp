{
  "targets": [
    {
      "target_name": "page_cache",
      "sources": ["src/page_cache.c", "src/crc32c.c", "src/crc32c_binding.c", "src/socket_buffer.c", "src/errno_error.c", "src/splice_relay.c", "src/receive_file.c", "src/native_job.c", "src/md5_lanes.c", "src/md5_hasher.c", "src/fsync_dirs.c", "src/pool_job.c", "src/place_file.c", "src/string_arg.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
