#ifndef LUFFY_CFASTCGI_SHIM_H
#define LUFFY_CFASTCGI_SHIM_H
// The threaded FCGX_* API only: fcgi_stdio.h would redefine printf/FILE/stdin.
#include <fcgiapp.h>
#include <sys/socket.h>
#include <signal.h>
#include <pthread.h>
#include <errno.h>
#include <unistd.h>
#include <sys/epoll.h>

// sigset_t manipulation is macro-based on some libcs; keep it in C.
static inline int luffy_block_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

// Waits for TERM, INT or HUP (blocked beforehand in every thread) and returns its number.
static inline int luffy_wait_for_stop_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {}
    return sig;
}

// struct epoll_event is packed on x86_64, which Swift does not import faithfully: keep epoll here.
// Each worker waits on its own epoll set: the listening socket with EPOLLEXCLUSIVE (one worker
// woken per connection, not all of them) and the stop pipe (every worker woken).
static inline int luffy_listener_open(int listen_fd, int stop_fd) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return -1;
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = listen_fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) < 0) { close(ep); return -1; }
    ev.events = EPOLLIN;
    ev.data.fd = stop_fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev) < 0) { close(ep); return -1; }
    return ep;
}

// 1: a connection may be waiting; 0: stop requested; -1: error (errno set).
static inline int luffy_listener_wait(int ep, int stop_fd) {
    struct epoll_event events[2];
    for (;;) {
        int n = epoll_wait(ep, events, 2, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd == stop_fd) return 0;
        }
        if (n > 0) return 1;
    }
}
#endif
