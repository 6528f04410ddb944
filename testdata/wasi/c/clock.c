// clock: sleeping through poll_oneoff, clocks, random and sched_yield.
//
// Prints only what a correct runtime makes deterministic: that a sleep lasted at least as long as
// asked, the event a poll returned, that the monotonic clock does not go back.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wasi/api.h>

static uint64_t now(__wasi_clockid_t id) {
  __wasi_timestamp_t t = 0;
  __wasi_errno_t err = __wasi_clock_time_get(id, 1, &t);
  if (err != 0) printf("clock_time_get(%u): errno %u\n", (unsigned)id, (unsigned)err);
  return t;
}

// One relative clock subscription. (wazero answers ENOTSUP to absolute ones and reports every
// clock subscription of a poll as fired, so the programs keep to what runtimes agree on.)
static void poll_clock(const char *what, __wasi_clockid_t id, uint64_t ns) {
  __wasi_subscription_t sub;
  memset(&sub, 0, sizeof sub);
  sub.userdata = 42;
  sub.u.tag = __WASI_EVENTTYPE_CLOCK;
  sub.u.u.clock.id = id;
  sub.u.u.clock.timeout = ns;
  __wasi_event_t ev;
  memset(&ev, 0, sizeof ev);
  __wasi_size_t nevents = 0;
  uint64_t start = now(__WASI_CLOCKID_MONOTONIC);
  __wasi_errno_t err = __wasi_poll_oneoff(&sub, &ev, 1, &nevents);
  uint64_t elapsed = now(__WASI_CLOCKID_MONOTONIC) - start;
  printf("%s: errno=%u events=%u userdata=%llu type=%u error=%u waited>=%llums: %s\n", what,
         (unsigned)err, (unsigned)nevents, (unsigned long long)ev.userdata, (unsigned)ev.type,
         (unsigned)ev.error, (unsigned long long)(ns / 1000000), elapsed >= ns ? "yes" : "no");
}

int main(void) {
  uint64_t a = now(__WASI_CLOCKID_MONOTONIC);
  struct timespec ts = {0, 20 * 1000 * 1000};
  int r = nanosleep(&ts, NULL);
  uint64_t b = now(__WASI_CLOCKID_MONOTONIC);
  printf("nanosleep(20ms) = %d, slept>=20ms: %s\n", r, b - a >= 20000000 ? "yes" : "no");

  poll_clock("poll monotonic 15ms", __WASI_CLOCKID_MONOTONIC, 15000000);
  poll_clock("poll realtime 15ms", __WASI_CLOCKID_REALTIME, 15000000);
  poll_clock("poll monotonic 0ms", __WASI_CLOCKID_MONOTONIC, 0);

  __wasi_timestamp_t res = 0;
  __wasi_errno_t err = __wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res);
  printf("clock_res_get(monotonic): errno=%u positive=%s\n", (unsigned)err, res > 0 ? "yes" : "no");
  err = __wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res);
  printf("clock_res_get(realtime): errno=%u positive=%s\n", (unsigned)err, res > 0 ? "yes" : "no");
  uint64_t wall = now(__WASI_CLOCKID_REALTIME);
  printf("realtime after 2020: %s\n", wall > 1577836800ull * 1000000000ull ? "yes" : "no");
  uint64_t m1 = now(__WASI_CLOCKID_MONOTONIC), m2 = now(__WASI_CLOCKID_MONOTONIC);
  printf("monotonic does not go back: %s\n", m2 >= m1 ? "yes" : "no");

  printf("sched_yield: errno=%u\n", (unsigned)__wasi_sched_yield());
  uint8_t rnd[64];
  memset(rnd, 0, sizeof rnd);
  err = __wasi_random_get(rnd, sizeof rnd);
  int nonzero = 0;
  for (size_t i = 0; i < sizeof rnd; i++) nonzero |= rnd[i];
  printf("random_get(64): errno=%u nonzero=%s\n", (unsigned)err, nonzero ? "yes" : "no");
  fprintf(stderr, "clock: done\n");
  return 0;
}
