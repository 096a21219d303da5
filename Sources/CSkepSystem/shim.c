#define _GNU_SOURCE
#include "CSkepSystem.h"
#include <unistd.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/pidfd.h>

int cskep_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) { return accept4(fd, addr, len, flags); }
int cskep_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int cskep_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) { return posix_spawn_file_actions_addchdir_np(actions, path); }
int cskep_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) { return posix_spawn_file_actions_addclosefrom_np(actions, from); }
int cskep_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
int cskep_get_pdeathsig(int *sig) { return prctl(PR_GET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
int cskep_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, (unsigned long)(on ? 1 : 0), 0, 0, 0); }

int cskep_fcntl_getfl(int fd) { return fcntl(fd, F_GETFL); }
int cskep_fcntl_setfl(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }
int cskep_fcntl_getfd(int fd) { return fcntl(fd, F_GETFD); }
int cskep_fcntl_setfd(int fd, int flags) { return fcntl(fd, F_SETFD, flags); }
int cskep_fionread(int fd, int *count) { return ioctl(fd, FIONREAD, count); }
int cskep_outq(int fd, int *count) { return ioctl(fd, SIOCOUTQ, count); }
pid_t cskep_gettid(void) { return (pid_t)syscall(SYS_gettid); }

static int set_disposition(int sig, void (*handler)(int)) {
    struct sigaction sa;
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    return sigaction(sig, &sa, NULL);
}
int cskep_signal_ignore(int sig) { return set_disposition(sig, SIG_IGN); }
int cskep_signal_default(int sig) { return set_disposition(sig, SIG_DFL); }
int cskep_signal_disposition(int sig) {
    struct sigaction old;
    if (sigaction(sig, NULL, &old) != 0) return -1;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) return 1;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) return 0;
    return 2;
}
int cskep_open(const char *path, int flags, unsigned int mode) { return open(path, flags, (mode_t)mode); }
void *cskep_mmap_shared_anonymous(size_t size) {
    return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}
int cskep_is_map_failed(void *p) { return p == MAP_FAILED; }
int cskep_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }
int cskep_get_thread_name(char *buffer, size_t length) { return pthread_getname_np(pthread_self(), buffer, length); }

int cskep_pidfd_open(pid_t pid) { return pidfd_open(pid, 0); }
int cskep_pidfd_send_signal(int pidfd, int sig) { return pidfd_send_signal(pidfd, sig, NULL, 0); }
static int whole_file_lock(int fd, int cmd, short type) {
    struct flock lock = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    return fcntl(fd, cmd, &lock);
}
int cskep_lock_whole_file(int fd, int wait) { return whole_file_lock(fd, wait ? F_SETLKW : F_SETLK, F_WRLCK); }
int cskep_unlock_whole_file(int fd) { return whole_file_lock(fd, F_SETLK, F_UNLCK); }
