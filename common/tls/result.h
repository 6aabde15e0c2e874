#pragma once

#include <string>
#include <utility>
#include <variant>

namespace weft::tls {

// Why an operation failed, in words fit for a log line or a NACK.
struct Error {
  std::string message;
};

// A value or an Error. Functions that parse untrusted input (PEM from files or the network)
// return this instead of throwing, so a bad input is an ordinary outcome the caller must look
// at. (std::expected would do, but is not in GCC 12's C++20.)
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Preconditions: ok() for value(), !ok() for error(). Checked: a violation throws
  // std::bad_variant_access, which is a bug in the caller.
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const std::string& error() const { return std::get<1>(state_).message; }

 private:
  std::variant<T, Error> state_;
};

}  // namespace weft::tls
