#ifndef CSKEPSYSTEM_H
#define CSKEPSYSTEM_H
// Headers Glibc's Swift module does not export, and _GNU_SOURCE entry points.
// Everything here is a thin pass-through: macros and variadic functions
// (ioctl, prctl, fcntl, syscall) that Swift cannot call directly.
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <signal.h>
#include <malloc.h>

int cskep_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int cskep_pipe2(int fds[2], int flags);
/// posix_spawn file actions glibc declares only under _GNU_SOURCE (glibc 2.29 and 2.34).
#include <spawn.h>
int cskep_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
int cskep_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);
int cskep_set_pdeathsig(int sig);
int cskep_get_pdeathsig(int *sig);
int cskep_set_dumpable(int on);

/// fcntl(F_GETFL/F_SETFL/F_GETFD/F_SETFD) without varargs.
int cskep_fcntl_getfl(int fd);
int cskep_fcntl_setfl(int fd, int flags);
int cskep_fcntl_getfd(int fd);
int cskep_fcntl_setfd(int fd, int flags);
/// ioctl(FIONREAD): bytes readable now.
int cskep_fionread(int fd, int *count);
/// ioctl(TIOCOUTQ/SIOCOUTQ): bytes not yet acknowledged/sent in the send queue.
int cskep_outq(int fd, int *count);
/// pidfd_open(2) and pidfd_send_signal(2) (glibc 2.36's <sys/pidfd.h>, which Glibc's
/// Swift module does not export): signal a process by a handle that can never name a
/// reused pid.
int cskep_pidfd_open(pid_t pid);
int cskep_pidfd_send_signal(int pidfd, int sig);
/// fcntl(F_SETLKW/F_SETLK/F_UNLCK) on the whole file: a POSIX record lock, held per
/// process and released when the process dies.
int cskep_lock_whole_file(int fd, int wait);
int cskep_unlock_whole_file(int fd);
/// gettid(2) as a plain call.
pid_t cskep_gettid(void);
/// sigaction with SIG_IGN / SIG_DFL (macros Swift cannot import).
int cskep_signal_ignore(int sig);
int cskep_signal_default(int sig);
/// 1 if the current disposition of sig is SIG_IGN, 0 if SIG_DFL, 2 if a handler, -1 on error.
int cskep_signal_disposition(int sig);
/// open(2) with an explicit mode (open is variadic).
int cskep_open(const char *path, int flags, unsigned int mode);
/// MAP_FAILED check helper.
void *cskep_mmap_shared_anonymous(size_t size);
int cskep_is_map_failed(void *p);
/// pthread_setname_np on the calling thread (names show in ps -L, top -H, perf).
int cskep_set_thread_name(const char *name);
int cskep_get_thread_name(char *buffer, size_t length);
#endif
