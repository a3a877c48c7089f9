/* hamon-hostile-tenant: a tenant process that attacks what it can reach, for the isolation tests
 * (tests/integration/isolation_test.cpp). Built with the C client, started by hamon like any
 * process. It attaches, beats and says ready, beats for 200 ms, then does ACTION once, then keeps
 * beating (unless the action made that impossible).
 *
 *   hamon-hostile-tenant ACTION [ARG]
 *     scribble            fill its whole heartbeat segment, header included, with 0xA5
 *     truncate            ftruncate its heartbeat segment to 0 bytes (then waits: a beat would
 *                         fault in its own mapping)
 *     spoof-role          write "standby" into its segment's role line
 *     hide-sibling SLOT   keep slot SLOT's beat counter moving, beside its own
 *     poke SEGMENT OFF    two 8-byte stores of garbage at byte OFF of /dev/shm/SEGMENT
 *     open SEGMENT        try to open /dev/shm/SEGMENT read-write; prints "opened" or
 *                         "refused: <why>" on stdout, then goes on beating
 *
 * It writes nothing outside shared memory; every outcome is seen by the test through hamon. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hamon/heartbeat.h>

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Maps a whole segment read-write by its name; NULL (errno set) when refused. */
static unsigned char* map_segment(const char* name, size_t* size) {
  int fd = shm_open(name, O_RDWR, 0);
  struct stat st;
  void* p;
  if (fd < 0) return NULL;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return NULL;
  }
  p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return NULL;
  *size = (size_t)st.st_size;
  return (unsigned char*)p;
}

static void beat_forever(hamon_client* c, uint64_t* sibling) {
  for (;;) {
    hamon_beat(c);
    if (sibling != NULL) __atomic_fetch_add(sibling, 1, __ATOMIC_RELEASE);
    pause_ms(5);
  }
}

int main(int argc, char** argv) {
  hamon_client c;
  const char* action = argc > 1 ? argv[1] : "";
  const char* segment = getenv(HAMON_ENV_SEGMENT);
  int rc = hamon_attach(&c);
  if (rc != 0) {
    fprintf(stderr, "%s\n", hamon_error_message(&c));
    return 1;
  }
  hamon_beat(&c);
  hamon_ready(&c);
  setvbuf(stdout, NULL, _IONBF, 0);
  /* Seen running first, so that what follows is an attack on a process hamon knows is up. */
  for (int i = 0; i < 40; ++i) {
    hamon_beat(&c);
    pause_ms(5);
  }

  if (strcmp(action, "scribble") == 0) {
    memset(c.base, 0xA5, c.size);
    for (;;) pause();
  }
  if (strcmp(action, "truncate") == 0) {
    int fd = shm_open(segment, O_RDWR, 0);
    if (fd < 0 || ftruncate(fd, 0) != 0) {
      perror("truncate");
      return 1;
    }
    close(fd);
    for (;;) pause();
  }
  if (strcmp(action, "spoof-role") == 0) {
    __atomic_store_n((uint32_t*)(void*)(c.base + HAMON_HB_OFF_ROLE), (uint32_t)HAMON_ROLE_STANDBY,
                     __ATOMIC_RELEASE);
    beat_forever(&c, NULL);
  }
  if (strcmp(action, "hide-sibling") == 0 && argc > 2) {
    unsigned long slot = strtoul(argv[2], NULL, 10);
    beat_forever(&c, (uint64_t*)(void*)(c.base + HAMON_HB_HEADER_SIZE + slot * HAMON_HB_SLOT_SIZE +
                                        HAMON_HB_SLOT_BEAT_COUNT));
  }
  if (strcmp(action, "poke") == 0 && argc > 3) {
    size_t size = 0;
    unsigned long off = strtoul(argv[3], NULL, 10);
    unsigned char* p = map_segment(argv[2], &size);
    if (p == NULL || off + 16 > size) {
      printf("refused: %s\n", p == NULL ? strerror(errno) : "offset out of range");
    } else {
      __atomic_store_n((uint64_t*)(void*)(p + off), 0xA5A5A5A5A5A5A5A5ULL, __ATOMIC_RELAXED);
      __atomic_store_n((uint64_t*)(void*)(p + off + 8), 0x5A5A5A5A5A5A5A5AULL, __ATOMIC_RELAXED);
      printf("poked\n");
    }
    beat_forever(&c, NULL);
  }
  if (strcmp(action, "open") == 0 && argc > 2) {
    size_t size = 0;
    unsigned char* p = map_segment(argv[2], &size);
    printf(p == NULL ? "refused: %s\n" : "opened%s\n", p == NULL ? strerror(errno) : "");
    beat_forever(&c, NULL);
  }
  fprintf(stderr, "hamon-hostile-tenant: unknown action '%s'\n", action);
  return 2;
}
