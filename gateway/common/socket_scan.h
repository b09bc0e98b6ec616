// Finding this process's own connected sockets by their ports, for servers
// built on a library that does not hand out its accepted sockets
// (cpp-httplib): the admin server and the test emulator use it to wake
// workers blocked on idle keep-alive connections when they stop. The
// upstream client uses ConnectedPorts to check that a descriptor it
// remembered is still the connection it was.
//
// Example:
//
//   ForEachConnectedSocket([port](int fd, int local_port, int) {
//     if (local_port == port) shutdown(fd, SHUT_RD);
//   });
//
// Thread-safe (reads /proc/self/fd); the descriptors it passes may be closed
// by their owners meanwhile, so callbacks must only use calls that tolerate
// that (shutdown, getsockopt).
#ifndef USERGATEWAY_GATEWAY_COMMON_SOCKET_SCAN_H_
#define USERGATEWAY_GATEWAY_COMMON_SOCKET_SCAN_H_

#include <sys/socket.h>

#include <functional>

namespace usergateway {

// The port of an AF_INET or AF_INET6 address, else -1.
int PortOf(const sockaddr_storage& address);

// Sets the local and peer ports of socket `fd`. Returns false when `fd` is
// not a connected AF_INET/AF_INET6 socket (closed, listening, not a socket).
bool ConnectedPorts(int fd, int* local_port, int* peer_port);

// Calls `fn(fd, local_port, peer_port)` for every socket of this process
// that has a peer (listening sockets and other descriptors are skipped).
void ForEachConnectedSocket(
    const std::function<void(int fd, int local_port, int peer_port)>& fn);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_SOCKET_SCAN_H_
