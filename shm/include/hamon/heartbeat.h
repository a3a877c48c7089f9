/* hamon/heartbeat.h — the hamon client for C (and the engine under the C++ client).
 *
 * A process started by hamon proves it is alive by calling hamon_beat() at least once per
 * configured interval (HAMON_INTERVAL_NS in its environment). A beat is two stores into the
 * process's own slot of its tenant's heartbeat segment: no system call, no lock, no allocation,
 * wait-free. hamon-monitor declares the process hung when it stops beating for its timeout.
 *
 *   hamon_client c;
 *   if (hamon_attach(&c) != 0) { fprintf(stderr, "%s\n", hamon_error_message(&c)); exit(1); }
 *   hamon_ready(&c);                   // when the configured ready mode is "explicit"
 *   for (;;) { do_work(); hamon_beat(&c); }
 *
 * Errors are values: functions return 0 or a negative enum hamon_error, and the client keeps a
 * message that says where and why. A process started outside hamon gets HAMON_E_NOT_MANAGED
 * from hamon_attach(), never a crash.
 *
 * Thread-safety: hamon_beat() and hamon_get_role() may be called from any thread concurrently.
 * hamon_attach*() and hamon_detach() must not race with any other call on the same client.
 *
 * Memory ordering: everything a process wrote before hamon_ready() is published with it (release).
 * A role read by hamon_get_role() is acquire-loaded.
 *
 * Header-only; needs only POSIX shared memory (link -lrt on very old glibc).
 */
#ifndef HAMON_HEARTBEAT_H
#define HAMON_HEARTBEAT_H

#include <hamon/heartbeat_abi.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A strict ISO C program (-std=c11, no feature macros) must be able to include this header, but
 * glibc then hides four names it uses; the functions are in the C library all the same.
 * - syscall() is declared only with _DEFAULT_SOURCE or _GNU_SOURCE: the declaration matches
 *   glibc's.
 * - O_CLOEXEC needs _POSIX_C_SOURCE >= 200809L: glibc defines it as __O_CLOEXEC, which it always
 *   defines, with each architecture's value.
 * - CLOCK_MONOTONIC and clock_gettime() need _POSIX_C_SOURCE >= 199309L. CLOCK_MONOTONIC is 1 on
 *   every Linux architecture (the kernel's ABI, linux/time.h); the declaration matches glibc's
 *   own, except with 64-bit time on a 32-bit machine, where glibc renames the function: such a
 *   program must define _POSIX_C_SOURCE, as must a strict C99 one (no struct timespec before
 *   C11) and one built on a C library other than glibc.
 * A program that defines the feature macros gets the system's own declarations. */
#if !defined(__cplusplus) && defined(__GLIBC__) && !defined(__USE_MISC)
extern long int syscall(long int sysno, ...);
#endif

#if defined(O_CLOEXEC)
#define HAMON_O_CLOEXEC_ O_CLOEXEC
#elif defined(__GLIBC__) && defined(__O_CLOEXEC)
#define HAMON_O_CLOEXEC_ __O_CLOEXEC
#else
#error "hamon/heartbeat.h: O_CLOEXEC is hidden; define _POSIX_C_SOURCE 200809L before any #include"
#endif

#if defined(CLOCK_MONOTONIC)
#define HAMON_CLOCK_MONOTONIC_ CLOCK_MONOTONIC
#elif defined(__GLIBC__) && defined(__linux__) && !defined(__USE_TIME_BITS64) && \
    __STDC_VERSION__ >= 201112L /* struct timespec: C11 */
#define HAMON_CLOCK_MONOTONIC_ 1
extern int clock_gettime(__clockid_t clock_id, struct timespec* tp);
#else
#error \
    "hamon/heartbeat.h: clock_gettime is hidden; define _POSIX_C_SOURCE 200809L before any #include"
#endif

#ifdef __cplusplus
#define HAMON_CAST_(T, v) (reinterpret_cast<T>(v))
#define HAMON_NUM_(T, v) (static_cast<T>(v))
#define HAMON_NULL_ nullptr
#define HAMON_NOEXCEPT_ noexcept
extern "C" {
#else
/* Through void*: the slot's offsets keep every field aligned, which clang's -Wcast-align cannot
 * see in a cast from unsigned char*. */
#define HAMON_CAST_(T, v) ((T)(void*)(v))
#define HAMON_NUM_(T, v) ((T)(v))
#define HAMON_NULL_ NULL
#define HAMON_NOEXCEPT_
#endif

/* A client's handle on its slot. Zero-initialise it or let hamon_attach() fill it. */
typedef struct hamon_client {
  unsigned char* base; /* the mapped segment, or NULL when not attached */
  size_t size;         /* bytes mapped */
  unsigned char* slot; /* this process's slot inside base */
  uint32_t slot_index;
  uint64_t incarnation;
  uint64_t interval_ns; /* how often hamon expects a beat; 0 when unknown */
  char error[192];      /* the latest error, NUL-terminated */
} hamon_client;

static inline uint64_t* hamon_u64_(unsigned char* p, size_t off) HAMON_NOEXCEPT_ {
  return HAMON_CAST_(uint64_t*, p + off);
}
static inline uint32_t* hamon_u32_(unsigned char* p, size_t off) HAMON_NOEXCEPT_ {
  return HAMON_CAST_(uint32_t*, p + off);
}

static inline int hamon_fail_(hamon_client* c, enum hamon_error e, const char* fmt, const char* a,
                              const char* b) HAMON_NOEXCEPT_ {
  snprintf(c->error, sizeof c->error, fmt, a, b);
  return -HAMON_NUM_(int, e);
}

/* Detaches (unmaps); safe to call on a client that is not attached. */
static inline void hamon_detach(hamon_client* c) HAMON_NOEXCEPT_ {
  if (c->base != HAMON_NULL_) munmap(c->base, c->size);
  c->base = HAMON_NULL_;
  c->slot = HAMON_NULL_;
  c->size = 0;
}

/* Attaches to `slot` of the heartbeat segment `segment` (a shm name such as "/hamon.x.hb.acme")
 * on behalf of `incarnation`. Returns 0 or a negative enum hamon_error; see hamon_error_message.
 */
static inline int hamon_attach_to(hamon_client* c, const char* segment, uint32_t slot,
                                  uint64_t incarnation) HAMON_NOEXCEPT_ {
  struct stat st;
  unsigned char* base;
  uint32_t version, header_size, slot_size, slot_count;
  uint64_t total;
  int fd;
  char num[32];

  c->base = HAMON_NULL_;
  c->slot = HAMON_NULL_;
  c->size = 0;
  c->error[0] = '\0';
  fd = shm_open(segment, O_RDWR | HAMON_O_CLOEXEC_, 0);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      return hamon_fail_(c, HAMON_E_NO_SEGMENT, "hamon: heartbeat segment %s does not exist%s",
                         segment, " (is the node up?)");
    if (err == EACCES || err == EPERM)
      return hamon_fail_(c, HAMON_E_PERMISSION, "hamon: unable to open heartbeat segment %s: %s",
                         segment, strerror(err));
    return hamon_fail_(c, HAMON_E_SYSTEM, "hamon: unable to open heartbeat segment %s: %s", segment,
                       strerror(err));
  }
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return hamon_fail_(c, HAMON_E_SYSTEM, "hamon: unable to stat heartbeat segment %s: %s", segment,
                       strerror(err));
  }
  if (HAMON_NUM_(uint64_t, st.st_size) < HAMON_HB_HEADER_SIZE) {
    close(fd);
    return hamon_fail_(c, HAMON_E_TOO_SMALL, "hamon: heartbeat segment %s is too small%s", segment,
                       " to hold a header");
  }
  base = HAMON_CAST_(unsigned char*, mmap(HAMON_NULL_, HAMON_NUM_(size_t, st.st_size),
                                          PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  close(fd);
  if (HAMON_CAST_(void*, base) == MAP_FAILED) {
    return hamon_fail_(c, HAMON_E_SYSTEM, "hamon: unable to map heartbeat segment %s: %s", segment,
                       strerror(errno));
  }
  c->base = base;
  c->size = HAMON_NUM_(size_t, st.st_size);

  if (__atomic_load_n(hamon_u64_(base, HAMON_HB_OFF_MAGIC), __ATOMIC_RELAXED) != HAMON_HB_MAGIC) {
    hamon_detach(c);
    return hamon_fail_(c, HAMON_E_BAD_MAGIC, "hamon: %s is not a hamon heartbeat segment%s",
                       segment, " (wrong magic)");
  }
  version = __atomic_load_n(hamon_u32_(base, HAMON_HB_OFF_VERSION), __ATOMIC_ACQUIRE);
  if (version != HAMON_HB_LAYOUT_VERSION) {
    hamon_detach(c);
    snprintf(c->error, sizeof c->error,
             "hamon: heartbeat segment %s has layout version %u; this client knows version %u "
             "only%s",
             segment, version, HAMON_HB_LAYOUT_VERSION,
             version == 0 ? " (the segment is not initialised yet)" : "");
    return -HAMON_E_BAD_VERSION;
  }
  header_size = *hamon_u32_(base, HAMON_HB_OFF_HEADER_SIZE);
  slot_size = *hamon_u32_(base, HAMON_HB_OFF_SLOT_SIZE);
  slot_count = *hamon_u32_(base, HAMON_HB_OFF_SLOT_COUNT);
  total = *hamon_u64_(base, HAMON_HB_OFF_TOTAL_SIZE);
  if (header_size != HAMON_HB_HEADER_SIZE || slot_size != HAMON_HB_SLOT_SIZE ||
      slot_count > HAMON_HB_MAX_SLOTS ||
      total < HAMON_NUM_(uint64_t, header_size) + HAMON_NUM_(uint64_t, slot_count) * slot_size ||
      total > c->size) {
    hamon_detach(c);
    return hamon_fail_(c, HAMON_E_TOO_SMALL,
                       "hamon: heartbeat segment %s is smaller than its header declares%s", segment,
                       " (truncated or corrupt)");
  }
  if (slot >= slot_count) {
    snprintf(num, sizeof num, "%u", slot);
    hamon_detach(c);
    return hamon_fail_(c, HAMON_E_BAD_SLOT,
                       "hamon: slot %s is out of range in heartbeat segment %s", num, segment);
  }
  c->slot_index = slot;
  c->incarnation = incarnation;
  c->slot = base + header_size + HAMON_NUM_(size_t, slot) * slot_size;
  /* The previous incarnation's ready flag must not count for this one: clear it before the
   * incarnation is published, so a reader that sees this incarnation never sees a stale ready. */
  __atomic_store_n(hamon_u32_(c->slot, HAMON_HB_SLOT_READY), 0u, __ATOMIC_RELAXED);
  __atomic_store_n(hamon_u32_(c->slot, HAMON_HB_SLOT_PID), HAMON_NUM_(uint32_t, getpid()),
                   __ATOMIC_RELAXED);
  __atomic_store_n(hamon_u64_(c->slot, HAMON_HB_SLOT_INCARNATION), incarnation, __ATOMIC_RELEASE);
  return 0;
}

static inline int hamon_env_u64_(hamon_client* c, const char* var, int required,
                                 uint64_t* out) HAMON_NOEXCEPT_ {
  const char* s = getenv(var);
  char* end = HAMON_NULL_;
  unsigned long long v;
  if (s == HAMON_NULL_ || *s == '\0') {
    if (!required) return 0;
    return hamon_fail_(c, HAMON_E_NOT_MANAGED,
                       "hamon: %s is not set: this process was not started by hamon%s", var, "");
  }
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || *s == '-')
    return hamon_fail_(c, HAMON_E_BAD_ENV, "hamon: %s='%s' is not a non-negative decimal number",
                       var, s);
  *out = HAMON_NUM_(uint64_t, v);
  return 0;
}

/* Attaches using the environment hamon-spawner sets (HAMON_HEARTBEAT_SEGMENT, HAMON_SLOT,
 * HAMON_INCARNATION, HAMON_INTERVAL_NS). Returns 0 or a negative enum hamon_error. */
static inline int hamon_attach(hamon_client* c) HAMON_NOEXCEPT_ {
  const char* segment = getenv(HAMON_ENV_SEGMENT);
  uint64_t slot = 0, incarnation = 0, interval = 0;
  int rc;
  c->base = HAMON_NULL_;
  c->slot = HAMON_NULL_;
  c->size = 0;
  if (segment == HAMON_NULL_ || *segment == '\0')
    return hamon_fail_(c, HAMON_E_NOT_MANAGED,
                       "hamon: %s is not set: this process was not started by hamon%s",
                       HAMON_ENV_SEGMENT, "");
  if ((rc = hamon_env_u64_(c, HAMON_ENV_SLOT, 1, &slot)) != 0) return rc;
  if ((rc = hamon_env_u64_(c, HAMON_ENV_INCARNATION, 1, &incarnation)) != 0) return rc;
  if ((rc = hamon_env_u64_(c, HAMON_ENV_INTERVAL_NS, 0, &interval)) != 0) return rc;
  if (slot >= HAMON_HB_MAX_SLOTS)
    return hamon_fail_(c, HAMON_E_BAD_SLOT, "hamon: %s='%s' is out of range", HAMON_ENV_SLOT,
                       getenv(HAMON_ENV_SLOT));
  rc = hamon_attach_to(c, segment, HAMON_NUM_(uint32_t, slot), incarnation);
  c->interval_ns = interval;
  return rc;
}

/* Proves this process alive. Two stores to this process's own cache line: wait-free, no system
 * call. A no-op when not attached. */
static inline void hamon_beat(hamon_client* c) HAMON_NOEXCEPT_ {
  unsigned char* slot = c->slot;
  uint64_t* count;
  if (slot == HAMON_NULL_) return;
  count = hamon_u64_(slot, HAMON_HB_SLOT_BEAT_COUNT);
  /* The stamp is the monitor's clock, read from the segment: a clock_gettime here would cost
   * more than the rest of the beat and falls back to a system call on some virtual machines. */
  __atomic_store_n(hamon_u64_(slot, HAMON_HB_SLOT_BEAT_STAMP),
                   __atomic_load_n(hamon_u64_(c->base, HAMON_HB_OFF_CLOCK), __ATOMIC_RELAXED),
                   __ATOMIC_RELAXED);
  /* Single writer: a plain load-add-store, released so the stamp is visible with the count. */
  __atomic_store_n(count, __atomic_load_n(count, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
}

/* Tells hamon this process is ready to serve (ready = "explicit"); also beats. Returns 0, or
 * -HAMON_E_NOT_ATTACHED. */
static inline int hamon_ready(hamon_client* c) HAMON_NOEXCEPT_ {
  if (c->slot == HAMON_NULL_) return -HAMON_E_NOT_ATTACHED;
  __atomic_store_n(hamon_u32_(c->slot, HAMON_HB_SLOT_READY), 1u, __ATOMIC_RELEASE);
  hamon_beat(c);
  return 0;
}

/* The tenant's current duplex role (HAMON_ROLE_NONE when not attached or for system
 * processes). No system call. */
static inline enum hamon_role hamon_get_role(const hamon_client* c) HAMON_NOEXCEPT_ {
  uint32_t r;
  if (c->base == HAMON_NULL_) return HAMON_ROLE_NONE;
  r = __atomic_load_n(hamon_u32_(c->base, HAMON_HB_OFF_ROLE), __ATOMIC_ACQUIRE);
  return r <= HAMON_NUM_(uint32_t, HAMON_ROLE_STEPPING_DOWN) ? HAMON_NUM_(enum hamon_role, r)
                                                             : HAMON_ROLE_NONE;
}

/* The tenant's epoch: the term of its current active side (docs/roles.md), 0 when not attached.
 * It rises with every change of the active side; a deposed active sees a higher epoch than the
 * one it served in, and can fence its own side effects by it. Read after the role it came with
 * (the server stores the epoch, then the role with release). No system call. */
static inline uint64_t hamon_get_epoch(const hamon_client* c) HAMON_NOEXCEPT_ {
  if (c->base == HAMON_NULL_) return 0;
  (void)__atomic_load_n(hamon_u32_(c->base, HAMON_HB_OFF_ROLE), __ATOMIC_ACQUIRE);
  return __atomic_load_n(hamon_u64_(c->base, HAMON_HB_OFF_ROLE_TERM), __ATOMIC_RELAXED);
}

/* Tells hamon this process has finished draining the tenant's step-down (role
 * HAMON_ROLE_STEPPING_DOWN: calls in progress ended, no new work taken). hamon makes the tenant
 * standby — and the peer active — as soon as every running process of the tenant has said so,
 * or at the cluster's drain_timeout. Acknowledges the current epoch: a call outside a step-down
 * is harmless (it cannot end a later one). Returns 0, or -HAMON_E_NOT_ATTACHED. No system call. */
static inline int hamon_drained(hamon_client* c) HAMON_NOEXCEPT_ {
  if (c->slot == HAMON_NULL_) return -HAMON_E_NOT_ATTACHED;
  __atomic_store_n(hamon_u64_(c->slot, HAMON_HB_SLOT_DRAINED), hamon_get_epoch(c),
                   __ATOMIC_RELEASE);
  return 0;
}

/* Blocks until the role differs from `seen` or `timeout_ns` passes (a negative timeout waits
 * forever). Stores the role in *now (if not NULL). Returns 0, -HAMON_E_TIMEOUT,
 * -HAMON_E_NOT_ATTACHED or -HAMON_E_SYSTEM. Sleeps on a futex in the segment: costs no CPU while
 * waiting; hamon-server wakes every waiter when it changes the role. */
static inline int hamon_wait_role_change(hamon_client* c, enum hamon_role seen, int64_t timeout_ns,
                                         enum hamon_role* now) HAMON_NOEXCEPT_ {
  uint32_t* seq;
  struct timespec deadline, left, t;
  if (c->base == HAMON_NULL_) return -HAMON_E_NOT_ATTACHED;
  seq = hamon_u32_(c->base, HAMON_HB_OFF_ROLE_SEQ);
  clock_gettime(HAMON_CLOCK_MONOTONIC_, &deadline);
  if (timeout_ns >= 0) {
    deadline.tv_sec += HAMON_NUM_(time_t, timeout_ns / 1000000000);
    deadline.tv_nsec += HAMON_NUM_(long, timeout_ns % 1000000000);
    if (deadline.tv_nsec >= 1000000000) {
      deadline.tv_sec += 1;
      deadline.tv_nsec -= 1000000000;
    }
  }
  for (;;) {
    uint32_t s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
    enum hamon_role r = hamon_get_role(c);
    long rc;
    if (r != seen) {
      if (now != HAMON_NULL_) *now = r;
      return 0;
    }
    if (timeout_ns >= 0) {
      clock_gettime(HAMON_CLOCK_MONOTONIC_, &t);
      left.tv_sec = deadline.tv_sec - t.tv_sec;
      left.tv_nsec = deadline.tv_nsec - t.tv_nsec;
      if (left.tv_nsec < 0) {
        left.tv_sec -= 1;
        left.tv_nsec += 1000000000;
      }
      if (left.tv_sec < 0) {
        if (now != HAMON_NULL_) *now = r;
        return -HAMON_E_TIMEOUT;
      }
    }
    /* A shared (not private) futex: the waker is another process. */
    rc = syscall(SYS_futex, seq, FUTEX_WAIT, s, timeout_ns >= 0 ? &left : HAMON_NULL_, HAMON_NULL_,
                 0);
    if (rc != 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
      snprintf(c->error, sizeof c->error, "hamon: futex wait on the role failed: %s",
               strerror(errno));
      return -HAMON_E_SYSTEM;
    }
  }
}

/* Waits, parked, until hamon makes this instance the one that serves (warm spares,
 * docs/spares.md). Call it where the process is initialized and ready to serve: a process
 * configured with `spares = N` runs N+1 instances, and each parks here; hamon-monitor promotes one
 * at once and, when it crashes or hangs, another with one futex wake (no fork, no exec, no
 * initialization). Marks the process ready and beats while parked (a parked instance that stops
 * beating is hung, and replaced). Returns 0 once promoted, at once for a process without spares;
 * or -HAMON_E_NOT_ATTACHED, -HAMON_E_SYSTEM, or -HAMON_E_INTERRUPTED when a signal handler ran
 * (the process is still a parked spare: call it again to go on waiting, or exit). */
static inline int hamon_park(hamon_client* c) HAMON_NOEXCEPT_ {
  uint32_t* promoted;
  uint32_t me;
  const char* park = getenv(HAMON_ENV_PARK);
  struct timespec pace;
  uint64_t every;
  if (c->slot == HAMON_NULL_) return -HAMON_E_NOT_ATTACHED;
  if (park == HAMON_NULL_ || strcmp(park, "1") != 0) return hamon_ready(c);
  me = HAMON_NUM_(uint32_t, c->incarnation);
  promoted = hamon_u32_(c->slot, HAMON_HB_SLOT_PROMOTED);
  /* Beat at least twice per interval while asleep: a parked instance is watched like any. */
  every = c->interval_ns != 0 ? c->interval_ns / 2 : 50000000u;
  if (every < 100000u) every = 100000u;
  pace.tv_sec = HAMON_NUM_(time_t, every / 1000000000u);
  pace.tv_nsec = HAMON_NUM_(long, every % 1000000000u);
  __atomic_store_n(hamon_u32_(c->slot, HAMON_HB_SLOT_PARKED), me, __ATOMIC_RELEASE);
  hamon_ready(c);
  for (;;) {
    uint32_t seen = __atomic_load_n(promoted, __ATOMIC_ACQUIRE);
    long rc;
    if (seen == me) {
      __atomic_store_n(hamon_u32_(c->slot, HAMON_HB_SLOT_PARKED), 0u, __ATOMIC_RELAXED);
      hamon_beat(c);
      return 0;
    }
    /* A shared (not private) futex: the waker is hamon-monitor. */
    rc = syscall(SYS_futex, promoted, FUTEX_WAIT, seen, &pace, HAMON_NULL_, 0);
    if (rc != 0 && errno == EINTR) {
      /* A handler ran (SIGTERM, say): the application decides, still parked. */
      snprintf(c->error, sizeof c->error, "hamon: %s",
               "a signal handler ran while parked: not promoted");
      return -HAMON_E_INTERRUPTED;
    }
    if (rc != 0 && errno != EAGAIN && errno != ETIMEDOUT) {
      snprintf(c->error, sizeof c->error, "hamon: futex wait while parked failed: %s",
               strerror(errno));
      return -HAMON_E_SYSTEM;
    }
    hamon_beat(c);
  }
}

/* The message of the latest error, or "" when there was none. */
static inline const char* hamon_error_message(const hamon_client* c) HAMON_NOEXCEPT_ {
  return c->error;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HAMON_HEARTBEAT_H */
