/*
 * Node-API module over kernel.c: the widest hash_many the CPU runs, and the three operations
 * NativeCore (native-core.ts) needs. Every length is checked here as well as in TypeScript: a
 * wrong call throws a RangeError, it never reads or writes outside the arrays it was given.
 *
 *   chunks(data, startChunk, out)         n whole 1 KiB chunks -> n non-root chunk CVs
 *   parents(pairs, out, isRoot)           n 64-byte pairs -> n parent CVs (isRoot: n must be 1)
 *   subtree(data, startChunk, isRoot, out) 2^k whole chunks (k >= 1) -> the subtree's CV
 *   readCached(fd, target, position)      Linux: as many bytes of the file at `position` into
 *       `target` as the page cache holds, now, on the calling thread (preadv2 with RWF_NOWAIT);
 *       stops at the first byte that would wait for the disk, at the file's end, or at an error,
 *       and returns how many it read; -1 where the file system or kernel does not read that way
 *       at all (nothing read). The caller reads the rest as usual. Absent elsewhere.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#ifdef __linux__
#include <sys/uio.h>
#endif

#define CHUNK_START 1u
#define CHUNK_END 2u
#define PARENT 4u
#define ROOT 8u
#define CHUNK 1024
#define MAX_LANES 16

typedef void (*hash_many_fn) (const uint8_t *const *inputs, size_t blocks, uint64_t counter, int increment,
  uint32_t flags, uint32_t flags_start, uint32_t flags_end, uint8_t *out);

void verity_hash_many_4 (const uint8_t *const *, size_t, uint64_t, int, uint32_t, uint32_t, uint32_t, uint8_t *);
#if defined(__x86_64__)
void verity_hash_many_8 (const uint8_t *const *, size_t, uint64_t, int, uint32_t, uint32_t, uint32_t, uint8_t *);
void verity_hash_many_16 (const uint8_t *const *, size_t, uint64_t, int, uint32_t, uint32_t, uint32_t, uint8_t *);
#endif

static hash_many_fn hash_many;
static int lanes;
static const char *kernel_name;

/*
 * `count` inputs of `blocks` blocks, `stride` bytes apart from `first`, through hash_many `lanes`
 * at a time; a last batch that is short repeats its last input in the spare lanes and keeps only
 * the results it asked for.
 */
static void hash_all (const uint8_t *first, size_t count, size_t stride, size_t blocks, uint64_t counter,
  int increment, uint32_t flags, uint32_t flags_start, uint32_t flags_end, uint8_t *out) {
  const uint8_t *inputs[MAX_LANES];
  uint8_t spare[MAX_LANES * 32];
  for (size_t done = 0; done < count; done += lanes) {
    size_t n = count - done < (size_t)lanes ? count - done : (size_t)lanes;
    for (int l = 0; l < lanes; l++) inputs[l] = first + (done + ((size_t)l < n ? (size_t)l : n - 1)) * stride;
    uint64_t c = counter + (increment ? done : 0);
    if (n == (size_t)lanes) {
      hash_many(inputs, blocks, c, increment, flags, flags_start, flags_end, out + done * 32);
    } else {
      hash_many(inputs, blocks, c, increment, flags, flags_start, flags_end, spare);
      memcpy(out + done * 32, spare, n * 32);
    }
  }
}

static napi_value fail (napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

static int bytes_of (napi_env env, napi_value value, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, value, &type, length, (void **)data, NULL, NULL) != napi_ok) return 0;
  return type == napi_uint8_array;
}

static int counter_of (napi_env env, napi_value value, uint64_t *counter) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(uint64_t)d) return 0;
  *counter = (uint64_t)d;
  return 1;
}

static napi_value chunks (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *data, *out;
  size_t length, out_length;
  uint64_t start;
  if (argc < 3 || !bytes_of(env, argv[0], &data, &length) || !counter_of(env, argv[1], &start) || !bytes_of(env, argv[2], &out, &out_length)) return fail(env, "chunks(data, startChunk, out)");
  if (length == 0 || length % CHUNK != 0) return fail(env, "chunks: data must be whole chunks");
  if (out_length < length / CHUNK * 32) return fail(env, "chunks: out is too short");
  hash_all(data, length / CHUNK, CHUNK, CHUNK / 64, start, 1, 0, CHUNK_START, CHUNK_END, out);
  return NULL;
}

static napi_value parents (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *pairs, *out;
  size_t length, out_length;
  bool root;
  if (argc < 3 || !bytes_of(env, argv[0], &pairs, &length) || !bytes_of(env, argv[1], &out, &out_length) || napi_get_value_bool(env, argv[2], &root) != napi_ok) return fail(env, "parents(pairs, out, isRoot)");
  if (length == 0 || length % 64 != 0) return fail(env, "parents: pairs must be whole 64-byte pairs");
  if (out_length < length / 2) return fail(env, "parents: out is too short");
  if (root && length != 64) return fail(env, "parents: only one pair can be the root");
  hash_all(pairs, length / 64, 64, 1, 0, 0, PARENT | (root ? ROOT : 0), 0, 0, out);
  return NULL;
}

static napi_value subtree (napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *data, *out;
  size_t length, out_length;
  uint64_t start;
  bool root;
  if (argc < 4 || !bytes_of(env, argv[0], &data, &length) || !counter_of(env, argv[1], &start) || napi_get_value_bool(env, argv[2], &root) != napi_ok || !bytes_of(env, argv[3], &out, &out_length)) return fail(env, "subtree(data, startChunk, isRoot, out)");
  size_t n = length / CHUNK;
  if (length % CHUNK != 0 || n < 2 || (n & (n - 1)) != 0) return fail(env, "subtree: data must be 2^k whole chunks, k >= 1");
  if (out_length < 32) return fail(env, "subtree: out is too short");
  uint8_t stack[64 * 32];
  uint8_t *cvs = n <= 64 ? stack : malloc(n * 32);
  if (cvs == NULL) {
    napi_throw_error(env, NULL, "subtree: out of memory");
    return NULL;
  }
  hash_all(data, n, CHUNK, CHUNK / 64, start, 1, 0, CHUNK_START, CHUNK_END, cvs);
  /* Each level's pairs are the level below's values, side by side: hashed in place. */
  for (size_t level = n / 2; level > 1; level /= 2) hash_all(cvs, level, 64, 1, 0, 0, PARENT, 0, 0, cvs);
  hash_all(cvs, 1, 64, 1, 0, 0, PARENT | (root ? ROOT : 0), 0, 0, out);
  if (cvs != stack) free(cvs);
  return NULL;
}

#if defined(__linux__) && defined(RWF_NOWAIT)
static napi_value read_cached (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  uint8_t *target;
  size_t length;
  uint64_t position;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || !bytes_of(env, argv[1], &target, &length) || !counter_of(env, argv[2], &position)) {
    return fail(env, "readCached(fd, target, position)");
  }
  size_t done = 0;
  int unsupported = 0;
  while (fd >= 0 && done < length) {
    struct iovec part = { target + done, length - done };
    ssize_t n = preadv2(fd, &part, 1, (off_t)(position + done), RWF_NOWAIT);
    if (n < 0 && errno == EINTR) continue;
    /* Not this way at all: a file system without RWF_NOWAIT reads (tmpfs), a kernel before 4.14. */
    if (n < 0 && done == 0 && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) unsupported = 1;
    if (n <= 0) break; /* EAGAIN: the rest is not in the page cache; or the end, or an error the caller's read reports */
    done += (size_t)n;
  }
  napi_value result;
  napi_create_double(env, unsupported ? -1.0 : (double)done, &result);
  return result;
}
#endif

NAPI_MODULE_INIT() {
  const uint32_t one = 1;
  if (*(const uint8_t *)&one != 1) {
    napi_throw_error(env, NULL, "the native BLAKE3 kernel supports little-endian hosts only");
    return NULL;
  }
  hash_many = verity_hash_many_4;
  lanes = 4;
  kernel_name = "native-128";
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (getenv("VERITY_NATIVE_LANES") == NULL || atoi(getenv("VERITY_NATIVE_LANES")) >= 8) {
    if (__builtin_cpu_supports("avx512f") && (getenv("VERITY_NATIVE_LANES") == NULL || atoi(getenv("VERITY_NATIVE_LANES")) >= 16)) {
      hash_many = verity_hash_many_16; lanes = 16; kernel_name = "native-avx512";
    } else if (__builtin_cpu_supports("avx2")) {
      hash_many = verity_hash_many_8; lanes = 8; kernel_name = "native-avx2";
    }
  }
#endif
  napi_value fn, name;
  napi_create_function(env, "chunks", NAPI_AUTO_LENGTH, chunks, NULL, &fn);
  napi_set_named_property(env, exports, "chunks", fn);
  napi_create_function(env, "parents", NAPI_AUTO_LENGTH, parents, NULL, &fn);
  napi_set_named_property(env, exports, "parents", fn);
  napi_create_function(env, "subtree", NAPI_AUTO_LENGTH, subtree, NULL, &fn);
  napi_set_named_property(env, exports, "subtree", fn);
#if defined(__linux__) && defined(RWF_NOWAIT)
  napi_create_function(env, "readCached", NAPI_AUTO_LENGTH, read_cached, NULL, &fn);
  napi_set_named_property(env, exports, "readCached", fn);
#endif
  napi_create_string_utf8(env, kernel_name, NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, exports, "kernel", name);
  return exports;
}
