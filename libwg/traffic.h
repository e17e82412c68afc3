/*
 * The traffic counter structs for the cgo preambles. libwg.h repeats them:
 * it cannot be a preamble itself (its prototypes would meet the ones cgo
 * writes for the same exports). header_test.go checks the two agree.
 */
#include <stdint.h>

typedef struct {
    uint64_t packets;
    uint64_t bytes;
} wg_count;

typedef struct {
    wg_count initiation;
    wg_count response;
    wg_count cookie;
    wg_count data;
    wg_count keepalive;
    wg_count other;
} wg_wire_counts;

typedef struct {
    wg_count from_app;
    wg_count to_app;
    wg_count no_route;
    wg_count peer_stopped;
    wg_count staging_dropped;
    wg_count unreachable_sent;
    wg_wire_counts sent;
    wg_wire_counts received;
} wg_traffic;
