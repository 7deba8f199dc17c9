#ifndef LUFFY_CFASTCGI_SHIM_H
#define LUFFY_CFASTCGI_SHIM_H
// The FastCGI server's system calls that Swift cannot import faithfully or conveniently.
// (libfcgi is no longer used: LuffyPay/HTTP/FastCGIRecords.swift says why.)
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <string.h>
#include <signal.h>
#include <pthread.h>
#include <errno.h>
#include <unistd.h>
#include <sys/epoll.h>

// sigset_t manipulation is macro-based on some libcs; keep it in C.
// The signals ServiceRunner takes with sigwait: TERM and INT stop, HUP reopens the log file,
// USR1 is how a service thread that failed wakes the main thread.
static inline void luffy_runner_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

static inline int luffy_block_signals(void) {
    sigset_t set;
    luffy_runner_signals(&set);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

// Waits for one of the runner's signals (blocked beforehand in every thread) and returns its number.
static inline int luffy_wait_for_signal(void) {
    sigset_t set;
    luffy_runner_signals(&set);
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

// Creates the unix socket `path`, owned by group `gid` (-1: the process's) with `mode`, then
// listens: chown and chmod come before listen, so nobody can connect while the mode is wider.
// Returns the socket, or -1 with errno from the failing call and *failed naming it.
static inline int luffy_unix_listen(const char *path, int backlog, unsigned mode, long gid, const char **failed) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) {
        *failed = "bind";
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *failed = "socket";
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) *failed = "bind";
    else if (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) < 0) *failed = "chown";
    else if (chmod(path, (mode_t)mode) < 0) *failed = "chmod";
    else if (listen(fd, backlog) < 0) *failed = "listen";
    else return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

// 1 when fd is a listening socket (systemd's or spawn-fcgi's on fd 0).
static inline int luffy_is_listening(int fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

// accept4 is a GNU extension the Glibc module may not declare.
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

// A connection, non-blocking (the server polls with deadlines) and not inherited by children.
static inline int luffy_accept(int listen_fd) {
    return accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}
#endif
