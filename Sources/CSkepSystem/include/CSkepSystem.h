#ifndef CSKEPSYSTEM_H
#define CSKEPSYSTEM_H
// Headers Glibc's Swift module does not export, and _GNU_SOURCE entry points.
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <signal.h>

int cskep_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int cskep_pipe2(int fds[2], int flags);
int cskep_set_pdeathsig(int sig);
#endif
