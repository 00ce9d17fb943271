/* clock: deadlines for timed waits.
 * Owns: turning "ms milliseconds from now" into the absolute time pthread_cond_timedwait takes.
 * Does not own: which clock a condition variable waits on (its creator sets that). */
#ifndef CG_UTIL_CLOCK_H
#define CG_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Now on clock (CLOCK_REALTIME, or CLOCK_MONOTONIC for a condition variable made so), plus ms
 * milliseconds (ms >= 0). */
struct timespec cg_clock_after(clockid_t clock, int64_t ms);

#endif
