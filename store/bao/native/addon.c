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
 *   writeAll(fds, positions, buffers)     Linux: a promise; on one thread of libuv's pool, each
 *       buffer written whole at its position of its file, in order, stopping at the first failure;
 *       rejects with { errno, index } of the write that failed. One job in place of one per write:
 *       each job costs a thread handoff both ways.
 *   syncAll(fds)                          Linux: a promise; fdatasync of each file, in order, as one
 *       job of the pool; rejects with { errno, index } at the first that fails.
 *   hashGroups(data, startChunk, groupLog, out) a promise; on a thread of libuv's pool, the non-root
 *       CVs of the whole groups of 2^groupLog chunks in `data` (at most 1 GiB), 32 bytes each into
 *       `out`. Both arrays are kept alive until it settles; the caller must not change or detach
 *       them before. Several run at once, one per pool thread: hashing a file on every core.
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
#include <unistd.h>
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

#ifdef __linux__
/* The most writes (or files) one writeAll (or syncAll) call takes. */
#define MAX_OPS 4096

typedef struct { int32_t fd; uint64_t position; uint8_t *data; size_t length; } file_op;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the array of buffers, alive until the job is done */
  int sync;
  int error;
  size_t failed;
  size_t count;
  file_op ops[];
} file_job;

static file_job *new_job (napi_env env, uint32_t count, int sync) {
  file_job *job = calloc(1, sizeof(file_job) + (size_t)count * sizeof(file_op));
  if (job == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  job->count = count;
  job->sync = sync;
  return job;
}

static void run_job (napi_env env, void *arg) {
  (void)env;
  file_job *job = arg;
  for (size_t i = 0; i < job->count && job->error == 0; i++) {
    file_op *op = &job->ops[i];
    if (job->sync) {
      if (fdatasync(op->fd) != 0) { job->error = errno; job->failed = i; }
      continue;
    }
    size_t done = 0;
    while (done < op->length) {
      ssize_t n = pwrite(op->fd, op->data + done, op->length - done, (off_t)(op->position + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) { job->error = n < 0 ? errno : EIO; job->failed = i; break; }
      done += (size_t)n;
    }
  }
}

static void end_job (napi_env env, napi_status status, void *arg) {
  file_job *job = arg;
  if (status != napi_ok && job->error == 0) { job->error = ECANCELED; job->failed = 0; }
  if (job->error == 0) {
    napi_value none;
    napi_get_undefined(env, &none);
    napi_resolve_deferred(env, job->deferred, none);
  } else {
    napi_value reason, value;
    napi_create_object(env, &reason);
    napi_create_int32(env, job->error, &value);
    napi_set_named_property(env, reason, "errno", value);
    napi_create_double(env, (double)job->failed, &value);
    napi_set_named_property(env, reason, "index", value);
    napi_reject_deferred(env, job->deferred, reason);
  }
  if (job->keep != NULL) napi_delete_reference(env, job->keep);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value start_job (napi_env env, file_job *job, napi_value keep) {
  napi_value promise, name;
  if (keep != NULL && napi_create_reference(env, keep, 1, &job->keep) != napi_ok) { free(job); return fail(env, "cannot keep the buffers"); }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, job->sync ? "verity.syncAll" : "verity.writeAll", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, run_job, end_job, job, &job->work) != napi_ok) {
    /* A deferred made before the failure is left unsettled with its promise, which nobody holds. */
    if (job->keep != NULL) napi_delete_reference(env, job->keep);
    free(job);
    napi_throw_error(env, NULL, "cannot start the job");
    return NULL;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    if (job->keep != NULL) napi_delete_reference(env, job->keep);
    napi_delete_async_work(env, job->work);
    free(job);
    napi_throw_error(env, NULL, "cannot queue the job");
    return NULL;
  }
  return promise;
}

/* The i-th element of an array as a whole number in [0, max] (counter_of's check). */
static int index_value (napi_env env, napi_value array, uint32_t i, uint64_t max, uint64_t *out) {
  napi_value v;
  return napi_get_element(env, array, i, &v) == napi_ok && counter_of(env, v, out) && *out <= max;
}

static napi_value write_all (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t n, n2, n3;
  bool arrays = argc >= 3;
  for (size_t a = 0; arrays && a < 3; a++) { bool is; arrays = napi_is_array(env, argv[a], &is) == napi_ok && is; }
  if (!arrays || napi_get_array_length(env, argv[0], &n) != napi_ok || napi_get_array_length(env, argv[1], &n2) != napi_ok ||
      napi_get_array_length(env, argv[2], &n3) != napi_ok || n != n2 || n != n3 || n > MAX_OPS) {
    return fail(env, "writeAll(fds, positions, buffers): three arrays of the same length, at most 4096");
  }
  file_job *job = new_job(env, n, 0);
  if (job == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t fd, position;
    napi_value buffer;
    if (!index_value(env, argv[0], i, INT32_MAX, &fd) || !index_value(env, argv[1], i, UINT64_MAX, &position) ||
        napi_get_element(env, argv[2], i, &buffer) != napi_ok || !bytes_of(env, buffer, &job->ops[i].data, &job->ops[i].length)) {
      free(job);
      return fail(env, "writeAll(fds, positions, buffers): a file descriptor, a position from 0 and a Uint8Array for each write");
    }
    job->ops[i].fd = (int32_t)fd;
    job->ops[i].position = position;
  }
  return start_job(env, job, argv[2]);
}

static napi_value sync_all (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t n;
  bool is = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is) != napi_ok || !is || napi_get_array_length(env, argv[0], &n) != napi_ok || n > MAX_OPS) {
    return fail(env, "syncAll(fds): an array of at most 4096 file descriptors");
  }
  file_job *job = new_job(env, n, 1);
  if (job == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t fd;
    if (!index_value(env, argv[0], i, INT32_MAX, &fd)) { free(job); return fail(env, "syncAll(fds): file descriptors"); }
    job->ops[i].fd = (int32_t)fd;
  }
  return start_job(env, job, NULL);
}
#endif

/* The most bytes one hashGroups job hashes. */
#define MAX_GROUP_BYTES (1u << 30)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref data_ref, out_ref;
  const uint8_t *data;
  size_t length;
  uint64_t start;
  uint32_t group_log;
  uint8_t *out;
  int failed; /* out of memory in the job */
} group_job;

static void run_group_job (napi_env env, void *arg) {
  (void)env;
  group_job *job = arg;
  size_t n = job->length / CHUNK, groups = n >> job->group_log;
  uint8_t *cvs = malloc(n * 32);
  if (cvs == NULL) { job->failed = 1; return; }
  hash_all(job->data, n, CHUNK, CHUNK / 64, job->start, 1, 0, CHUNK_START, CHUNK_END, cvs);
  /* Up the levels inside the groups, each level's pairs being the one below side by side. */
  for (size_t level = n / 2; level >= groups && level > 0; level /= 2) hash_all(cvs, level, 64, 1, 0, 0, PARENT, 0, 0, cvs);
  memcpy(job->out, cvs, groups * 32);
  free(cvs);
}

static void end_group_job (napi_env env, napi_status status, void *arg) {
  group_job *job = arg;
  if (status == napi_ok && !job->failed) {
    napi_value none;
    napi_get_undefined(env, &none);
    napi_resolve_deferred(env, job->deferred, none);
  } else {
    napi_value message, reason;
    napi_create_string_utf8(env, job->failed ? "hashGroups: out of memory" : "hashGroups: the job was cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &reason);
    napi_reject_deferred(env, job->deferred, reason);
  }
  napi_delete_reference(env, job->data_ref);
  napi_delete_reference(env, job->out_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value hash_groups (napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *data, *out;
  size_t length, out_length;
  uint64_t start, group_log;
  if (argc < 4 || !bytes_of(env, argv[0], &data, &length) || !counter_of(env, argv[1], &start) || !counter_of(env, argv[2], &group_log) ||
      !bytes_of(env, argv[3], &out, &out_length)) return fail(env, "hashGroups(data, startChunk, groupLog, out)");
  if (group_log < 1 || group_log > 20) return fail(env, "hashGroups: groupLog must be 1 to 20");
  size_t group_bytes = (size_t)CHUNK << group_log;
  if (length == 0 || length % group_bytes != 0 || length > MAX_GROUP_BYTES) return fail(env, "hashGroups: data must be whole groups, at most 1 GiB");
  if (out_length < length / group_bytes * 32) return fail(env, "hashGroups: out is too short");
  group_job *job = calloc(1, sizeof(group_job));
  if (job == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  job->data = data; job->length = length; job->start = start; job->group_log = (uint32_t)group_log; job->out = out;
  napi_value promise, name;
  if (napi_create_reference(env, argv[0], 1, &job->data_ref) != napi_ok) { free(job); return fail(env, "cannot keep the data"); }
  if (napi_create_reference(env, argv[3], 1, &job->out_ref) != napi_ok) {
    napi_delete_reference(env, job->data_ref);
    free(job);
    return fail(env, "cannot keep the output");
  }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "verity.hashGroups", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, run_group_job, end_group_job, job, &job->work) != napi_ok) {
    napi_delete_reference(env, job->data_ref);
    napi_delete_reference(env, job->out_ref);
    free(job);
    napi_throw_error(env, NULL, "cannot start the job");
    return NULL;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_reference(env, job->data_ref);
    napi_delete_reference(env, job->out_ref);
    napi_delete_async_work(env, job->work);
    free(job);
    napi_throw_error(env, NULL, "cannot queue the job");
    return NULL;
  }
  return promise;
}

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
  napi_create_function(env, "hashGroups", NAPI_AUTO_LENGTH, hash_groups, NULL, &fn);
  napi_set_named_property(env, exports, "hashGroups", fn);
#if defined(__linux__) && defined(RWF_NOWAIT)
  napi_create_function(env, "readCached", NAPI_AUTO_LENGTH, read_cached, NULL, &fn);
  napi_set_named_property(env, exports, "readCached", fn);
#endif
#ifdef __linux__
  napi_create_function(env, "writeAll", NAPI_AUTO_LENGTH, write_all, NULL, &fn);
  napi_set_named_property(env, exports, "writeAll", fn);
  napi_create_function(env, "syncAll", NAPI_AUTO_LENGTH, sync_all, NULL, &fn);
  napi_set_named_property(env, exports, "syncAll", fn);
#endif
  napi_create_string_utf8(env, kernel_name, NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, exports, "kernel", name);
  return exports;
}
