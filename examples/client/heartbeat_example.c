/* The smallest useful hamon client in C: attach, ready, beat. Build with
 *   cc heartbeat_example.c $(pkg-config --cflags hamon-client) -o heartbeat_example
 * and run it under hamon (outside hamon it says so and exits 2). */
#include <hamon/heartbeat.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char** argv) {
  hamon_client hb;
  long beats = argc > 1 ? strtol(argv[1], NULL, 10) : -1, i;
  struct timespec half;
  if (hamon_attach(&hb) != 0) {
    fprintf(stderr, "%s\n", hamon_error_message(&hb));
    return 2;
  }
  half.tv_sec = 0;
  half.tv_nsec = hb.interval_ns ? (long)(hb.interval_ns / 2) : 50000000L;
  hamon_ready(&hb);
  for (i = 0; beats < 0 || i < beats; ++i) {
    hamon_beat(&hb);
    nanosleep(&half, NULL);
  }
  hamon_detach(&hb);
  return 0;
}
