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

#ifdef __cplusplus
}
#endif

#endif /* WGCORE_MAYBENOT_H */
