/* OpenMetrics text of the recorded series `municloud:sla_minute:bad` for bench/sla_1700.py: one
 * file per backfill block, series after series, so that promtool's parser (which reads its whole
 * input once for the time range, then once per block) sees each file exactly twice.
 *
 * usage: sla_1700_gen SERIES EVENTS T0 LO HI OUT
 *   SERIES  one line per series: its exposition prefix, e.g. `municloud:sla_minute:bad{...} `
 *   EVENTS  lines "series kind first last" (kind 1 = down, 2 = no data; minutes [first, last)),
 *           sorted by series
 *   T0      unix seconds of minute 0; minute i's sample is stamped T0 + 60 * (i + 1), the end of
 *           the minute it covers, as Prometheus records the rule on the minute
 *   LO HI   the minutes [LO, HI) to write
 *   OUT     the output file
 * Everything else (which series, which outages) is decided in Python; this only writes fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long series, kind, first, last;
} Event;

static char *slurp_lines(const char *path, long *count, char ***lines) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(size + 1);
    if (fread(text, 1, size, f) != (size_t)size) { perror(path); exit(2); }
    fclose(f);
    text[size] = 0;
    long n = 0;
    for (long i = 0; i < size; i++) n += text[i] == '\n';
    *lines = malloc(sizeof(char *) * (n + 1));
    long k = 0;
    char *start = text;
    for (long i = 0; i < size; i++) {
        if (text[i] == '\n') { text[i] = 0; (*lines)[k++] = start; start = text + i + 1; }
    }
    *count = k;
    return text;
}

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: %s SERIES EVENTS T0 LO HI OUT\n", argv[0]); return 2; }
    long nseries, nevents;
    char **series, **event_lines;
    slurp_lines(argv[1], &nseries, &series);
    slurp_lines(argv[2], &nevents, &event_lines);
    long t0 = atol(argv[3]), lo = atol(argv[4]), hi = atol(argv[5]);
    Event *events = malloc(sizeof(Event) * (nevents + 1));
    for (long i = 0; i < nevents; i++) {
        Event *e = &events[i];
        if (sscanf(event_lines[i], "%ld %ld %ld %ld", &e->series, &e->kind, &e->first, &e->last) != 4) {
            fprintf(stderr, "bad event line %ld\n", i); return 2;
        }
    }
    long span = hi - lo;
    /* " 0 <ts>\n" and " 1 <ts>\n" for every minute of the range, formatted once */
    char (*up)[24] = malloc(24 * span), (*down)[24] = malloc(24 * span);
    int *len = malloc(sizeof(int) * span);
    for (long m = 0; m < span; m++) {
        len[m] = snprintf(up[m], 24, " 0 %ld\n", t0 + 60 * (lo + m + 1));
        snprintf(down[m], 24, " 1 %ld\n", t0 + 60 * (lo + m + 1));
    }
    unsigned char *state = malloc(span);
    FILE *out = fopen(argv[6], "wb");
    if (!out) { perror(argv[6]); return 2; }
    size_t cap = 16 << 20, used = 0;
    char *buf = malloc(cap);
    used += sprintf(buf, "# TYPE municloud:sla_minute:bad gauge\n");
    long ev = 0;
    for (long s = 0; s < nseries; s++) {
        memset(state, 0, span);
        for (; ev < nevents && events[ev].series == s; ev++) {
            long a = events[ev].first - lo, b = events[ev].last - lo;
            if (a < 0) a = 0;
            if (b > span) b = span;
            for (long m = a; m < b; m++)
                if (events[ev].kind > state[m]) state[m] = (unsigned char)events[ev].kind; /* no data wins */
        }
        size_t plen = strlen(series[s]);
        for (long m = 0; m < span; m++) {
            if (state[m] == 2) continue;
            if (used + plen + 24 > cap) { fwrite(buf, 1, used, out); used = 0; }
            memcpy(buf + used, series[s], plen);
            used += plen;
            memcpy(buf + used, state[m] ? down[m] : up[m], len[m]);
            used += len[m];
        }
    }
    if (used + 8 > cap) { fwrite(buf, 1, used, out); used = 0; }
    used += sprintf(buf + used, "# EOF\n");
    fwrite(buf, 1, used, out);
    if (fclose(out) != 0) { perror(argv[6]); return 2; }
    return 0;
}
