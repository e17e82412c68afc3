/*
 * wgcore's checks of maybenot machines, in libmaybenot.a beside the
 * maybenot-ffi API (subprojects/maybenot/src/ffi.rs). machines are
 * maybenot 1.x machine strings separated by LF, split as maybenot_start
 * splits them; mtu is the tunnel's MTU, or 0 when it is not known (sizes
 * are then held to 65535). Returned strings are freed with
 * wgcore_maybenot_free.
 */
#ifndef WGCORE_MAYBENOT_H
#define WGCORE_MAYBENOT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NULL if Mullvad's fork can run every machine safely, else why not,
 * naming the first refused machine by index and name. */
char *wgcore_maybenot_check(const char *machines, uint16_t mtu);

/* JSON describing each machine and whether it is refused; never NULL. */
char *wgcore_maybenot_describe(const char *machines, uint16_t mtu);

void wgcore_maybenot_free(char *s);

/* Pausing a peer's framework before the fork tears it down (src/pause.rs).
 * libwg links the fork with -Wl,--wrap for maybenot_start, _num_machines,
 * _on_events and _stop, so every framework the fork starts is pausable:
 * the id of the one started last, 0 if none. */
uint64_t wgcore_maybenot_last_started(void);
/* The next event of framework id gets one no-op padding action per machine
 * (size 0, due at once), later ones none; 1 if id is stopped, else 0. */
int32_t wgcore_maybenot_pause(uint64_t id);
/* 1 once an event was answered after the no-ops, or id is stopped. */
int32_t wgcore_maybenot_paused(uint64_t id);
/* Hand out actions again. */
void wgcore_maybenot_resume(uint64_t id);

#ifdef __cplusplus
}
#endif

#endif /* WGCORE_MAYBENOT_H */
