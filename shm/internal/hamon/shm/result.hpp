// The segment code speaks hamon's one error vocabulary (hamon/result.hpp).
#ifndef HAMON_SHM_RESULT_HPP
#define HAMON_SHM_RESULT_HPP

#include "hamon/result.hpp"

namespace hamon::shm {
using base::Errc;
using base::Error;
using base::Result;
}  // namespace hamon::shm

#endif  // HAMON_SHM_RESULT_HPP
