/* The C client compiles as C11 and works: attach, beat, ready, role. Prints "N passed, M failed".
 */
#include <hamon/heartbeat.h>
#include <stdio.h>
#include <string.h>

/* Built with the POSIX feature macros, the header uses the system's names; a strict ISO C program
 * gets its own values instead (heartbeat.h), which must be the same. */
_Static_assert(HAMON_CLOCK_MONOTONIC_ == CLOCK_MONOTONIC, "CLOCK_MONOTONIC is not Linux's 1");
_Static_assert(O_CLOEXEC == __O_CLOEXEC, "glibc's O_CLOEXEC is not its __O_CLOEXEC");

static int failures = 0, passes = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      ++passes;                                                                \
    } else {                                                                   \
      ++failures;                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

int main(int argc, char** argv) {
  hamon_client c;
  memset(&c, 0, sizeof c);
  unsetenv(HAMON_ENV_SEGMENT);
  CHECK(hamon_attach(&c) == -HAMON_E_NOT_MANAGED);
  CHECK(strstr(hamon_error_message(&c), "not started by hamon") != NULL);
  hamon_beat(&c); /* harmless */
  if (argc > 1) { /* argv[1]: a heartbeat segment made by the test driver, slot 0 */
    uint64_t before, after;
    CHECK(hamon_attach_to(&c, argv[1], 0, 9) == 0);
    before =
        __atomic_load_n((uint64_t*)(void*)(c.slot + HAMON_HB_SLOT_BEAT_COUNT), __ATOMIC_ACQUIRE);
    hamon_beat(&c);
    after =
        __atomic_load_n((uint64_t*)(void*)(c.slot + HAMON_HB_SLOT_BEAT_COUNT), __ATOMIC_ACQUIRE);
    CHECK(after == before + 1);
    CHECK(hamon_ready(&c) == 0);
    CHECK(hamon_get_role(&c) == HAMON_ROLE_NONE);
    CHECK(hamon_wait_role_change(&c, HAMON_ROLE_NONE, 1000000, NULL) == -HAMON_E_TIMEOUT);
    hamon_detach(&c);
    CHECK(c.base == NULL);
  }
  printf("%d passed, %d failed\n", passes, failures);
  return failures == 0 ? 0 : 1;
}
