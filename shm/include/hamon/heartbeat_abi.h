/* hamon/heartbeat_abi.h — the binary contract of a heartbeat segment.
 *
 * Shared, word for word, by the C client (heartbeat.h), the C++ client (heartbeat.hpp) and the
 * daemons, which static_assert their own view of the layout against these constants. Changing
 * any of them changes the layout: bump HAMON_HB_LAYOUT_VERSION. The format is described in
 * docs/shared-memory.md.
 *
 * One heartbeat segment exists per tenant group (and one for the system processes). A process
 * maps only its own group's segment. All integers are native-endian (the segment never leaves
 * the machine).
 *
 *   0                                                       256       384       512
 *   +---------------------------------------------------------+---------+---------+---------
 *   | header: magic, layout version (written last), sizes,   | role    | clock   | slot 0 ...
 *   | slot count, group name                                  | line    | line    | (128 B each)
 *   +---------------------------------------------------------+---------+---------+---------
 *
 * Each slot is one 128-byte block written by the process that owns it (see the offsets below;
 * one word is the monitor's); the role line is written only by hamon-server, the clock line only by
 * hamon-monitor.
 */
#ifndef HAMON_HEARTBEAT_ABI_H
#define HAMON_HEARTBEAT_ABI_H

#define HAMON_HB_MAGIC 0x3142484e4f4d4148ULL /* the bytes "HAMONHB1" */
#define HAMON_HB_LAYOUT_VERSION 1u

/* Header (offsets from the segment base). */
#define HAMON_HB_OFF_MAGIC 0        /* u64: HAMON_HB_MAGIC */
#define HAMON_HB_OFF_VERSION 8      /* u32: layout version, release-stored last; 0 = not ready */
#define HAMON_HB_OFF_HEADER_SIZE 12 /* u32: bytes before slot 0 */
#define HAMON_HB_OFF_SLOT_SIZE 16   /* u32: bytes per slot */
#define HAMON_HB_OFF_SLOT_COUNT 20  /* u32: number of slots */
#define HAMON_HB_OFF_TOTAL_SIZE 24  /* u64: bytes in the segment */
#define HAMON_HB_OFF_GROUP 32       /* char[32]: group name, NUL-terminated */
#define HAMON_HB_GROUP_MAX 32

/* Role line: written only by hamon-server. */
#define HAMON_HB_OFF_ROLE 256      /* u32: enum hamon_role */
#define HAMON_HB_OFF_ROLE_SEQ 260  /* u32: futex word, incremented after every role change */
#define HAMON_HB_OFF_ROLE_TERM 264 /* u64: duplex term in which the role was taken */

/* Clock line: written only by hamon-monitor, every monitor tick. */
#define HAMON_HB_OFF_CLOCK 384 /* u64: CLOCK_MONOTONIC ns at the monitor's latest tick */

#define HAMON_HB_HEADER_SIZE 512u
#define HAMON_HB_SLOT_SIZE 128u
#define HAMON_HB_MAX_SLOTS 65536u

/* Slot fields (offsets from the slot's start); each written only by the slot's process, except
 * PROMOTED (hamon-monitor's). */
#define HAMON_HB_SLOT_BEAT_COUNT 0   /* u64: incremented by every beat */
#define HAMON_HB_SLOT_BEAT_STAMP 8   /* u64: copy of the clock line at the latest beat */
#define HAMON_HB_SLOT_INCARNATION 16 /* u64: written at attach: the incarnation hamon gave */
#define HAMON_HB_SLOT_READY 24       /* u32: 1 once the process called ready() */
#define HAMON_HB_SLOT_PID 28         /* u32: written at attach */
/* u64: the epoch whose step-down the process has drained (hamon_drained()); 0 = none. In what
 * was padding: a client that never writes it leaves the drain to drain_timeout. */
#define HAMON_HB_SLOT_DRAINED 32
/* Warm spares (docs/spares.md), both in what was padding:
 * u32, the process: the low 32 bits of its incarnation once it is parked (hamon_park()).
 * u32, hamon-monitor (the one field of a slot the process does not write): the low 32 bits of the
 * incarnation it promoted; a futex word the parked process sleeps on. A value left by an earlier
 * incarnation names that one, never the process now in the slot. */
#define HAMON_HB_SLOT_PARKED 40
#define HAMON_HB_SLOT_PROMOTED 44

/* Environment the spawner sets for every process it starts. */
#define HAMON_ENV_SEGMENT "HAMON_HEARTBEAT_SEGMENT" /* e.g. "/hamon.demo.a.hb.acme" */
#define HAMON_ENV_SLOT "HAMON_SLOT"                 /* decimal slot index */
#define HAMON_ENV_INCARNATION "HAMON_INCARNATION"   /* decimal incarnation */
#define HAMON_ENV_INTERVAL_NS "HAMON_INTERVAL_NS"   /* decimal: how often to beat */
#define HAMON_ENV_PARK "HAMON_PARK" /* "1": one of a process's instances with spares: park */

/* Roles (the tenant's duplex role). */
enum hamon_role {
  HAMON_ROLE_NONE = 0,         /* not decided yet, or a system process (no duplex role) */
  HAMON_ROLE_ACTIVE = 1,       /* serve */
  HAMON_ROLE_STANDBY = 2,      /* keep warm, do not serve */
  HAMON_ROLE_TAKING_OVER = 3,  /* becoming active: prepare to serve */
  HAMON_ROLE_STEPPING_DOWN = 4 /* becoming standby: stop taking new work */
};

/* Errors returned (negated) by the client API. */
enum hamon_error {
  HAMON_OK = 0,
  HAMON_E_NOT_MANAGED = 1,   /* the environment does not name a segment: not started by hamon */
  HAMON_E_BAD_ENV = 2,       /* an environment variable is malformed */
  HAMON_E_NO_SEGMENT = 3,    /* the segment does not exist */
  HAMON_E_PERMISSION = 4,    /* the segment exists but may not be opened */
  HAMON_E_BAD_MAGIC = 5,     /* not a hamon heartbeat segment */
  HAMON_E_BAD_VERSION = 6,   /* a layout version this client does not know */
  HAMON_E_TOO_SMALL = 7,     /* the segment is smaller than its header says */
  HAMON_E_BAD_SLOT = 8,      /* slot index out of range */
  HAMON_E_SYSTEM = 9,        /* another system call failed (see errno in the message) */
  HAMON_E_TIMEOUT = 10,      /* a wait ran out of time */
  HAMON_E_NOT_ATTACHED = 11, /* the client is not attached */
  HAMON_E_INTERRUPTED = 12   /* a signal handler ran while parked: not promoted (park again) */
};

#endif /* HAMON_HEARTBEAT_ABI_H */
