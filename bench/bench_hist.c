/*
 * bench_hist.c: what recording a latency costs on the request path, in
 * nanoseconds: the clock read (uv_hrtime), hist_record, and the two
 * together as the hooks use them (stats_clock + stats_record_since), each
 * against an empty loop of the same shape in the same run; and what
 * closing a busy slice (hwin_tick) costs off the request path. Run by
 * bench/run.sh stats.
 */
#include "hist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#define N 20000000

static volatile uint64_t sink;

static double ns_per(uint64_t t0, uint64_t n) { return (double)(uv_hrtime() - t0) / (double)n; }

int main(void)
{
    static hist h;
    static hwin w;
    uint64_t x = 88172645463325252ull, t0, acc = 0;
    hist_init(&h);
    t0 = uv_hrtime();
    for (uint64_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        acc += x & 0xffffff;
    }
    sink = acc;
    double base = ns_per(t0, N);
    t0 = uv_hrtime();
    for (uint64_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        hist_record(&h, x & 0xffffff);
    }
    double rec = ns_per(t0, N);
    t0 = uv_hrtime();
    for (uint64_t i = 0; i < N; i++)
        acc += uv_hrtime();
    sink = acc;
    double clk = ns_per(t0, N);
    t0 = uv_hrtime();
    for (uint64_t i = 0; i < N; i++) {
        uint64_t start = uv_hrtime();
        hist_record(&h, uv_hrtime() - start);
    }
    double hook = ns_per(t0, N);
    if (hwin_init(&w, 60) != 0)
        return 1;
    t0 = uv_hrtime();
    for (int s = 0; s < 600; s++) {
        for (int i = 0; i < 10000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            hist_record(&w.cur, 50000 + (x & 0xfffff)); /* 50 us .. 1.1 ms */
        }
        hwin_tick(&w);
    }
    double tick = ns_per(t0, 600) - 10000 * rec;
    hwin_free(&w);
    printf("bench_hist: %d iterations per figure\n"
           "  empty loop (xorshift)        %6.1f ns\n"
           "  hist_record (same loop)      %6.1f ns  (+%.1f ns)\n"
           "  uv_hrtime                    %6.1f ns\n"
           "  clock + clock + record       %6.1f ns  (one timed interval, as a hook)\n"
           "  hwin_tick, 10000-sample slice, 60-slice window: %.1f us\n",
           N, base, rec, rec - base, clk, hook, tick / 1000);
    return 0;
}
