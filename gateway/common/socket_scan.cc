#include "gateway/common/socket_scan.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <vector>

#include "absl/strings/numbers.h"

namespace usergateway {

int PortOf(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  }
  return -1;
}

bool ConnectedPorts(int fd, int* local_port, int* peer_port) {
  sockaddr_storage local{};
  sockaddr_storage peer{};
  socklen_t local_len = sizeof(local);
  socklen_t peer_len = sizeof(peer);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) !=
          0 ||
      getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
    return false;
  }
  *local_port = PortOf(local);
  *peer_port = PortOf(peer);
  return *local_port > 0 && *peer_port > 0;
}

void ForEachConnectedSocket(
    const std::function<void(int fd, int local_port, int peer_port)>& fn) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  std::vector<int> fds;
  const int dir_fd = dirfd(dir);
  while (const dirent* entry = readdir(dir)) {
    int fd = -1;
    if (absl::SimpleAtoi(entry->d_name, &fd) && fd != dir_fd) {
      fds.push_back(fd);
    }
  }
  closedir(dir);
  for (int fd : fds) {
    int local_port = 0;
    int peer_port = 0;
    if (ConnectedPorts(fd, &local_port, &peer_port)) {
      fn(fd, local_port, peer_port);
    }
  }
}

}  // namespace usergateway
