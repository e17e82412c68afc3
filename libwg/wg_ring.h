/*
 * The packet rings of in-memory tunnels: the memory a host and libwg share,
 * and the host's side of it in C. libwg.h includes this file; the cgo
 * preambles do too (libwg.h itself cannot be one). header_test.go checks
 * cgo compiles the wg_ring that libwg.h describes.
 *
 * A ring is one malloc'd block outside the Go heap: this header, then
 * lens[capacity], then capacity slots of slot_size bytes. Producers fill
 * slots at tail, consumers empty them at head (both free-running, taken
 * modulo capacity, a power of two); each side serialises its threads with
 * a futex lock, so either side may have several threads. A consumer that
 * finds the ring empty sets data_wanted and sleeps; a producer wakes it
 * only when it finds data_wanted set, so a busy stream makes no system
 * call. The same goes for producers waiting for room (room_wanted). A
 * waiter in C sets bit WG_RING_WAITER_C and sleeps on the futex data_seq
 * (room_seq); goroutines set WG_RING_WAITER_GO and are woken through the
 * eventfd go_fd (a Go producer wakes them directly; it wakes C waiters
 * from a goroutine of its own once it blocks or yields, so once a batch,
 * or at once when the ring holds as many packets as the sleeping read
 * takes, data_want). Before sleeping, a
 * host's read of one packet watches the ring briefly while its waits are
 * short (WG_RING_SPIN_US), so request/response rarely sleeps. ready_fd,
 * once asked for, is an eventfd written when the consumer side wanted
 * data, and drained when a consumer finds the ring empty: it is readable
 * whenever packets wait (and, briefly, sometimes when none do).
 *
 * Closing (libwg, at wgTurnOff) sets closed, wakes every waiter and makes
 * ready_fd readable. The block lives while refs > 0: libwg holds one until
 * the tunnel is off, each wgPacketRing caller one until wg_ring_release.
 */
#ifndef WG_RING_H
#define WG_RING_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    uint32_t capacity;
    uint32_t slot_size;
    uint32_t *lens;
    uint8_t *data;
    uint32_t refs;
    uint32_t closed;
    int32_t ready_fd;
    int32_t go_fd;
    uint32_t pad0[6];
    uint32_t tail;
    uint32_t put_lock;
    uint32_t room_seq;
    uint32_t room_wanted;
    uint32_t pad1[12];
    uint32_t head;
    uint32_t take_lock;
    uint32_t data_seq;
    uint32_t data_wanted;
    uint32_t last_wait_us; /* how long the host's last read waited (wg_ring_spin) */
    uint32_t data_want;    /* how many packets the host's sleeping read takes at most */
    uint32_t pad2[10];
} wg_ring;

/* Who waits, in a *_wanted word. */
#define WG_RING_WAITER_C  1u
#define WG_RING_WAITER_GO 2u

/* What the host's calls return besides a count. */
#define WG_RING_CLOSED   (-1) /* the tunnel was turned off */
#define WG_RING_TOO_BIG  (-2) /* the next packet does not fit the buffer (or a slot) */

/* A host's read of one packet spins this long (µs) on an empty ring before
 * it sleeps, unless its last wait lasted over WG_RING_SPIN_IDLE times that
 * (an idle ring: no spinning). A futex wake-up costs 50-150 µs on a small
 * VM; batch reads never spin (on few CPUs the spin slows the producers). */
#define WG_RING_SPIN_US   200u
#define WG_RING_SPIN_IDLE 10u

static inline void wg_ring_futex_wait(uint32_t *word, uint32_t seen, int32_t timeout_ms) {
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, timeout_ms < 0 ? NULL : &ts, NULL, 0);
}

static inline void wg_ring_lock(uint32_t *lock) {
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(lock, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    if (c != 2)
        c = __atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        wg_ring_futex_wait(lock, 2, -1);
        c = __atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE);
    }
}

static inline void wg_ring_unlock(uint32_t *lock) {
    if (__atomic_exchange_n(lock, 0, __ATOMIC_RELEASE) == 2)
        syscall(SYS_futex, lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Wake the other side if it waits; the eventfd too if asked, first, so a
 * consumer woken here drains it after (no stale readiness). */
static inline void wg_ring_signal(wg_ring *r, uint32_t *wanted, uint32_t *seq, int ready) {
    uint32_t who;
    if (__atomic_load_n(wanted, __ATOMIC_SEQ_CST) == 0 ||
        (who = __atomic_exchange_n(wanted, 0, __ATOMIC_SEQ_CST)) == 0)
        return;
    uint64_t one = 1;
    int32_t fd = __atomic_load_n(&r->ready_fd, __ATOMIC_SEQ_CST);
    if (ready && fd >= 0)
        (void)!write(fd, &one, sizeof one);
    if (who & WG_RING_WAITER_C) {
        __atomic_add_fetch(seq, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    }
    if (who & WG_RING_WAITER_GO)
        (void)!write(r->go_fd, &one, sizeof one);
}

/* Sleep up to timeout_ms (-1: no limit) unless ready() already holds:
 * wanted is set first, so the other side's next change wakes us. */
static inline int32_t wg_ring_wait(wg_ring *r, uint32_t *wanted, uint32_t *seq,
                                   int consumer, int32_t timeout_ms) {
    uint32_t seen = __atomic_load_n(seq, __ATOMIC_SEQ_CST);
    __atomic_fetch_or(wanted, WG_RING_WAITER_C, __ATOMIC_SEQ_CST);
    int32_t fd = __atomic_load_n(&r->ready_fd, __ATOMIC_SEQ_CST);
    uint64_t count;
    if (consumer && fd >= 0)
        (void)!read(fd, &count, sizeof count);
    uint32_t used = __atomic_load_n(&r->tail, __ATOMIC_SEQ_CST) - __atomic_load_n(&r->head, __ATOMIC_SEQ_CST);
    if (consumer ? used > 0 : used < r->capacity) {
        if (consumer && fd >= 0) {
            count = 1;
            (void)!write(fd, &count, sizeof count);
        }
        return 0;
    }
    if (__atomic_load_n(&r->closed, __ATOMIC_SEQ_CST))
        return WG_RING_CLOSED;
    if (timeout_ms != 0)
        wg_ring_futex_wait(seq, seen, timeout_ms);
    return 0;
}

/* Copy packets[0..count) into free slots, in order, as many as fit and up
 * to the first larger than slot_size (WG_RING_TOO_BIG if that is the
 * first: callers check packets first); never waits. */
static inline int32_t wg_ring_put(wg_ring *r, const uint8_t *const *packets,
                                  const uint32_t *lens, uint32_t count) {
    wg_ring_lock(&r->put_lock);
    if (__atomic_load_n(&r->closed, __ATOMIC_SEQ_CST)) {
        wg_ring_unlock(&r->put_lock);
        return WG_RING_CLOSED;
    }
    uint32_t tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint32_t n = r->capacity - (tail - head);
    if (n > count)
        n = count;
    for (uint32_t i = 0; i < n; i++)
        if (lens[i] > r->slot_size)
            n = i; /* never past a slot: stop before it */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t slot = (tail + i) & (r->capacity - 1);
        memcpy(r->data + (size_t)slot * r->slot_size, packets[i], lens[i]);
        r->lens[slot] = lens[i];
    }
    if (n > 0)
        __atomic_store_n(&r->tail, tail + n, __ATOMIC_SEQ_CST);
    wg_ring_unlock(&r->put_lock);
    if (n > 0)
        wg_ring_signal(r, &r->data_wanted, &r->data_seq, 1);
    return n == 0 && count > 0 && lens[0] > r->slot_size ? WG_RING_TOO_BIG : (int32_t)n;
}

/* Move waiting packets back to back into buf while they fit, lengths into
 * lens; never waits. WG_RING_TOO_BIG if the first does not fit. */
static inline int32_t wg_ring_take(wg_ring *r, uint8_t *buf, size_t buf_len,
                                   uint32_t *lens, uint32_t max_count) {
    wg_ring_lock(&r->take_lock);
    uint32_t head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    uint32_t n = 0;
    size_t offset = 0;
    while (n < max_count && head + n != tail) {
        uint32_t slot = (head + n) & (r->capacity - 1), len = r->lens[slot];
        if (len > buf_len - offset)
            break;
        memcpy(buf + offset, r->data + (size_t)slot * r->slot_size, len);
        lens[n++] = len;
        offset += len;
    }
    if (n > 0)
        __atomic_store_n(&r->head, head + n, __ATOMIC_SEQ_CST);
    wg_ring_unlock(&r->take_lock);
    if (n > 0) {
        wg_ring_signal(r, &r->room_wanted, &r->room_seq, 0);
        if (__atomic_load_n(&r->ready_fd, __ATOMIC_SEQ_CST) >= 0 && head + n == __atomic_load_n(&r->tail, __ATOMIC_SEQ_CST))
            wg_ring_wait(r, &r->data_wanted, &r->data_seq, 1, 0); /* empty now: the eventfd goes unreadable */
        return (int32_t)n;
    }
    return head != tail && max_count > 0 ? WG_RING_TOO_BIG : 0;
}

static inline double wg_ring_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* wg_ring_put, waiting up to timeout_ms (-1: no limit) for room for the
 * first packet: the count queued, 0 if the ring stayed full. */
static inline int32_t wg_ring_write(wg_ring *r, const uint8_t *const *packets,
                                    const uint32_t *lens, uint32_t count, int32_t timeout_ms) {
    double deadline = wg_ring_now_ms() + timeout_ms;
    for (;;) {
        int32_t n = wg_ring_put(r, packets, lens, count);
        if (n != 0 || count == 0 || timeout_ms == 0)
            return n;
        int32_t left = timeout_ms < 0 ? -1 : (int32_t)(deadline - wg_ring_now_ms());
        if (timeout_ms > 0 && left <= 0)
            return 0;
        if (wg_ring_wait(r, &r->room_wanted, &r->room_seq, 0, left) < 0)
            return WG_RING_CLOSED;
    }
}

static inline void wg_ring_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Watch an empty ring for a packet (or closing) for up to WG_RING_SPIN_US
 * before sleeping, while the reader's last wait lasted at most
 * WG_RING_SPIN_IDLE times that: 1 if one came. */
static inline int wg_ring_spin(wg_ring *r) {
    if (__atomic_load_n(&r->last_wait_us, __ATOMIC_RELAXED) > WG_RING_SPIN_US * WG_RING_SPIN_IDLE)
        return 0;
    double limit = wg_ring_now_ms() + WG_RING_SPIN_US / 1e3;
    for (uint32_t i = 1;; i++) {
        if (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) != __atomic_load_n(&r->head, __ATOMIC_RELAXED) ||
            __atomic_load_n(&r->closed, __ATOMIC_RELAXED))
            return 1;
        if ((i & 63) == 0 && wg_ring_now_ms() > limit)
            return 0;
        wg_ring_pause();
    }
}

/* Note how long a read waited (since empty, in ms; 0: it did not), for
 * wg_ring_spin; return rc. */
static inline int32_t wg_ring_waited(wg_ring *r, double empty, int32_t rc) {
    if (empty > 0) {
        double waited = (wg_ring_now_ms() - empty) * 1e3;
        __atomic_store_n(&r->last_wait_us, waited > 4e9 ? 4000000000u : (uint32_t)waited, __ATOMIC_RELAXED);
    }
    return rc;
}

/* wg_ring_take, waiting up to timeout_ms (-1: no limit) for the first
 * packet: the count taken, 0 if none came. */
static inline int32_t wg_ring_read(wg_ring *r, uint8_t *buf, size_t buf_len,
                                   uint32_t *lens, uint32_t max_count, int32_t timeout_ms) {
    double deadline = wg_ring_now_ms() + timeout_ms, empty = 0;
    for (;;) {
        int32_t n = wg_ring_take(r, buf, buf_len, lens, max_count);
        if (n != 0 || max_count == 0)
            return wg_ring_waited(r, empty, n);
        if (empty == 0)
            empty = wg_ring_now_ms();
        int32_t left = timeout_ms < 0 ? -1 : (int32_t)(deadline - wg_ring_now_ms());
        if (timeout_ms >= 0 && left <= 0) /* last look, after setting data_wanted */
            return wg_ring_waited(r, empty, wg_ring_wait(r, &r->data_wanted, &r->data_seq, 1, 0) < 0
                       ? WG_RING_CLOSED : wg_ring_take(r, buf, buf_len, lens, max_count));
        if (max_count == 1 && wg_ring_spin(r))
            continue;
        __atomic_store_n(&r->data_want, max_count, __ATOMIC_RELAXED);
        if (wg_ring_wait(r, &r->data_wanted, &r->data_seq, 1, left) < 0)
            return WG_RING_CLOSED;
    }
}

/* Drop a reference taken by wgPacketRing; the last one frees the ring. */
static inline void wg_ring_release(wg_ring *r) {
    if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_SEQ_CST) != 0)
        return;
    if (r->ready_fd >= 0)
        close(r->ready_fd);
    close(r->go_fd);
    free(r);
}

#endif /* WG_RING_H */
