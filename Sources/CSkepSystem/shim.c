#define _GNU_SOURCE
#include "CSkepSystem.h"
#include <unistd.h>
#include <fcntl.h>

int cskep_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) { return accept4(fd, addr, len, flags); }
int cskep_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int cskep_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
