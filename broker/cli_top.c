/*
 * cli_top.c: `agentbus top`, a live table of services and links like
 * top(1): one host from its /stats.json or the whole fleet from Redis,
 * redrawn in place every interval on the terminal's alternate screen.
 * q (or Ctrl-C, or SIGTERM) exits and the terminal is restored exactly as
 * it was, whatever happened in between.
 */
#include "cli.h"

#include "cli_fleet.h"
#include "cli_http.h"
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define TOP_DEFAULT_INTERVAL_MS 1000
#define ESC_ENTER "\033[?1049h\033[?25l" /* alternate screen, hide cursor */
#define ESC_LEAVE "\033[?25h\033[?1049l"
#define EOL "\033[K\n"                   /* clear the rest of each line */

static volatile sig_atomic_t quit, resized;
static struct termios saved;
static int raw_on;

static void on_signal(int sig)
{
    if (sig == SIGWINCH)
        resized = 1;
    else
        quit = 1;
}

/* Put everything back: called on every way out once raw mode is on. */
static void restore_terminal(void)
{
    if (!raw_on)
        return;
    raw_on = 0;
    fputs(ESC_LEAVE, stdout);
    fflush(stdout);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
}

/* Keys one at a time, no echo; Ctrl-C still raises SIGINT. */
static int enter_raw(void)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &saved) != 0)
        return AB_ERR;
    t = saved;
    t.c_lflag &= (tcflag_t)~(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0)
        return AB_ERR;
    raw_on = 1;
    atexit(restore_terminal);
    fputs(ESC_ENTER, stdout);
    return AB_OK;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
}

static void term_size(int *cols, int *rows)
{
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
}

static const char *sort_name(fleet_sort s)
{
    static const char *const names[] = {"p99", "req/s", "errors", "name"};
    return names[s];
}

/* One frame: fetch, then draw from the top-left corner over the last. */
static void draw(const fleet_source *src, fleet_sort sort, unsigned interval_ms)
{
    fleet f;
    char err[AB_ERRLEN] = "";
    int cols, rows;
    term_size(&cols, &rows);
    int ok = fleet_fetch(src, &f, err, sizeof err) == AB_OK;
    fputs("\033[H", stdout);
    if (ok) {
        fleet_sort_rows(&f, sort);
        /* Title, blank, heads, and the footer take 5 lines; one host's
         * "not ready" line more. */
        size_t room = rows > 8 ? (size_t)rows - 5 - f.nhosts : 3;
        fleet_render(&f, stdout, cols, room, EOL);
    } else {
        fprintf(stdout, "agentbus top: %.*s%s(retrying every %u ms)%s", cols - 20, err, EOL,
                interval_ms, EOL);
    }
    fprintf(stdout, "\033[J\033[%d;1H\033[7m q quit  p/r/e/n sort (by %s)  every %u ms "
            "\033[0m\033[K", rows, sort_name(sort), interval_ms);
    fflush(stdout);
    fleet_free(&f);
}

/* Wait up to ms for a key; returns it, or 0. */
static int wait_key(unsigned ms)
{
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    char c;
    if (poll(&p, 1, (int)ms) > 0 && read(STDIN_FILENO, &c, 1) == 1)
        return (unsigned char)c;
    return 0;
}

static int handle_key(int key, fleet_sort *sort)
{
    switch (key) {
    case 'q': case 'Q': return 1;
    case 'p': *sort = SORT_P99; break;
    case 'r': *sort = SORT_RPS; break;
    case 'e': *sort = SORT_ERRORS; break;
    case 'n': *sort = SORT_NAME; break;
    default: break;
    }
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Draw, then wait out the interval reading keys. The keyboard is looked
 * at after every frame, however long fetching took, so q always works. */
static void run(const fleet_source *src, fleet_sort sort, unsigned interval_ms)
{
    while (!quit) {
        draw(src, sort, interval_ms);
        long long next = now_ms() + interval_ms, left;
        int key = 0;
        do {
            left = next - now_ms();
            key = wait_key(left > 0 ? (unsigned)left : 0);
            if (key && handle_key(key, &sort))
                quit = 1;
        } while (!quit && !key && !resized && left > 0);
        resized = 0; /* a key or a resize redraws at once */
    }
}

static void top_usage(FILE *out)
{
    fprintf(out,
            "usage: agentbus top [--http ADDR:PORT | --redis URL] [options]\n"
            "\n"
            "A live table of every service and cross-host link: req/s, p50, p99,\n"
            "errors per second and in total, in flight, queued; link RTTs. One broker\n"
            "from its /stats.json, or with --redis every broker of the fleet.\n"
            "Keys: q quit (or Ctrl-C); p, r, e, n sort by p99, req/s, errors, name.\n"
            "  --http ADDR:PORT   the broker's HTTP endpoint (default $AGENTBUS_HTTP,\n"
            "                     else %s)\n"
            "  --redis URL        redis://[USER@]HOST[:PORT][/DB]; the password comes\n"
            "                     from $AGENTBUS_REDIS_PASSWORD or --redis-password-file\n"
            "  --redis-password-file FILE\n"
            "  --interval MS      refresh period (default %d)\n"
            "  --sort KEY         p99 (default), rps, errors or name\n"
            "  --timeout-ms N     per refresh (default %d)\n"
            "exit: 0 on q or a signal; 1 not a terminal; 2 usage\n"
            "\n"
            "example: agentbus top --redis redis://10.0.0.5:6379/0\n",
            CLI_HTTP_DEFAULT, TOP_DEFAULT_INTERVAL_MS, FLEET_DEFAULT_TIMEOUT_MS);
}

int cli_top(int argc, char **argv)
{
    static const struct option opts[] = {
        {"http", required_argument, NULL, 'H'}, {"redis", required_argument, NULL, 'R'},
        {"redis-password-file", required_argument, NULL, 'P'},
        {"timeout-ms", required_argument, NULL, 'T'}, {"sort", required_argument, NULL, 'S'},
        {"interval", required_argument, NULL, 'i'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    fleet_source src = {.timeout_ms = FLEET_DEFAULT_TIMEOUT_MS};
    fleet_sort sort = SORT_P99;
    long interval = TOP_DEFAULT_INTERVAL_MS;
    char *end;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            top_usage(stdout);
            return 0;
        }
        if (opt == 'i' && ((interval = strtol(optarg, &end, 10)) < 100 || *end ||
                           interval > 3600000)) {
            fprintf(stderr, "agentbus top: --interval: 100..3600000 ms\n");
            return 2;
        }
        if (opt != 'i' && cli_fleet_option(opt, optarg, &src, &sort) != AB_OK) {
            top_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        top_usage(stderr);
        return 2;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "agentbus top: needs a terminal; for scripts use "
                        "'agentbus stats' (or --json)\n");
        return 1;
    }
    src.http = cli_http_addr(src.http);
    catch_signals();
    if (enter_raw() != AB_OK) {
        fprintf(stderr, "agentbus top: cannot set up the terminal\n");
        return 1;
    }
    run(&src, sort, (unsigned)interval);
    restore_terminal();
    return 0;
}
