/* hamon/heartbeat.h in a strict ISO C11 program: no _POSIX_C_SOURCE, no _DEFAULT_SOURCE, built
 * with -std=c11 -pedantic-errors (so every function must compile without them). Unattached, each
 * call behaves as documented; given a heartbeat segment (argv[1]), attach (O_CLOEXEC), beat and a
 * timed role wait (CLOCK_MONOTONIC) work. Exits 0 when all of that holds. */
#include <hamon/heartbeat.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  hamon_client c;
  enum hamon_role now = HAMON_ROLE_ACTIVE;
  int failed = 0;
  memset(&c, 0, sizeof c);
  failed |=
      hamon_attach_to(&c, "/hamon.c-strict-test.no-such-segment", 0, 1) != -HAMON_E_NO_SEGMENT;
  failed |= strstr(hamon_error_message(&c), "does not exist") == NULL;
  failed |= hamon_ready(&c) != -HAMON_E_NOT_ATTACHED;
  hamon_beat(&c);
  failed |= hamon_get_role(&c) != HAMON_ROLE_NONE;
  failed |= hamon_wait_role_change(&c, HAMON_ROLE_NONE, 0, &now) != -HAMON_E_NOT_ATTACHED;
  if (argc > 1) {
    failed |= hamon_attach_to(&c, argv[1], 0, 7) != 0;
    hamon_beat(&c);
    failed |= hamon_wait_role_change(&c, HAMON_ROLE_NONE, 1000000, &now) != -HAMON_E_TIMEOUT;
    failed |= now != HAMON_ROLE_NONE;
  }
  hamon_detach(&c);
  if (failed) fprintf(stderr, "c_strict_test: %s\n", hamon_error_message(&c));
  return failed;
}
