#include "carp/io/io_types.h"

#include <linux/if_addr.h>
#include <net/if.h>

namespace hafw::carp::io {

bool LinkInfo::Up() const { return (flags & IFF_UP) != 0 && (flags & IFF_RUNNING) != 0; }

bool InterfaceAddress::Tentative() const {
  return (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) != 0;
}

bool InterfaceAddress::Secondary() const { return (flags & IFA_F_SECONDARY) != 0; }

}  // namespace hafw::carp::io
